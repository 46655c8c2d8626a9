"""Span kind resolution (conventions §8.1), first answer wins:

1. our `spanscope.span.kind`;
2. OpenInference `openinference.span.kind` (LLM, EMBEDDING, RETRIEVER, RERANKER, TOOL, AGENT,
   CHAIN, PROMPT → chain, GUARDRAIL, EVALUATOR; UNKNOWN says nothing);
3. OTel `gen_ai.operation.name` (chat, text_completion, generate_content, legacy completion /
   generate → generation; embeddings; retrieval; execute_tool; invoke_agent / create_agent / plan →
   agent; invoke_workflow → chain; apply_guardrail / run_guardrail → guardrail);
4. Traceloop `traceloop.span.kind` (workflow / task → chain, agent, tool) then `llm.request.type`
   (chat / completion → generation, embedding, rerank);
5. OpenLIT operation names beyond OTel's (image, audio, ... → generation; vectordb / retrieve →
   retrieval; execute_task → agent; framework → chain; rerank; guardrails → guardrail);
6. heuristics: NeMo span names `guardrails.rail` / `guardrails.request` or guardrail attributes →
   guardrail; retrieval attributes (documents, query, vector top-k, data source) → retrieval; an
   embedding model or dimension count → embedding; a tool name or call id → tool; a request or
   response model → generation; otherwise span.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import SpanKind

GENERATION = SpanKind.GENERATION.value
EMBEDDING = SpanKind.EMBEDDING.value
RETRIEVAL = SpanKind.RETRIEVAL.value
RERANK = SpanKind.RERANK.value
TOOL = SpanKind.TOOL.value
AGENT = SpanKind.AGENT.value
CHAIN = SpanKind.CHAIN.value
GUARDRAIL = SpanKind.GUARDRAIL.value
EVALUATOR = SpanKind.EVALUATOR.value
SPAN = SpanKind.SPAN.value

OPENINFERENCE = {
    "LLM": GENERATION,
    "EMBEDDING": EMBEDDING,
    "RETRIEVER": RETRIEVAL,
    "RERANKER": RERANK,
    "TOOL": TOOL,
    "AGENT": AGENT,
    "CHAIN": CHAIN,
    "PROMPT": CHAIN,
    "GUARDRAIL": GUARDRAIL,
    "EVALUATOR": EVALUATOR,
}
OTEL_OPERATION = {
    "chat": GENERATION,
    "text_completion": GENERATION,
    "generate_content": GENERATION,
    "completion": GENERATION,
    "generate": GENERATION,
    "embeddings": EMBEDDING,
    "retrieval": RETRIEVAL,
    "execute_tool": TOOL,
    "invoke_agent": AGENT,
    "create_agent": AGENT,
    "plan": AGENT,
    "invoke_workflow": CHAIN,
    "apply_guardrail": GUARDRAIL,
    "run_guardrail": GUARDRAIL,
}
TRACELOOP_KIND = {"workflow": CHAIN, "task": CHAIN, "agent": AGENT, "tool": TOOL}
TRACELOOP_REQUEST_TYPE = {
    "chat": GENERATION,
    "completion": GENERATION,
    "embedding": EMBEDDING,
    "rerank": RERANK,
}
OPENLIT_OPERATION = {
    "image": GENERATION,
    "audio": GENERATION,
    "video": GENERATION,
    "speech": GENERATION,
    "transcription": GENERATION,
    "translation": GENERATION,
    "responses": GENERATION,
    "create_image": GENERATION,
    "embedding": EMBEDDING,
    "vectordb": RETRIEVAL,
    "vector_db_retrieve": RETRIEVAL,
    "retrieve": RETRIEVAL,
    "execute_task": AGENT,
    "agent": AGENT,
    "framework": CHAIN,
    "workflow": CHAIN,
    "rerank": RERANK,
    "guardrails": GUARDRAIL,
    "guardrail": GUARDRAIL,
}
NEMO_GUARDRAIL_SPANS = frozenset({A.NEMO_SPAN_RAIL, A.NEMO_SPAN_REQUEST})

# The `operation` column when the span did not name one.
OPERATION_OF_KIND = {
    GENERATION: "chat",
    EMBEDDING: "embeddings",
    RETRIEVAL: "retrieval",
    TOOL: "execute_tool",
    AGENT: "invoke_agent",
    CHAIN: "invoke_workflow",
    GUARDRAIL: "apply_guardrail",
    RERANK: "rerank",
}
OPERATION_OF_REQUEST_TYPE = {
    "chat": "chat",
    "completion": "text_completion",
    "embedding": "embeddings",
    "rerank": "rerank",
}


def resolve(f: dict[str, Any], hints: frozenset[str], name: str) -> str:
    """The span's kind from its facts (see the module docstring for the order)."""
    k = f.get("ss_kind")
    if k:
        return k
    v = f.get("oi_kind")
    if v:
        k = OPENINFERENCE.get(v)
        if k:
            return k
    op = f.get("operation")
    op = op.lower() if op else ""
    if op:
        k = OTEL_OPERATION.get(op)
        if k:
            return k
    v = f.get("tl_kind")
    if v:
        k = TRACELOOP_KIND.get(v)
        if k:
            return k
    v = f.get("request_type")
    if v:
        k = TRACELOOP_REQUEST_TYPE.get(v)
        if k:
            return k
    if op:
        k = OPENLIT_OPERATION.get(op)
        if k:
            return k
    if "guardrail" in hints or "hint_guardrail" in f or name in NEMO_GUARDRAIL_SPANS:
        return GUARDRAIL
    if "retrieval" in hints or "documents" in f or "hint_retrieval" in f:
        return RETRIEVAL
    if "embedding" in hints:
        return EMBEDDING
    if "tool" in hints:
        return TOOL
    if "request_model" in f or "response_model" in f or "llm_model" in f or "invocation_model" in f:
        return GENERATION
    return SPAN


def operation(f: dict[str, Any], kind: str) -> str:
    """`gen_ai.operation.name` as sent, else derived from `llm.request.type` or the kind."""
    op = f.get("operation")
    if op:
        return op
    rt = f.get("request_type")
    if rt:
        op = OPERATION_OF_REQUEST_TYPE.get(rt)
        if op:
            return op
    return OPERATION_OF_KIND.get(kind, "")
