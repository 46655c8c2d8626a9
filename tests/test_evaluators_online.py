"""Online evaluators in a real collector process: spans sent over OTLP are evaluated after they are
stored, results appear as scores with source `evaluator`, a hanging evaluator does not stop
ingestion, and the configuration API validates what it stores."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from spanscope.collector.evals.evaluators import EvalRecord

from tests.collector_process import CollectorProcess
from tests.test_ingest import PB, _content_requests

JSON = {"Content-Type": "application/json"}

EVALUATORS_YAML = """
schemas:
  invoice: {type: object, required: [total], properties: {total: {type: number}}}
evaluators:
  - name: invoice_shape
    type: json_schema
    params: {schema_name: invoice}
    match: {span_name: "extract_*"}
  - name: declined
    type: refusal
    match: {kind: generation}
  - name: fast_enough
    type: latency_slo
    params: {max_ms: 1000}
    match: {span_name: "extract_*"}
  - name: answer_words
    type: length
    params: {min: 3, unit: words}
    match: {span_name: "chat *"}
  - name: stuck_check
    type: python
    params: {callable: "tests.test_evaluators_online:sleepy"}
    match: {span_name: "slow_*"}
    timeout_s: 0.5
"""


def sleepy(record: EvalRecord) -> float:
    """Hangs far past its evaluator's timeout (the collector must abandon it)."""
    time.sleep(30)
    return 1.0


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    root = tmp_path_factory.mktemp("evals-online")
    config = root / "evaluators.yaml"
    config.write_text(EVALUATORS_YAML)
    proc = CollectorProcess(
        root / "data",
        env={
            "SPANSCOPE_EVALUATORS_FILE": str(config),
            "SPANSCOPE_EVAL_CONTENT_WAIT_S": "3",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        },
    ).start()
    yield proc
    proc.stop()


def span(name: str, output: str, duration_ms: float = 50.0, kind: str = "generation", **attrs: str) -> dict[str, Any]:
    start = time.time_ns() - 60_000_000
    attributes = {"spanscope.span.kind": kind, "spanscope.output": output, "spanscope.input": "question", **attrs}
    return {
        "traceId": os.urandom(16).hex(),
        "spanId": os.urandom(8).hex(),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + int(duration_ms * 1_000_000)),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }


def send(collector: CollectorProcess, *spans: dict[str, Any]) -> httpx.Response:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "evals-app"}}]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }
    return httpx.post(f"{collector.url}/v1/traces", content=orjson.dumps(body), headers=JSON, timeout=10)


