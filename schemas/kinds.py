"""The span kinds spanscope stores in `spans.kind`."""

from enum import StrEnum


class SpanKind(StrEnum):
    GENERATION = "generation"
    RETRIEVAL = "retrieval"
    GUARDRAIL = "guardrail"
    TOOL = "tool"
    AGENT = "agent"
    CHAIN = "chain"
    EMBEDDING = "embedding"
    RERANK = "rerank"
    EVALUATOR = "evaluator"
    SPAN = "span"


class GuardrailVerdict(StrEnum):
    PASS = "pass"
    BLOCK = "block"
    MODIFY = "modify"


# OpenInference's span kind values, in both directions.
OPENINFERENCE_KIND: dict[SpanKind, str] = {
    SpanKind.GENERATION: "LLM",
    SpanKind.RETRIEVAL: "RETRIEVER",
    SpanKind.GUARDRAIL: "GUARDRAIL",
    SpanKind.TOOL: "TOOL",
    SpanKind.AGENT: "AGENT",
    SpanKind.CHAIN: "CHAIN",
    SpanKind.EMBEDDING: "EMBEDDING",
    SpanKind.RERANK: "RERANKER",
    SpanKind.EVALUATOR: "EVALUATOR",
    SpanKind.SPAN: "UNKNOWN",
}

# OTel GenAI `gen_ai.operation.name` that our SDK emits for each kind (None: no standard operation).
OTEL_OPERATION: dict[SpanKind, str | None] = {
    SpanKind.GENERATION: "chat",
    SpanKind.RETRIEVAL: "retrieval",
    SpanKind.GUARDRAIL: "apply_guardrail",
    SpanKind.TOOL: "execute_tool",
    SpanKind.AGENT: "invoke_agent",
    SpanKind.CHAIN: "invoke_workflow",
    SpanKind.EMBEDDING: "embeddings",
    SpanKind.RERANK: None,
    SpanKind.EVALUATOR: None,
    SpanKind.SPAN: None,
}
