"""Generation spans around generation spans count the underlying calls once."""

from __future__ import annotations

from typing import Any

from spanscope.collector.normalize.wrappers import LLM_KINDS, WrapperTracker, as_wrapper


def mark(tracker: WrapperTracker, rows: list[dict[str, Any]]) -> None:
    """What the ingest path does with a request's rows: generation rows that wrap others become wrappers."""
    llm = [r for r in rows if r.get("kind") in LLM_KINDS]
    for i in tracker.wrappers([(r["trace_id"], r["span_id"], r.get("parent_span_id") or "") for r in llm]):
        as_wrapper(llm[i])


def _gen(span: str, parent: str = "", **cols: object) -> dict[str, object]:
    return {
        "trace_id": "t" * 32,
        "span_id": span,
        "parent_span_id": parent,
        "kind": "generation",
        "is_llm_call": 1,
        **cols,
    }


def test_an_observe_generation_around_an_instrumented_call_is_not_a_second_llm_call() -> None:
    inner = _gen(
        "inner",
        "outer",
        input_tokens=100,
        output_tokens=20,
        total_tokens=120,
        cost_usd=0.01,
        cost_source="price_table",
    )
    outer = _gen(
        "outer",
        input_tokens=100,
        output_tokens=20,
        total_tokens=120,
        cost_usd=0.01,
        cost_source="price_table",
    )
    mark(WrapperTracker(), [inner, outer])
    assert inner["is_llm_call"] == 1 and inner["cost_usd"] == 0.01
    assert outer["is_llm_call"] == 0
    assert "cost_usd" not in outer and "input_tokens" not in outer and "cost_source" not in outer
    assert outer["attributes"] == {
        "spanscope.wrapper.input_tokens": "100",
        "spanscope.wrapper.output_tokens": "20",
        "spanscope.wrapper.total_tokens": "120",
        "spanscope.wrapper.cost_usd": "0.01",
    }


def test_the_parent_arriving_in_a_later_batch_is_still_recognised() -> None:
    tracker = WrapperTracker()
    mark(tracker, [_gen("child", "parent")])
    parent = _gen("parent")
    mark(tracker, [parent])
    assert parent["is_llm_call"] == 0


def test_a_fallback_wrapper_stays_the_logical_call() -> None:
    attempt = _gen("a1", "fb", is_llm_call=0, fallback_attempt=1)
    wrapper = _gen("fb", "so", fallback_attempts=2, fallback_used=1)
    structured = _gen("so", output_validated=1, output_valid=1)
    mark(WrapperTracker(), [attempt, wrapper, structured])
    assert (attempt["is_llm_call"], wrapper["is_llm_call"], structured["is_llm_call"]) == (0, 1, 0)


def test_a_generation_without_generation_children_is_untouched() -> None:
    row = _gen("solo", "chain-span", input_tokens=5, cost_usd=0.1)
    mark(WrapperTracker(),
        [row, {"trace_id": "t" * 32, "span_id": "chain-span", "parent_span_id": "", "kind": "chain"}]
    )
    assert row["is_llm_call"] == 1 and row["input_tokens"] == 5
