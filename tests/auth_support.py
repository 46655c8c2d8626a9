"""Helpers of the auth tests: an in-process collector with auth on, and keys made through its API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from spanscope.collector.app import create_app
from spanscope.collector.config import Settings

ADMIN_KEY = "instance-admin-key-for-tests-0123456789"


def start_auth_client(data_dir: Path, **settings: Any) -> Iterator[TestClient]:
    """A migrated collector that requires keys; SPANSCOPE_ADMIN_KEY is `ADMIN_KEY`."""
    base = Settings(data_dir=data_dir, project="default", batch_interval_s=0.2, ingest_workers=0)
    options: dict[str, Any] = {"auth": "on", "admin_key": ADMIN_KEY, **settings}
    # Server errors come back as 500 responses (as a real client sees them) rather than exceptions.
    with TestClient(create_app(base.with_overrides(**options)), raise_server_exceptions=False) as client:
        collector = client.app.state.collector  # type: ignore[attr-defined]
        assert collector.storage_ready.wait(60), collector.storage_error
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_key(client: TestClient, project: str, scope: str, name: str = "") -> str:
    r = client.post(
        "/api/keys", params={"project": project}, json={"scope": scope, "name": name}, headers=bearer(ADMIN_KEY)
    )
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key
