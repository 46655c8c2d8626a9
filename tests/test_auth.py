"""With auth on, every door needs the right key: ingest an ingest key, queries a read key,
configuration an admin key, each confined to the key's project."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from google.rpc import status_pb2

from tests.api_support import storage_of
from tests.auth_support import ADMIN_KEY, bearer, create_key, start_auth_client

JSON = {"Content-Type": "application/json"}
PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_auth_client(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
def keys(client: TestClient) -> dict[str, str]:
    return {scope: create_key(client, "alpha", scope, f"{scope} key") for scope in ("ingest", "read", "admin")}


def otlp_json(trace_id: str, project_attr: str | None = None) -> bytes:
    resource = [{"key": "service.name", "value": {"stringValue": "auth-app"}}]
    if project_attr:
        resource.append({"key": "spanscope.project", "value": {"stringValue": project_attr}})
    start = time.time_ns() - 5_000_000
    span = {
        "traceId": trace_id,
        "spanId": os.urandom(8).hex(),
        "name": "op",
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 2_000_000),
    }
    return orjson.dumps({"resourceSpans": [{"resource": {"attributes": resource}, "scopeSpans": [{"spans": [span]}]}]})


def stored_projects(client: TestClient, trace_id: str, timeout: float = 20.0) -> list[str]:
    storage = storage_of(client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = storage.query("SELECT project_id FROM spanscope.spans WHERE trace_id = {t:String}", {"t": trace_id})
        if rows:
            return [r[0] for r in rows]
        time.sleep(0.1)
    return []


# ------------------------------------------------------------------------------------------ ingest


def test_ingest_without_a_key_gets_401_with_an_otlp_status_and_www_authenticate(client: TestClient) -> None:
    r = client.post("/v1/traces", content=otlp_json(os.urandom(16).hex()), headers=JSON)
    assert r.status_code == 401
    assert r.json()["code"] == 16  # UNAUTHENTICATED
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_ingest_with_an_unknown_key_gets_401(client: TestClient) -> None:
    fake = "ssk_i_" + "x" * 43
    r = client.post("/v1/traces", content=otlp_json(os.urandom(16).hex()), headers={**JSON, **bearer(fake)})
    assert r.status_code == 401
    assert "unknown or revoked" in r.json()["message"]


def test_ingest_with_a_read_key_gets_403_as_a_protobuf_status(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/traces", content=b"", headers={**PB, **bearer(keys["read"])})
    assert r.status_code == 403
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 7 and "ingest" in status.message


def test_a_revoked_key_is_refused_at_once(client: TestClient) -> None:
    key = create_key(client, "alpha", "ingest")
    tid = os.urandom(16).hex()
    assert client.post("/v1/traces", content=otlp_json(tid), headers={**JSON, **bearer(key)}).status_code == 200
    listed = client.get("/api/keys", params={"project": "alpha"}, headers=bearer(ADMIN_KEY)).json()["keys"]
    key_id = next(k["key_id"] for k in listed if k["prefix"] == key[:12])
    revoked = client.delete(f"/api/keys/{key_id}", params={"project": "alpha"}, headers=bearer(ADMIN_KEY))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = client.post("/v1/traces", content=otlp_json(os.urandom(16).hex()), headers={**JSON, **bearer(key)})
    assert again.status_code == 401


def test_spans_land_in_the_key_project_whatever_the_resource_claims(client: TestClient, keys: dict[str, str]) -> None:
    tid = os.urandom(16).hex()
    r = client.post(
        "/v1/traces", content=otlp_json(tid, project_attr="beta"), headers={**JSON, **bearer(keys["ingest"])}
    )
    assert r.status_code == 200, r.text
    assert stored_projects(client, tid) == ["alpha"]


def test_x_api_key_header_is_accepted(client: TestClient, keys: dict[str, str]) -> None:
    tid = os.urandom(16).hex()
    r = client.post("/v1/traces", content=otlp_json(tid), headers={**JSON, "x-api-key": keys["ingest"]})
    assert r.status_code == 200, r.text


def test_logs_need_an_ingest_key_too(client: TestClient, keys: dict[str, str]) -> None:
    assert client.post("/v1/logs", content=b"{}", headers=JSON).status_code == 401
    assert client.post("/v1/logs", content=b"{}", headers={**JSON, **bearer(keys["read"])}).status_code == 403
    assert client.post("/v1/logs", content=b"{}", headers={**JSON, **bearer(keys["ingest"])}).status_code == 200


# ------------------------------------------------------------------------------------------- query


def test_query_api_without_a_key_gets_401(client: TestClient) -> None:
    r = client.get("/api/traces")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_query_api_with_a_wrong_key_gets_401(client: TestClient) -> None:
    assert client.get("/api/traces", headers=bearer("ssk_r_" + "y" * 43)).status_code == 401
    assert client.get("/api/traces", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 401


def test_query_api_with_an_ingest_key_gets_403(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/api/traces", headers=bearer(keys["ingest"])).status_code == 403


def test_read_key_reads_its_project(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/api/traces", headers=bearer(keys["read"])).status_code == 200
    assert client.get("/api/whoami", headers=bearer(keys["read"])).json()["project"] == "alpha"


def test_naming_another_project_gets_403(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/traces", params={"project": "beta"}, headers=bearer(keys["read"]))
    assert r.status_code == 403
    assert "alpha" in r.json()["detail"]


def test_ingest_key_may_send_scores(client: TestClient, keys: dict[str, str]) -> None:
    score = {"trace_id": os.urandom(16).hex(), "name": "answered", "value": 1, "data_type": "boolean"}
    r = client.post("/api/scores", json={"scores": [score]}, headers=bearer(keys["ingest"]))
    assert r.status_code == 200, r.text


def test_configuration_needs_an_admin_key(client: TestClient, keys: dict[str, str]) -> None:
    for key in (keys["read"], keys["ingest"]):
        assert client.get("/api/keys", headers=bearer(key)).status_code == 403
        r = client.put("/api/project/retention", json={"retention_days": 7}, headers=bearer(key))
        assert r.status_code == 403
    assert client.get("/api/keys", headers=bearer(keys["admin"])).status_code == 200


def test_a_project_admin_key_cannot_manage_another_project(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/keys", params={"project": "beta"}, json={"scope": "read"}, headers=bearer(keys["admin"]))
    assert r.status_code == 403


def test_sql_needs_the_instance_admin_key(client: TestClient, keys: dict[str, str]) -> None:
    body = {"query": "SELECT count() FROM spanscope.spans"}
    assert client.post("/api/sql", json=body).status_code == 401
    assert client.post("/api/sql", json=body, headers=bearer(keys["admin"])).status_code == 403
    assert client.post("/api/sql", json=body, headers=bearer(ADMIN_KEY)).status_code == 200


def test_health_readiness_and_metrics_stay_open(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_keys_are_listed_by_prefix_and_never_by_secret(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/keys", params={"project": "alpha"}, headers=bearer(ADMIN_KEY))
    assert r.status_code == 200
    text = r.text
    assert all(secret not in text for secret in keys.values())
    assert {k["prefix"] for k in r.json()["keys"]} >= {s[:12] for s in keys.values()}
