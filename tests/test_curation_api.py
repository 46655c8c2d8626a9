"""Hard examples: each reason finds the traces it describes; they go into a dataset once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, get, insert, iso, span, span_id, start_client, trace_id

P = "curation"
T = {
    name: trace_id(n, "curation")
    for n, name in enumerate(["low", "feedback", "evaluator", "block", "fallback", "error", "healthy", "replay", "old"])
}
RANGE = {"start": iso(BASE - 600), "end": iso(BASE + 3600), "project": P}


def root(trace: str, offset_s: float, **columns: Any) -> dict[str, Any]:
    return span(
        P,
        T[trace],
        span_id(0),
        BASE + offset_s,
        name="answer_question",
        kind="chain",
        input=f"question {trace}",
        output=f"answer {trace}",
        **columns,
    )


def child(trace: str, offset_s: float, **columns: Any) -> dict[str, Any]:
    return span(P, T[trace], span_id(1), BASE + offset_s + 0.01, parent=span_id(0), **columns)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for c in start_client(tmp_path_factory.mktemp("api-curation")):
        messages = orjson.dumps([{"role": "user", "content": "question fallback"}]).decode()
        insert(
            c,
            [
                *(root(n, i * 60) for i, n in enumerate(["low", "feedback", "evaluator", "healthy"])),
                root("block", 300),
                child(
                    "block",
                    300,
                    kind="guardrail",
                    name="input_policy",
                    guardrail_name="input_policy",
                    guardrail_verdict="block",
                    guardrail_reason="prompt injection",
                ),
                root("fallback", 360),
                child(
                    "fallback",
                    360,
                    kind="generation",
                    name="generate_answer",
                    model="claude-3-5-haiku",
                    is_llm_call=1,
                    fallback_used=1,
                    input=messages,
                    output='{"answer": "x"}',
                ),
                root("error", 420, status="ERROR", status_message="LLM timed out"),
                root("replay", 480, status="ERROR", attributes={"spanscope.eval.run_id": "abc123"}),
                root("old", -7200, status="ERROR"),
            ],
        )
        scores = [
            {"trace_id": T["low"], "name": "helpfulness", "value": 0.2, "source": "human"},
            {"trace_id": T["healthy"], "name": "helpfulness", "value": 0.9, "source": "human"},
            {"trace_id": T["feedback"], "name": "user_feedback", "value": 0, "data_type": "boolean", "source": "sdk"},
            {"trace_id": T["evaluator"], "name": "faithful", "value": 0, "data_type": "boolean", "source": "evaluator"},
            {"trace_id": T["healthy"], "name": "user_feedback", "value": 1, "data_type": "boolean", "source": "sdk"},
        ]
        r = c.post("/api/scores", params={"project": P}, json={"scores": scores})
        assert r.status_code == 200, r.text
        yield c


def hard(client: TestClient, expect: int = 200, **params: Any) -> Any:
    return get(client, "/api/hard-examples", expect=expect, **{**RANGE, **params})


def by_trace(client: TestClient, **params: Any) -> dict[str, Any]:
    return {h["trace_id"]: h for h in hard(client, **params)["items"]}


def test_each_reason_finds_the_traces_it_describes(client: TestClient) -> None:
    found = by_trace(client)
    expected = {
        "low": ["low_score"],
        "feedback": ["negative_feedback"],
        "evaluator": ["evaluator_failure"],
        "block": ["guardrail_block"],
        "fallback": ["fallback"],
        "error": ["error"],
    }
    assert {k: found[T[k]]["reasons"] for k in expected if T[k] in found} == expected
    assert "guardrail input_policy: block (prompt injection)" in found[T["block"]]["details"]
    assert "helpfulness = 0.2 (human)" in found[T["low"]]["details"]
    assert found[T["error"]]["details"] == ["error in answer_question: LLM timed out"]


def test_healthy_traces_replays_and_traces_outside_the_range_are_not_hard(client: TestClient) -> None:
    found = by_trace(client)
    assert T["healthy"] not in found and T["replay"] not in found and T["old"] not in found


def test_reasons_narrow_the_search_as_a_comma_separated_list(client: TestClient) -> None:
    assert set(by_trace(client, reasons="error,fallback")) == {T["error"], T["fallback"]}


def test_low_score_follows_score_name_and_max_score(client: TestClient) -> None:
    assert set(by_trace(client, reasons="low_score", score_name="helpfulness", max_score=0.95)) == {
        T["low"],
        T["healthy"],
    }
    assert by_trace(client, reasons="low_score", score_name="other") == {}


def test_examples_carry_the_root_input_output_and_scores(client: TestClient) -> None:
    low = by_trace(client)[T["low"]]
    assert (low["input"], low["output"], low["span_id"]) == ("question low", "answer low", span_id(0))
    assert low["scores"] == {"helpfulness": 0.2}


def test_span_generation_takes_the_last_llm_call(client: TestClient) -> None:
    fb = by_trace(client, reasons="fallback", span="generation")[T["fallback"]]
    assert fb["input"] == [{"role": "user", "content": "question fallback"}]
    assert fb["output"] == {"answer": "x"} and fb["span_id"] == span_id(1)


def test_bulk_add_from_a_filter_adds_each_input_once(client: TestClient) -> None:
    assert client.post("/api/datasets", params={"project": P}, json={"name": "hard"}).status_code == 201
    body = {"start": RANGE["start"], "end": RANGE["end"], "reasons": ["error", "guardrail_block"]}
    r = client.post("/api/datasets/hard/items:from-filter", params={"project": P}, json=body)
    assert (r.status_code, r.json()["added"], r.json()["version"]) == (200, 2, 2), r.text
    items = get(client, "/api/datasets/hard/items", project=P)["items"]
    assert {(i["source_trace_id"], i["input"]) for i in items} == {
        (T["error"], "question error"),
        (T["block"], "question block"),
    }
    assert all(i["expected_output"] is None and "hard-example" in i["tags"] for i in items)
    again = client.post("/api/datasets/hard/items:from-filter", params={"project": P}, json=body).json()
    assert (again["created_version"], again["skipped_duplicates"]) == (False, 2)
    marked = by_trace(client, dataset="hard")
    assert marked[T["error"]]["in_dataset"] is True and marked[T["low"]]["in_dataset"] is False


def test_bad_filters_and_unknown_datasets_are_refused(client: TestClient) -> None:
    assert "reasons" in str(hard(client, expect=422, reasons="slow")["detail"])
    r = client.post("/api/datasets/nope/items:from-filter", params={"project": P}, json={"range": "1h"})
    assert (r.status_code, r.json()["detail"]) == (404, "dataset 'nope' not found in project 'curation'")
    bad_range = get(client, "/api/hard-examples", expect=400, project=P, range="1y")
    assert bad_range["detail"].startswith("range must look like")
