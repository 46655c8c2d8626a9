"""A key of project A never sees project B's data, through any GET endpoint of the query API.

The endpoints are enumerated from the app's OpenAPI document, so endpoints added later are
covered without touching this test: path parameters are filled with B's ids, and every response
must be free of B's ids and content (ids sent in the path may only be echoed back)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, HOUR, insert, span, span_id, storage_of, trace_id
from tests.auth_support import ADMIN_KEY, bearer, create_key, start_auth_client

A, B = "proj-a", "proj-b"
SECRET = "beta-confidential-content"


def project_rows(project: str, salt: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    tid = trace_id(1, salt)
    root, gen = span_id(0), span_id(1)
    start = BASE + HOUR / 2
    common = {"session_id": f"{salt}-session", "user_id": f"{salt}-user", "service": f"{salt}-svc"}
    rows = [
        span(project, tid, root, start, 900, name=f"{salt}-answer", kind="chain", input=f"{salt} question", **common),
        span(
            project,
            tid,
            gen,
            start + 0.1,
            700,
            parent=root,
            name="chat",
            kind="generation",
            model=f"{salt}-model",
            provider="openai",
            prompt_name=f"{salt}-prompt",
            prompt_version="1",
            input=orjson.dumps([{"role": "user", "content": f"{salt} {SECRET if project == B else 'hello'}"}]).decode(),
            output=f"{salt} reply",
            input_tokens=10,
            output_tokens=5,
            cost_usd=0.01,
            is_llm_call=1,
            **common,
        ),
    ]
    ids = {"trace_id": tid, "span_id": gen, "session_id": common["session_id"], "prompt_name": f"{salt}-prompt"}
    return rows, ids


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for client in start_auth_client(tmp_path_factory.mktemp("isolation")):
        rows_a, ids_a = project_rows(A, "alpha")
        rows_b, ids_b = project_rows(B, "beta")
        insert(client, rows_a + rows_b)
        storage_of(client).insert_json_rows(
            "scores",
            b"\n".join(
                orjson.dumps(
                    {
                        "project_id": p,
                        "score_id": f"{p}-score",
                        "trace_id": ids["trace_id"],
                        "name": "quality",
                        "value": 1.0,
                        "data_type": "numeric",
                        "source": "sdk",
                        "comment": f"{p} comment",
                        "timestamp": f"{BASE + HOUR / 2:.6f}",
                    }
                )
                for p, ids in ((A, ids_a), (B, ids_b))
            ),
        )
        yield {
            "client": client,
            "a_ids": ids_a,
            "b_ids": ids_b,
            "keys": {scope: create_key(client, A, scope) for scope in ("read", "admin")},
        }


def b_markers(env: dict[str, Any]) -> set[str]:
    return {*env["b_ids"].values(), SECRET, "beta-user", "beta-svc", "beta-model", "beta-answer", "proj-b-score"}


def get_routes(client: TestClient) -> list[tuple[str, dict[str, Any]]]:
    doc = client.app.openapi()  # type: ignore[attr-defined]
    return [(path, ops["get"]) for path, ops in doc["paths"].items() if path.startswith("/api") and "get" in ops]


def required_query(client: TestClient, op: dict[str, Any]) -> dict[str, str]:
    """Values for required query parameters: an enum's first member, else a plain word."""
    schemas = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    out = {}
    for p in op.get("parameters", []):
        if p["in"] != "query" or not p.get("required"):
            continue
        schema = p["schema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        out[p["name"]] = str(schema["enum"][0]) if "enum" in schema else "x"
    return out


def fill_path(path: str, ids: dict[str, str]) -> tuple[str, set[str]]:
    """The path with B's ids in its parameters, and the values used (a response may echo them)."""
    used: set[str] = set()

    def value(m: re.Match[str]) -> str:
        v = ids.get(m.group(1), ids["prompt_name"])
        used.add(v)
        return v

    return re.sub(r"\{(\w+)\}", value, path), used


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_no_get_endpoint_shows_another_project_to_a_project_key(env: dict[str, Any], scope: str) -> None:
    client: TestClient = env["client"]
    key = env["keys"][scope]
    ok = 0
    problems = []
    for path, op in get_routes(client):
        url, echoed = fill_path(path, env["b_ids"])
        r = client.get(url, params=required_query(client, op), headers=bearer(key))
        if r.status_code >= 500:
            problems.append(f"{url} -> {r.status_code}: {r.text[:300]}")
        leaked = [m for m in b_markers(env) - echoed if m in r.text]
        if leaked:
            problems.append(f"{url} ({r.status_code}) shows project B's {leaked}: {r.text[:300]}")
        ok += r.status_code == 200
    assert not problems, "\n".join(problems)
    assert ok >= 10, "too few endpoints answered 200 for the check to mean anything"


def test_every_get_endpoint_refuses_to_name_another_project(env: dict[str, Any]) -> None:
    client: TestClient = env["client"]
    for path, op in get_routes(client):
        if not any(p["name"] == "project" for p in op.get("parameters", [])):
            continue
        url, _ = fill_path(path, env["b_ids"])
        params = {**required_query(client, op), "project": B}
        r = client.get(url, params=params, headers=bearer(env["keys"]["read"]))
        assert r.status_code == 403, f"{url} with project={B} -> {r.status_code}: {r.text[:300]}"


def test_project_a_key_sees_its_own_traces(env: dict[str, Any]) -> None:
    r = env["client"].get("/api/traces", headers=bearer(env["keys"]["read"]))
    assert r.status_code == 200
    assert env["a_ids"]["trace_id"] in r.text


def test_a_trace_of_project_b_is_not_found_with_a_project_a_key(env: dict[str, Any]) -> None:
    r = env["client"].get(f"/api/traces/{env['b_ids']['trace_id']}", headers=bearer(env["keys"]["read"]))
    assert r.status_code == 404


def test_scores_cannot_be_written_into_another_project(env: dict[str, Any]) -> None:
    score = {"trace_id": env["b_ids"]["trace_id"], "name": "x", "value": 1, "data_type": "numeric"}
    r = env["client"].post(
        "/api/scores", params={"project": B}, json={"scores": [score]}, headers=bearer(env["keys"]["read"])
    )
    assert r.status_code == 403


def test_the_instance_admin_key_may_read_any_project(env: dict[str, Any]) -> None:
    r = env["client"].get("/api/traces", params={"project": B}, headers=bearer(ADMIN_KEY))
    assert r.status_code == 200
    assert env["b_ids"]["trace_id"] in r.text