def scores(collector: CollectorProcess, trace_id: str, count: int, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    """The trace's scores by name, once at least `count` are there."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        r = httpx.get(f"{collector.url}/api/traces/{trace_id}/scores", timeout=10)
        assert r.status_code == 200, r.text
        found = r.json()["scores"]
        if len(found) >= count:
            break
        time.sleep(0.2)
    return {s["name"]: s for s in found}


def test_stored_spans_get_evaluator_scores_attached_to_their_span(collector: CollectorProcess) -> None:
    good = span("extract_invoice", '{"total": 12.5}', duration_ms=200)
    bad = span("extract_invoice", '{"total": "twelve"}', duration_ms=1500)
    assert send(collector, good, bad).status_code == 200

    got = scores(collector, good["traceId"], 3)
    assert set(got) == {"invoice_shape", "declined", "fast_enough"}
    shape = got["invoice_shape"]
    assert (shape["value"], shape["data_type"], shape["source"]) == (1.0, "boolean", "evaluator")
    assert (shape["trace_id"], shape["span_id"]) == (good["traceId"], good["spanId"])
    assert got["fast_enough"]["value"] == 1.0 and got["declined"]["value"] == 0.0

    failed = scores(collector, bad["traceId"], 3)
    assert failed["invoice_shape"]["value"] == 0.0 and "total" in failed["invoice_shape"]["comment"]
    assert failed["fast_enough"]["value"] == 0.0 and "1500 ms" in failed["fast_enough"]["comment"]


def test_a_refusal_is_scored_only_on_generations(collector: CollectorProcess) -> None:
    refusal = span("answer", "I'm sorry, but I can't help with that.")
    tool = span("lookup", "I'm sorry, but I can't help with that.", kind="tool")
    assert send(collector, refusal, tool).status_code == 200
    got = scores(collector, refusal["traceId"], 1)
    assert got["declined"]["value"] == 1.0 and got["declined"]["comment"].startswith("refusal")
    time.sleep(1.0)
    assert scores(collector, tool["traceId"], 1, timeout=0.5) == {}


def test_ingestion_keeps_acknowledging_while_an_evaluator_hangs(collector: CollectorProcess) -> None:
    slow = [span(f"slow_step_{i}", "x") for i in range(6)]
    assert send(collector, *slow).status_code == 200
    # While the hanging evaluator's calls are abandoned one by one, ingest and other evaluators go on.
    others = []
    for _ in range(10):
        s = span("extract_invoice", '{"total": 1}')
        others.append(s)
        r = send(collector, s)
        assert r.status_code == 200, r.text
    for s in others:
        assert scores(collector, s["traceId"], 3)["invoice_shape"]["value"] == 1.0
    stuck = scores(collector, slow[0]["traceId"], 1)["stuck_check"]
    assert stuck["value"] is None and stuck["comment"].startswith("error: timeout: ")
    metrics = httpx.get(f"{collector.url}/metrics", timeout=10).text
    assert 'spanscope_evaluations_total{evaluator="stuck_check",outcome="timeout"}' in metrics


def test_an_evaluator_configuration_with_a_missing_callable_is_refused_with_422(collector: CollectorProcess) -> None:
    body = {"evaluators": [{"name": "mine", "type": "python", "params": {"callable": "tests.nowhere:fn"}}]}
    r = httpx.put(f"{collector.url}/api/evaluators", json=body, params={"project": "p422"}, timeout=10)
    assert r.status_code == 422
    assert "cannot import module 'tests.nowhere'" in r.text
    state = httpx.get(f"{collector.url}/api/evaluators", params={"project": "p422"}, timeout=10).json()
    assert (state["source"], state["evaluators"]) == ("none", [])


def test_an_invalid_evaluator_type_is_refused_with_422_naming_it(collector: CollectorProcess) -> None:
    body = {"evaluators": [{"name": "x", "type": "vibes"}]}
    r = httpx.put(f"{collector.url}/api/evaluators", json=body, timeout=10)
    assert r.status_code == 422 and "vibes" in r.text


def test_the_file_configuration_is_reported_by_the_api(collector: CollectorProcess) -> None:
    state = httpx.get(f"{collector.url}/api/evaluators", timeout=10).json()
    assert state["source"] == "file"
    names = [e["name"] for e in state["evaluators"]]
    assert names == ["invoice_shape", "declined", "fast_enough", "answer_words", "stuck_check"]
    assert "invoice" in state["schemas"]


def test_a_configuration_stored_with_the_api_replaces_the_file_until_deleted(collector: CollectorProcess) -> None:
    r = httpx.put(f"{collector.url}/api/evaluators/schemas/order", json={"type": "object", "required": ["id"]})
    assert r.status_code == 200, r.text
    config = {
        "evaluators": [
            {"name": "order_shape", "type": "json_schema", "params": {"schema_name": "order"}},
            {"name": "order_len", "type": "length", "params": {"max": 5}},
        ],
        "schemas": {"order": r.json()["schemas"]["order"]},
    }
    try:
        r = httpx.put(f"{collector.url}/api/evaluators", json=config, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["source"] == "api"
        s = span("order", '{"id": 7}')
        assert send(collector, s).status_code == 200
        got = scores(collector, s["traceId"], 2)
        assert set(got) == {"order_shape", "order_len"}
        assert (got["order_shape"]["value"], got["order_len"]["value"]) == (1.0, 0.0)
    finally:
        restored = httpx.delete(f"{collector.url}/api/evaluators", timeout=10).json()
    assert restored["source"] == "file" and restored["evaluators"][0]["name"] == "invoice_shape"


def test_a_schema_in_use_cannot_be_removed(collector: CollectorProcess) -> None:
    project = "schemas-in-use"
    config = {
        "evaluators": [{"name": "a", "type": "json_schema", "params": {"schema_name": "s"}}],
        "schemas": {"s": {"type": "object"}},
    }
    assert httpx.put(f"{collector.url}/api/evaluators", json=config, params={"project": project}).status_code == 200
    r = httpx.delete(f"{collector.url}/api/evaluators/schemas/s", params={"project": project})
    assert r.status_code == 409 and "not registered" in r.text


def test_an_invalid_json_schema_is_refused_with_422(collector: CollectorProcess) -> None:
    r = httpx.put(f"{collector.url}/api/evaluators/schemas/broken", json={"type": 12}, params={"project": "bad-schema"})
    assert r.status_code == 422 and "invalid JSON Schema" in r.text


def test_preview_runs_evaluators_on_a_record_without_storing(collector: CollectorProcess) -> None:
    body = {
        "record": {"output": "I don't know.", "latency_ms": 20},
        "evaluators": [
            {"name": "declined", "type": "refusal"},
            {
                "name": "hang",
                "type": "python",
                "params": {"callable": "tests.test_evaluators_online:sleepy"},
                "timeout_s": 0.3,
            },
        ],
    }
    r = httpx.post(f"{collector.url}/api/evaluators/preview", json=body, timeout=10)
    assert r.status_code == 200, r.text
    declined, hang = r.json()
    assert declined["value"] == 1.0 and declined["comment"].startswith("insufficient data")
    assert hang["error"].startswith("timeout: ")


def test_ingest_is_not_slowed_by_evaluation(collector: CollectorProcess) -> None:
    """Many concurrent requests while evaluators run: every one is acknowledged."""
    codes: list[int] = []

    def client() -> None:
        for _ in range(5):
            codes.append(send(collector, *[span("extract_invoice", '{"total": 2}') for _ in range(20)]).status_code)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 20


def test_a_generation_whose_content_arrives_later_as_logs_is_evaluated_on_that_content(
    collector: CollectorProcess,
) -> None:
    traces, logs, trace_id, span_id = _content_requests()
    assert httpx.post(f"{collector.url}/v1/traces", content=traces, headers=PB).status_code == 200
    collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=trace_id)
    assert httpx.post(f"{collector.url}/v1/logs", content=logs, headers=PB).status_code == 200
    got = scores(collector, trace_id, 2)
    assert got["answer_words"]["value"] == 1.0, got["answer_words"]  # "Paris is the capital of France."
    assert got["answer_words"]["span_id"] == span_id
    assert got["declined"]["value"] == 0.0
