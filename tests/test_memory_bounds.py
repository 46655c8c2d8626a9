"""What the collector keeps in memory stays bounded however long it runs (bench/soak.py measures it)."""

from __future__ import annotations

from pathlib import Path

from spanscope.collector.config import Settings
from spanscope.collector.evals.online import MAX_QUEUE_BYTES, OnlineEvaluators
from spanscope.collector.ingest import PENDING_CONTENT_BYTES, _content_bytes, _Lru
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.normalize import ContentPatch
from spanscope.collector.normalize.wrappers import WrapperTracker
from spanscope.collector.storage import ENGINE_CACHES, Storage

from tests.collector_process import CollectorProcess
from tests.test_wrappers import mark


def _child(trace: int, parent: str) -> dict[str, object]:
    return {"trace_id": f"{trace:032x}", "span_id": f"c{trace:015x}", "parent_span_id": parent, "kind": "generation"}


def test_the_embedded_engine_runs_with_capped_caches(collector: CollectorProcess) -> None:
    rows = collector.sql(
        "SELECT name, value FROM system.server_settings WHERE name IN {names:Array(String)}",
        names=list(ENGINE_CACHES),
    )
    assert {r["name"]: int(r["value"]) for r in rows} == ENGINE_CACHES


def test_the_wrapper_tracker_keeps_at_most_its_capacity() -> None:
    tracker = WrapperTracker(capacity=100)
    for trace in range(1_000):
        mark(tracker, [_child(trace, "p" * 16)])
    assert 50 <= len(tracker) <= 100


def test_a_wrapper_is_recognised_after_the_tracker_rotated() -> None:
    tracker = WrapperTracker(capacity=10)
    mark(tracker, [_child(1, "wrapper")])
    for trace in range(2, 8):  # one rotation: the first child's parent is in the older generation
        mark(tracker, [_child(trace, "other")])
    wrapper = {"trace_id": f"{1:032x}", "span_id": "wrapper", "parent_span_id": "", "kind": "generation"}
    mark(tracker, [wrapper])
    assert wrapper["is_llm_call"] == 0


def test_a_wrapper_whose_children_were_forgotten_counts_as_a_call() -> None:
    tracker = WrapperTracker(capacity=10)
    mark(tracker, [_child(1, "wrapper")])
    for trace in range(2, 20):
        mark(tracker, [_child(trace, "other")])
    wrapper = {"trace_id": f"{1:032x}", "span_id": "wrapper", "parent_span_id": "", "kind": "generation"}
    mark(tracker, [wrapper])
    assert "is_llm_call" not in wrapper


def test_waiting_content_is_forgotten_oldest_first_past_its_byte_budget() -> None:
    pending = _Lru(100_000, PENDING_CONTENT_BYTES, _content_bytes)
    big = "x" * (1 << 20)
    for i in range(100):
        pending.put(("t", str(i)), ContentPatch(input=big, output=""))
    assert pending.weight <= PENDING_CONTENT_BYTES
    assert ("t", "99") in pending and ("t", "0") not in pending
    assert pending.pop(("t", "99")) is not None
    assert pending.weight == sum(_content_bytes(ContentPatch(input=big)) for _ in range(len(pending)))


def test_evaluation_queue_drops_payloads_past_its_byte_budget(tmp_path: Path) -> None:
    metrics = CollectorMetrics()
    storage = Storage("http://127.0.0.1:9", tmp_path)  # never reached: nothing is evaluated here
    evaluators = OnlineEvaluators(Settings(data_dir=tmp_path), storage, metrics)
    payload = b"{}\n" * (MAX_QUEUE_BYTES * 2 // 5 // 3)  # 40 % of the budget
    evaluators.on_stored([payload, payload, payload])
    assert evaluators.pending() == 2
    dropped = metrics.registry.get_sample_value("spanscope_evaluation_dropped_total", {"reason": "queue_full"})
    assert dropped == payload.count(b"\n") + 1
