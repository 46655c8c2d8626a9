"""The RAG example we show users, run end to end: one trace with every helper in its place."""

from __future__ import annotations

from typing import Any

import spanscope.sdk as spanscope
from opentelemetry.trace import StatusCode
from spanscope.schemas import attributes as A
from spanscope.sdk.testing import record_spans

DOCS = [
    {"id": "kb-1", "content": "Refunds are possible within 30 days."},
    {"id": "kb-2", "content": "Ship: 2 days."},
]


def search(query: str, k: int) -> list[dict[str, Any]]:  # stands in for a vector store
    return [dict(doc, score=1.0 - i / 10) for i, doc in enumerate(DOCS[:k])]


def primary_llm(messages: list[dict[str, str]]) -> str:  # the first provider is down
    raise TimeoutError("upstream timeout")


def backup_llm(messages: list[dict[str, str]]) -> str:
    spanscope.update_current_span(usage={"input_tokens": 42, "output_tokens": 9}, cost=0.0001)
    return "You can get a refund within 30 days."


def test_the_rag_example_produces_one_connected_trace() -> None:
    with record_spans() as rec:
        # --- the example, as in the README ---------------------------------------------------
        def no_injection(text: str) -> bool:
            return "ignore previous instructions" not in text.lower()

        @spanscope.observe(kind="retrieval")
        def retrieve(query: str) -> list[dict[str, Any]]:
            return search(query, k=2)

        generate = spanscope.fallback(
            [("gpt-4o-mini", primary_llm), ("claude-haiku", backup_llm)], retries=0, name="generate"
        )

        @spanscope.observe(kind="chain")
        def answer(question: str) -> str:
            question = spanscope.guardrail(no_injection, question, stage="input")
            docs = retrieve(question)
            context = "\n".join(doc["content"] for doc in docs)
            reply = generate([{"role": "system", "content": context}, {"role": "user", "content": question}])
            spanscope.score("grounded", True)
            return str(reply)

        with spanscope.propagate_attributes(session_id="chat-1", user_id="u-1"):
            assert answer("Can I get a refund?") == "You can get a refund within 30 days."
        # ---------------------------------------------------------------------------------------
        spans = rec.spans()

    by_name = {span.name: span for span in spans}
    root = by_name["test_the_rag_example_produces_one_connected_trace.<locals>.answer"]
    assert len({span.context.trace_id for span in spans}) == 1
    assert all(span.attributes[A.GEN_AI_CONVERSATION_ID] == "chat-1" for span in spans)
    for name in ("apply_guardrail no_injection", "generate"):
        assert by_name[name].parent is not None and by_name[name].parent.span_id == root.context.span_id
    retrieval = next(span for span in spans if span.attributes[A.SS_SPAN_KIND] == "retrieval")
    assert '"kb-1"' in retrieval.attributes[A.GEN_AI_RETRIEVAL_DOCUMENTS]
    call = by_name["generate"]
    assert call.attributes[A.SS_FALLBACK_USED] is True
    assert call.attributes[A.GEN_AI_RESPONSE_MODEL] == "claude-haiku"
    failed, served = by_name["chat gpt-4o-mini"], by_name["chat claude-haiku"]
    assert failed.status.status_code is StatusCode.ERROR
    assert served.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 42
    assert served.attributes[A.GEN_AI_USAGE_COST] == 0.0001
    (score,) = rec.scores
    assert (score["name"], score["data_type"], score["value"]) == ("grounded", "boolean", 1.0)
    assert score["span_id"] == format(root.context.span_id, "016x")
