"""Datasets API: versions are immutable, inputs are unique, every version exports in four formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.api_support import get, start_client, storage_of, trace_id

PROMPTFOO_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "promptfoo" / "testcase.schema.json").read_text())
# The named assertion types of promptfoo's schema (it also accepts prefixed and custom ones).
PROMPTFOO_ASSERTION_TYPES = set(
    PROMPTFOO_SCHEMA["properties"]["assert"]["items"]["anyOf"][1]["properties"]["type"]["anyOf"][0]["enum"]
)
TID = trace_id(1, "datasets")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_client(tmp_path_factory.mktemp("api-datasets"))


def create(client: TestClient, project: str, name: str, items: list[dict[str, Any]] | None = None) -> Any:
    r = client.post("/api/datasets", params={"project": project}, json={"name": name, "items": items or []})
    assert r.status_code == 201, r.text
    return r.json()


def add(client: TestClient, project: str, name: str, items: list[dict[str, Any]], expect: int = 200) -> Any:
    r = client.post(f"/api/datasets/{name}/items", params={"project": project}, json={"items": items})
    assert r.status_code == expect, r.text
    return r.json()


def items(client: TestClient, project: str, name: str, version: int | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"project": project}
    if version is not None:
        params["version"] = version
    return list(get(client, f"/api/datasets/{name}/items", **params)["items"])


def export(client: TestClient, project: str, name: str, fmt: str, version: int | None = None) -> str:
    params: dict[str, Any] = {"project": project, "format": fmt}
    if version is not None:
        params["version"] = version
    r = client.get(f"/api/datasets/{name}/export", params=params)
    assert r.status_code == 200, r.text
    return r.text


SAMPLE = [
    {
        "input": "How do I reset my password?",
        "expected_output": "Use the 'Forgot password' link on the sign-in page.",
        "metadata": {"contains": ["Forgot password"], "topic": "account"},
        "tags": ["account"],
        "source_trace_id": TID,
        "source_span_id": "00f067aa0ba902b7",
    },
    {
        "input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Refund policy?"}],
        "expected_output": {"answer": "30 days", "citations": ["kb-12"]},
        "metadata": {"json_schema": {"type": "object", "required": ["answer"]}},
    },
    {"input": {"question": "Do you ship to Canada?", "locale": "en-CA"}, "expected_output": "Yes, in 5-7 days."},
    {"input": "What is your phone number?"},
]


def test_creating_a_dataset_makes_version_1_with_items_and_their_source(client: TestClient) -> None:
    res = create(client, "create", "golden", SAMPLE[:1])
    assert (res["version"], res["added"], res["created_version"]) == (1, 1, True)
    (item,) = items(client, "create", "golden")
    assert item["input"] == SAMPLE[0]["input"]
    assert item["expected_output"] == SAMPLE[0]["expected_output"]
    assert (item["source_trace_id"], item["source_span_id"]) == (TID, "00f067aa0ba902b7")
    assert item["item_id"] == res["item_ids"][0]


def test_each_change_makes_a_new_version_and_old_versions_stay_readable(client: TestClient) -> None:
    create(client, "versions", "golden", SAMPLE[:1])
    assert add(client, "versions", "golden", SAMPLE[1:3])["version"] == 2
    first = items(client, "versions", "golden")[0]["item_id"]
    edit = client.patch(
        f"/api/datasets/golden/items/{first}", params={"project": "versions"}, json={"expected_output": "Click reset."}
    )
    assert edit.json()["version"] == 3, edit.text
    removed = client.delete(f"/api/datasets/golden/items/{first}", params={"project": "versions"})
    assert removed.json()["version"] == 4, removed.text

    assert [i["expected_output"] for i in items(client, "versions", "golden", 1)] == [SAMPLE[0]["expected_output"]]
    assert len(items(client, "versions", "golden", 2)) == 3
    assert items(client, "versions", "golden", 3)[0]["expected_output"] == "Click reset."
    assert first not in {i["item_id"] for i in items(client, "versions", "golden", 4)}
    detail = get(client, "/api/datasets/golden", project="versions")
    assert [(v["version"], v["item_count"]) for v in detail["versions"]] == [(4, 2), (3, 3), (2, 3), (1, 1)]
    assert detail["dataset"]["latest_version"] == 4


def test_the_same_input_is_not_added_twice(client: TestClient) -> None:
    create(client, "dedupe", "golden", SAMPLE[:2])
    again = [
        {"input": "  How do I reset   my password? "},
        {"input": [{"content": "Be brief.", "role": "system"}, {"role": "user", "content": "Refund  policy?"}]},
    ]
    res = add(client, "dedupe", "golden", again)
    assert (res["created_version"], res["version"], res["skipped_duplicates"]) == (False, 1, 2)
    res = add(client, "dedupe", "golden", [SAMPLE[2], SAMPLE[2], SAMPLE[0]])
    assert (res["version"], res["added"], res["skipped_duplicates"]) == (2, 1, 2)
    assert len(items(client, "dedupe", "golden")) == 3


def test_an_edit_that_changes_nothing_makes_no_version(client: TestClient) -> None:
    create(client, "noop", "golden", SAMPLE[:1])
    iid = items(client, "noop", "golden")[0]["item_id"]
    r = client.patch(
        f"/api/datasets/golden/items/{iid}",
        params={"project": "noop"},
        json={"expected_output": SAMPLE[0]["expected_output"]},
    )
    assert (r.json()["created_version"], r.json()["version"]) == (False, 1)


def test_item_rows_of_an_uncommitted_version_are_never_read(client: TestClient) -> None:
    create(client, "torn", "golden", SAMPLE[:1])
    row = {"project_id": "torn", "dataset": "golden", "item_id": "abc", "version": 2, "deleted": 0, "input": '"x"'}
    storage_of(client).insert_json_rows("dataset_items", orjson.dumps(row))
    assert [i["input"] for i in items(client, "torn", "golden")] == [SAMPLE[0]["input"]]
    assert add(client, "torn", "golden", SAMPLE[2:3])["version"] == 3
    assert "abc" not in {i["item_id"] for i in items(client, "torn", "golden")}


def test_unknown_datasets_and_versions_are_clear_404s(client: TestClient) -> None:
    for method, path in (
        ("GET", "/api/datasets/nope"),
        ("GET", "/api/datasets/nope/items"),
        ("GET", "/api/datasets/nope/export"),
        ("POST", "/api/datasets/nope/items"),
    ):
        body = {"items": [{"input": "x"}]} if method == "POST" else None
        r = client.request(method, path, params={"project": "missing"}, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"] == "dataset 'nope' not found in project 'missing'"
    create(client, "missing", "small", SAMPLE[:1])
    r = client.get("/api/datasets/small/items", params={"project": "missing", "version": 7})
    assert (r.status_code, r.json()["detail"]) == (404, "dataset 'small' has no version 7 (versions 1 to 1)")


def test_bad_names_duplicates_and_empty_inputs_are_refused(client: TestClient) -> None:
    r = client.post("/api/datasets", params={"project": "bad"}, json={"name": "has space"})
    assert r.status_code == 422 and "dataset name" in r.text
    create(client, "bad", "once")
    r = client.post("/api/datasets", params={"project": "bad"}, json={"name": "once"})
    assert (r.status_code, r.json()["detail"]) == (409, "dataset 'once' already exists in project 'bad'")
    r = client.post("/api/datasets/once/items", params={"project": "bad"}, json={"items": [{"input": "  "}]})
    assert r.status_code == 422 and "input must not be empty" in r.text
    assert client.get("/api/datasets/has%20space/items", params={"project": "bad"}).status_code == 400


def test_jsonl_export_has_one_item_per_line_and_reads_back(client: TestClient) -> None:
    create(client, "jsonl", "golden", SAMPLE)
    lines = [json.loads(line) for line in export(client, "jsonl", "golden", "jsonl").splitlines()]
    assert [line["input"] for line in lines] == [s["input"] for s in SAMPLE]
    assert lines[0]["source_trace_id"] == TID
    create(client, "jsonl", "copy", lines)
    assert len(items(client, "jsonl", "copy")) == len(SAMPLE)


def test_promptfoo_export_is_a_list_of_promptfoo_test_cases(client: TestClient) -> None:
    create(client, "promptfoo", "golden", SAMPLE)
    cases = yaml.safe_load(export(client, "promptfoo", "golden", "promptfoo"))
    assert isinstance(cases, list) and len(cases) == len(SAMPLE)
    for case in cases:
        jsonschema.validate(case, PROMPTFOO_SCHEMA)
        assert {a["type"] for a in case.get("assert", [])} <= PROMPTFOO_ASSERTION_TYPES
    first, chat, obj, open_ended = cases
    assert first["vars"] == {"input": "How do I reset my password?"}
    assert {"type": "contains", "value": "Forgot password"} in first["assert"]
    assert first["assert"][-1]["type"] == "llm-rubric"
    assert first["metadata"]["source_trace_id"] == TID and first["metadata"]["topic"] == "account"
    assert chat["vars"]["input"] == "Refund policy?" and chat["vars"]["messages"] == SAMPLE[1]["input"]
    assert [a["type"] for a in chat["assert"]] == ["is-json", "equals"]
    assert json.loads(chat["assert"][1]["value"]) == SAMPLE[1]["expected_output"]
    assert obj["vars"] == SAMPLE[2]["input"]
    assert "assert" not in open_ended


def test_the_promptfoo_schema_refuses_malformed_test_cases() -> None:
    for bad in ({"assert": {"type": "equals"}}, {"description": 5}, {"assert": [{"type": "equals", "weight": "x"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, PROMPTFOO_SCHEMA)


def test_openai_evals_export_has_input_messages_and_ideal(client: TestClient) -> None:
    create(client, "openai", "golden", SAMPLE)
    r = client.get("/api/datasets/golden/export", params={"project": "openai", "format": "openai_evals"})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert r.headers["x-spanscope-skipped-items"] == "1"
    assert len(lines) == 3
    for line in lines:
        assert set(line) == {"input", "ideal"} and isinstance(line["ideal"], str)
        assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in line["input"])
    assert lines[0]["input"] == [{"role": "user", "content": "How do I reset my password?"}]
    assert lines[1]["input"] == SAMPLE[1]["input"]
    assert json.loads(lines[1]["ideal"]) == SAMPLE[1]["expected_output"]


def test_csv_export_has_input_expected_output_and_metadata_columns(client: TestClient) -> None:
    create(client, "csv", "golden", SAMPLE)
    rows = list(csv.DictReader(io.StringIO(export(client, "csv", "golden", "csv"))))
    assert len(rows) == len(SAMPLE)
    assert list(rows[0])[:2] == ["input", "expected_output"]
    assert all(k.startswith("metadata_") for k in list(rows[0])[2:])
    assert rows[0]["input"] == "How do I reset my password?"
    assert rows[0]["metadata_topic"] == "account" and rows[0]["metadata_source_trace_id"] == TID
    assert json.loads(rows[1]["input"]) == SAMPLE[1]["input"]
    assert rows[3]["expected_output"] == ""


def test_an_old_version_exports_as_it_was(client: TestClient) -> None:
    create(client, "oldexport", "golden", SAMPLE[:1])
    add(client, "oldexport", "golden", SAMPLE[1:])
    r = client.get("/api/datasets/golden/export", params={"project": "oldexport", "format": "jsonl", "version": 1})
    assert len(r.text.splitlines()) == 1
    assert r.headers["content-disposition"] == 'attachment; filename="golden-v1.jsonl"'
    assert len(export(client, "oldexport", "golden", "jsonl").splitlines()) == len(SAMPLE)
