"""The online evaluator service inside an in-process collector: retried batches store their scores
once, a full queue drops and counts instead of blocking the flusher."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from spanscope.collector.evals.online import OnlineEvaluators
from spanscope.schemas.evals import EvaluatorsDocument

from tests.api_support import get, span, span_id, start_client, storage_of, trace_id

P = "service"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_client(tmp_path_factory.mktemp("evals-service"))


def service_of(client: TestClient) -> OnlineEvaluators:
    service: OnlineEvaluators = client.app.state.collector.evaluators  # type: ignore[attr-defined]
    return service


def payload(*rows: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in rows)


def configure(client: TestClient) -> None:
    doc = {"evaluators": [{"name": "nonempty", "type": "length", "params": {"min": 1}}]}
    r = client.put("/api/evaluators", params={"project": P}, json=doc)
    assert r.status_code == 200, r.text


def test_a_replayed_payload_stores_its_evaluator_scores_once(client: TestClient) -> None:
    configure(client)
    tid = trace_id(1, "service")
    batch = payload(span(P, tid, span_id(1), time.time() - 5, output="hello", kind="generation"))
    service = service_of(client)
    service.process(batch)
    service.process(batch)  # the flusher hands over the same payload again after a crash
    (score,) = get(client, f"/api/traces/{tid}/scores", project=P)["scores"]
    assert (score["name"], score["value"], score["source"]) == ("nonempty", 1.0, "evaluator")
    assert score["span_id"] == span_id(1)


def test_spans_of_a_project_without_evaluators_get_no_scores(client: TestClient) -> None:
    configure(client)
    tid = trace_id(2, "service")
    service_of(client).process(payload(span("elsewhere", tid, span_id(1), time.time() - 5, output="x")))
    assert get(client, f"/api/traces/{tid}/scores", project="elsewhere")["scores"] == []


def test_a_full_queue_drops_and_counts_without_blocking(client: TestClient) -> None:
    app_service = service_of(client)
    service = OnlineEvaluators(app_service.settings, storage_of(client), app_service.metrics, max_queue=2)
    service.set_stored(P, EvaluatorsDocument.model_validate({"evaluators": [{"name": "n", "type": "json_valid"}]}))
    dropped = app_service.metrics.evaluation_dropped.labels("queue_full")
    before = dropped._value.get()
    t0 = time.monotonic()
    service.on_stored([payload(span(P, trace_id(i, "q"), span_id(i), time.time())) for i in range(5)])
    assert time.monotonic() - t0 < 0.5
    assert dropped._value.get() - before == 3
    assert service.pending() == 2
