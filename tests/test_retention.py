"""Retention per project: TTL in the DDL, new rows take the project's retention, a change moves
the project's stored rows to it (and expired ones go), and storage used is reported per project."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api_support import insert, span, span_id, storage_of, trace_id
from tests.auth_support import bearer, create_key, start_auth_client

DAY = 86400.0


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_auth_client(tmp_path_factory.mktemp("retention"))


def scalar(client: TestClient, sql: str, **params: Any) -> Any:
    return storage_of(client).query(sql, params)[0][0]


def wait_for(fn: Any, expected: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    value = fn()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fn()
    return value


@pytest.mark.parametrize(
    ("table", "ttl"),
    [
        ("spans", "TTL toDateTime(start_time) + toIntervalDay(retention_days)"),
        ("scores", "TTL toDateTime(timestamp) + toIntervalDay(retention_days)"),
        ("span_content", "TTL toDateTime(time) + toIntervalDay(least(retention_days, 7))"),
        ("trace_summary", "TTL toDateTime(end_time) + toIntervalDay(retention_days)"),
    ],
)
def test_ttl_reads_each_rows_retention_in_the_ddl(client: TestClient, table: str, ttl: str) -> None:
    ddl = scalar(client, f"SHOW CREATE TABLE spanscope.{table}")
    assert ttl in ddl


def test_a_project_without_settings_keeps_data_30_days(client: TestClient) -> None:
    key = create_key(client, "fresh", "read")
    assert client.get("/api/project", headers=bearer(key)).json() == {"project": "fresh", "retention_days": 30}


def test_retention_outside_1_to_3650_days_is_refused(client: TestClient) -> None:
    admin = create_key(client, "bounds", "admin")
    for days in (0, 5000):
        r = client.put("/api/project/retention", json={"retention_days": days}, headers=bearer(admin))
        assert r.status_code == 422


def test_new_spans_and_scores_take_the_projects_retention(client: TestClient) -> None:
    admin = create_key(client, "short", "admin")
    ingest = create_key(client, "short", "ingest")
    r = client.put("/api/project/retention", json={"retention_days": 7}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["retention_days"] == 7
    tid = os.urandom(16).hex()
    start = time.time_ns() - 5_000_000
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": tid,
                                "spanId": os.urandom(8).hex(),
                                "name": "op",
                                "kind": 1,
                                "startTimeUnixNano": str(start),
                                "endTimeUnixNano": str(start + 1_000_000),
                            }
                        ]
                    }
                ]
            }
        ]
    }
    r = client.post(
        "/v1/traces", content=orjson.dumps(body), headers={"Content-Type": "application/json", **bearer(ingest)}
    )
    assert r.status_code == 200, r.text
    days = lambda: storage_of(client).query(  # noqa: E731
        "SELECT retention_days FROM spanscope.spans WHERE trace_id = {t:String}", {"t": tid}
    )
    assert wait_for(days, [(7,)]) == [(7,)]
    score = {"trace_id": tid, "name": "ok", "value": 1, "data_type": "numeric"}
    assert client.post("/api/scores", json={"scores": [score]}, headers=bearer(ingest)).status_code == 200
    assert scalar(client, "SELECT retention_days FROM spanscope.scores WHERE trace_id = {t:String}", t=tid) == 7


def test_changing_retention_updates_stored_rows_and_only_that_projects(client: TestClient) -> None:
    now = time.time()
    insert(
        client,
        [
            span("keep-a", trace_id(1, "ra"), span_id(0), now - 3600),
            span("keep-b", trace_id(1, "rb"), span_id(0), now - 3600),
        ],
    )
    admin = create_key(client, "keep-a", "admin")
    assert client.put("/api/project/retention", json={"retention_days": 90}, headers=bearer(admin)).status_code == 200
    q = "SELECT max(retention_days) FROM spanscope.spans WHERE project_id = {p:String}"
    assert wait_for(lambda: scalar(client, q, p="keep-a"), 90) == 90
    assert scalar(client, q, p="keep-b") == 30


def test_shortening_retention_drops_rows_older_than_it(client: TestClient) -> None:
    now = time.time()
    old, recent = trace_id(1, "old"), trace_id(2, "recent")
    insert(client, [span("expire", old, span_id(0), now - 10 * DAY), span("expire", recent, span_id(0), now - 3600)])
    count = "SELECT count() FROM spanscope.spans WHERE project_id = 'expire'"
    assert scalar(client, count) == 2  # 30 days by default: both kept
    admin = create_key(client, "expire", "admin")
    assert client.put("/api/project/retention", json={"retention_days": 7}, headers=bearer(admin)).status_code == 200
    q = "SELECT min(retention_days) FROM spanscope.spans WHERE project_id = 'expire'"
    assert wait_for(lambda: scalar(client, q), 7) == 7
    storage = storage_of(client)
    for table in ("spans", "trace_summary"):
        storage.command(f"OPTIMIZE TABLE spanscope.{table} FINAL")  # merges apply the TTL now
        ids = storage.query(f"SELECT DISTINCT trace_id FROM spanscope.{table} WHERE project_id = 'expire'")
        assert ids == [(recent,)], table


def test_usage_counts_the_projects_rows_and_estimates_its_bytes(client: TestClient) -> None:
    now = time.time()
    insert(client, [span("usage-a", trace_id(i, "ua"), span_id(0), now - 60, input="x" * 2000) for i in range(50)])
    insert(client, [span("usage-b", trace_id(i, "ub"), span_id(0), now - 60) for i in range(5)])
    read = create_key(client, "usage-a", "read")
    usage = client.get("/api/project/usage", headers=bearer(read)).json()
    tables = {t["table"]: t for t in usage["tables"]}
    assert usage["project"] == "usage-a" and usage["retention_days"] == 30
    assert tables["spans"]["rows"] == 50
    assert tables["trace_summary"]["rows"] == 50
    assert usage["bytes_on_disk"] > 0 and usage["rows"] == sum(t["rows"] for t in usage["tables"])
    other = client.get("/api/project/usage", headers=bearer(create_key(client, "usage-b", "read"))).json()
    assert {t["table"]: t["rows"] for t in other["tables"]}["spans"] == 5
