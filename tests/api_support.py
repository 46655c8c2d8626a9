"""Helpers of the query API tests: an in-process collector on embedded storage, and known spans.

chDB opens one data directory per process at a time, so each API test module starts one app
(module-scoped fixture `api_client`), isolates its tests by `project`, and closes it at the end.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from spanscope.collector.app import create_app
from spanscope.collector.config import Settings
from spanscope.collector.storage import Storage

HOUR = 3600.0
# Known data sits in whole hours some hours ago, so ranges around it are fixed and fully in the past.
BASE = (time.time() // HOUR - 6) * HOUR


def start_client(data_dir: Path) -> Iterator[TestClient]:
    """A TestClient whose lifespan ran and whose storage is migrated; closed after the yield."""
    settings = Settings(data_dir=data_dir, project="default", batch_interval_s=0.2)
    with TestClient(create_app(settings)) as client:
        collector = client.app.state.collector  # type: ignore[attr-defined]
        assert collector.storage_ready.wait(60), collector.storage_error
        yield client


def storage_of(client: TestClient) -> Storage:
    storage: Storage = client.app.state.collector.storage  # type: ignore[attr-defined]
    return storage


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def trace_id(n: int, salt: str = "") -> str:
    """A deterministic 32-hex trace id."""
    return hashlib.md5(f"{salt}-{n}".encode()).hexdigest()


def span_id(n: int) -> str:
    return f"{n + 1:016x}"


def span(
    project: str,
    trace: str,
    sid: str,
    start: float,
    duration_ms: float = 100.0,
    parent: str = "",
    **columns: Any,
) -> dict[str, Any]:
    """One `spans` row; `start` in unix seconds. Unset columns take the table defaults."""
    end = start + duration_ms / 1000.0
    row: dict[str, Any] = {
        "project_id": project,
        "trace_id": trace,
        "span_id": sid,
        "parent_span_id": parent,
        "name": "step",
        "kind": "span",
        "service": "svc",
        "environment": "prod",
        "status": "OK",
        "start_time": f"{start:.6f}",
        "end_time": f"{end:.6f}",
        "duration_ms": duration_ms,
    }
    row.update(columns)
    return row


def insert(client: TestClient, rows: list[dict[str, Any]]) -> None:
    """Straight into `spans` (the materialized views fill rollups and the trace index)."""
    storage_of(client).insert_json_rows("spans", b"\n".join(orjson.dumps(r) for r in rows))


def get(client: TestClient, path: str, expect: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == expect, f"{path} {params} -> {r.status_code}: {r.text[:2000]}"
    return r.json()
