"""OpenTelemetry GenAI semantic conventions, current names first, then the deprecated ones.

Also the general OTel keys GenAI spans use (`error.type`, `user.id`, `enduser.id`, `session.id`).
Traceloop and OpenLIT emit most of these `gen_ai.*` names too; their own keys live in their modules.

Request parameters (temperature, max_tokens, top_p, ...), `gen_ai.response.id`, tool and agent
names, the embedding dimension count and the data source id have no column and are never consumed.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from . import documents, guardrail, messages
from .canon import add_raw, ms_from_s, provider, str_list, text, to_count, to_float, to_text
from .rules import Dialect, Handler, column, fact

PROVIDER = (A.GEN_AI_PROVIDER_NAME, A.GEN_AI_SYSTEM)
INPUT_TOKENS = (A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_PROMPT_TOKENS)
OUTPUT_TOKENS = (A.GEN_AI_USAGE_OUTPUT_TOKENS, A.GEN_AI_USAGE_COMPLETION_TOKENS)
CACHE_READ = (A.GEN_AI_USAGE_CACHE_READ, A.GEN_AI_USAGE_CACHE_READ_OLD)
CACHE_WRITE = (A.GEN_AI_USAGE_CACHE_WRITE, A.GEN_AI_USAGE_CACHE_CREATION, A.GEN_AI_USAGE_CACHE_CREATION_OLD)
REASONING = (A.GEN_AI_USAGE_REASONING, A.GEN_AI_USAGE_REASONING_OLD)
COST = (A.GEN_AI_USAGE_COST, A.GEN_AI_USAGE_COST_TOTAL)
FINISH = (A.GEN_AI_RESPONSE_FINISH_REASONS, A.GEN_AI_RESPONSE_FINISH_REASON)
TTFT = (A.GEN_AI_RESPONSE_TTFC, A.GEN_AI_RESPONSE_TTFT)
SESSION = (A.GEN_AI_CONVERSATION_ID, A.SESSION_ID)
USER = (A.USER_ID, A.ENDUSER_ID)

GUARD_KEYS = frozenset(
    {
        A.GEN_AI_GUARDRAIL_NAME,
        A.GEN_AI_GUARDRAIL_NAME_OLD,
        A.GEN_AI_GUARDRAIL_RESULT_TYPE,
        A.GEN_AI_GUARDRAIL_RESULT_VALUE,
        A.GEN_AI_GUARDRAIL_VERDICT_OLD,
        A.GEN_AI_GUARDRAIL_STATUS_OLD,
        A.GEN_AI_GUARDRAIL_REASON,
        A.GEN_AI_GUARDRAIL_SOURCE,
        A.GEN_AI_GUARDRAIL_TARGET,
        A.GEN_AI_GUARDRAIL_POLICY_ID,
        A.GEN_AI_GUARDRAIL_RISK_CATEGORY,
    }
)
CONTENT_KEYS = frozenset(
    {
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        A.GEN_AI_TOOL_CALL_ARGUMENTS,
        A.GEN_AI_TOOL_CALL_RESULT,
        A.GEN_AI_RETRIEVAL_QUERY,
        A.GEN_AI_RETRIEVAL_DOCUMENTS,
    }
)


def _content(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    v = pop(A.GEN_AI_SYSTEM_INSTRUCTIONS, None)
    if v is not None:
        f["system_message"] = messages.system_from_instructions(v)
    v = pop(A.GEN_AI_INPUT_MESSAGES, None)
    if v is not None:
        f["input_messages"] = messages.from_list(v, "user")[0]
    v = pop(A.GEN_AI_OUTPUT_MESSAGES, None)
    if v is not None:
        msgs, reasons = messages.from_list(v, "assistant")
        f["output_messages"] = msgs
        if reasons and "finish_reasons" not in row:
            row["finish_reasons"] = reasons
    add_raw(f, "raw_in", A.GEN_AI_TOOL_CALL_ARGUMENTS, pop(A.GEN_AI_TOOL_CALL_ARGUMENTS, None))
    add_raw(f, "raw_out", A.GEN_AI_TOOL_CALL_RESULT, pop(A.GEN_AI_TOOL_CALL_RESULT, None))
    add_raw(f, "raw_in", A.GEN_AI_RETRIEVAL_QUERY, pop(A.GEN_AI_RETRIEVAL_QUERY, None))
    v = pop(A.GEN_AI_RETRIEVAL_DOCUMENTS, None)
    if v is not None:
        docs = documents.from_list(v)
        if docs is None:
            rest[A.GEN_AI_RETRIEVAL_DOCUMENTS] = v  # not a shape we know: keep it
        else:
            f["documents"] = docs


def guard(src: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...] = ()) -> None:
    """OTel guardrail keys, from span attributes or a `gen_ai.guardrail.result` event."""
    pop = src.pop
    f["hint_guardrail"] = True
    if "guardrail_name" not in row:
        for key in (A.GEN_AI_GUARDRAIL_NAME, A.GEN_AI_GUARDRAIL_NAME_OLD):
            v = src.get(key)
            if v:
                row["guardrail_name"] = to_text(pop(key))
                break
    if "guardrail_verdict" not in row:
        verdict = ""
        rvalue = src.get(A.GEN_AI_GUARDRAIL_RESULT_VALUE)
        if rvalue is not None:
            verdict = guardrail.from_result(src.get(A.GEN_AI_GUARDRAIL_RESULT_TYPE), rvalue)
            if verdict:
                pop(A.GEN_AI_GUARDRAIL_RESULT_TYPE, None)
                pop(A.GEN_AI_GUARDRAIL_RESULT_VALUE, None)
        if not verdict:
            for key in (A.GEN_AI_GUARDRAIL_VERDICT_OLD, A.GEN_AI_GUARDRAIL_STATUS_OLD):
                if key in src:
                    verdict = guardrail.verdict(src[key])
                    if verdict:
                        del src[key]
                        break
        if verdict:
            row["guardrail_verdict"] = verdict
    if "guardrail_reason" not in row:
        v = pop(A.GEN_AI_GUARDRAIL_REASON, None)
        if v:
            row["guardrail_reason"] = to_text(v)
    if "guardrail_stage" not in row:
        for key in (A.GEN_AI_GUARDRAIL_SOURCE, A.GEN_AI_GUARDRAIL_TARGET):
            st = guardrail.stage(src.get(key))
            if st:
                row["guardrail_stage"] = st
                del src[key]
                break
    if "guardrail_policy" not in row:
        for key in (A.GEN_AI_GUARDRAIL_POLICY_ID, A.GEN_AI_GUARDRAIL_RISK_CATEGORY):
            v = src.get(key)
            if v:
                row["guardrail_policy"] = to_text(pop(key))
                break


DIALECT: Dialect = Dialect(
    "otel_genai",
    rules=(
        fact("operation", (A.GEN_AI_OPERATION_NAME,), text),
        fact("provider", PROVIDER, provider),
        fact("request_model", (A.GEN_AI_REQUEST_MODEL,), text),
        fact("response_model", (A.GEN_AI_RESPONSE_MODEL,), text),
        column("input_tokens", INPUT_TOKENS, to_count),
        column("output_tokens", OUTPUT_TOKENS, to_count),
        column("total_tokens", (A.GEN_AI_USAGE_TOTAL_TOKENS,), to_count),
        column("cache_read_tokens", CACHE_READ, to_count),
        column("cache_write_tokens", CACHE_WRITE, to_count),
        column("reasoning_tokens", REASONING, to_count),
        fact("cost", COST, to_float),
        column("finish_reasons", FINISH, str_list),
        column("ttft_ms", TTFT, ms_from_s),
        column("session_id", SESSION, text),
        column("user_id", USER, text),
        column("prompt_name", (A.GEN_AI_PROMPT_NAME,), text),
        column("prompt_version", (A.GEN_AI_PROMPT_VERSION,), text),
        column("error_type", (A.ERROR_TYPE,), text),
    ),
    handlers=(
        Handler(_content, CONTENT_KEYS),
        Handler(guard, GUARD_KEYS),
    ),
    hints={
        A.GEN_AI_TOOL_NAME: "tool",
        A.GEN_AI_TOOL_CALL_ID: "tool",
        A.GEN_AI_EMBEDDINGS_DIMENSION: "embedding",
        A.GEN_AI_DATA_SOURCE_ID: "retrieval",
        A.GEN_AI_RETRIEVAL_QUERY: "retrieval",
        A.GEN_AI_RETRIEVAL_DOCUMENTS: "retrieval",
        **dict.fromkeys(GUARD_KEYS, "guardrail"),
    },
)
