"""Traceloop OpenLLMetry keys (the `gen_ai.*` names it shares with OTel are read by `otel_genai`).

- kind hints `traceloop.span.kind` and `llm.request.type`;
- legacy indexed content `gen_ai.prompt.<i>.*` / `gen_ai.completion.<i>.*` (with tool calls and
  finish reasons);
- `traceloop.entity.input/output` (and `gen_ai.task.input/output`) as raw content;
- `traceloop.association.properties.{session_id,user_id}`; the other association properties
  become metadata (`metadata.<k>` in attributes);
- `traceloop.prompt.key/version`, old total/reasoning token keys and `llm.request.model`.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from . import messages
from .canon import add_raw, lower_text, text, to_count, to_text
from .rules import Dialect, Handler, column, fact

_P = A.GEN_AI_PROMPT_PREFIX
_C = A.GEN_AI_COMPLETION_PREFIX
_ASSOC = A.TL_ASSOCIATION_PREFIX
_ASSOC_LEN = len(_ASSOC)


def _prepare_legacy(keys: tuple[str, ...]) -> tuple[messages.IndexedKeys, messages.IndexedKeys]:
    return messages.parse_indexed(_P, keys), messages.parse_indexed(_C, keys)


def _legacy(
    rest: dict[str, Any],
    f: dict[str, Any],
    row: dict[str, Any],
    parsed: tuple[messages.IndexedKeys, messages.IndexedKeys],
) -> None:
    prompt_keys, completion_keys = parsed
    if prompt_keys and "input_messages" not in f:
        f["input_messages"] = messages.from_legacy_indexed(messages.take_parsed(rest, prompt_keys), "user")[0]
    if completion_keys and "output_messages" not in f:
        msgs, reasons = messages.from_legacy_indexed(messages.take_parsed(rest, completion_keys), "assistant")
        f["output_messages"] = msgs
        if reasons and "finish_reasons" not in row:
            row["finish_reasons"] = reasons


def _content(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    add_raw(f, "raw_in", A.TL_ENTITY_INPUT, pop(A.TL_ENTITY_INPUT, None))
    add_raw(f, "raw_out", A.TL_ENTITY_OUTPUT, pop(A.TL_ENTITY_OUTPUT, None))
    add_raw(f, "raw_in", A.TL_TASK_INPUT, pop(A.TL_TASK_INPUT, None))
    add_raw(f, "raw_out", A.TL_TASK_OUTPUT, pop(A.TL_TASK_OUTPUT, None))


def _association(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    md = f.get("metadata")
    if md is None:
        md = f["metadata"] = {}
    for k in keys:
        if k in rest:
            md.setdefault(k[_ASSOC_LEN:], to_text(rest.pop(k)))


DIALECT: Dialect = Dialect(
    "traceloop",
    rules=(
        fact("tl_kind", (A.TL_SPAN_KIND,), lower_text),
        fact("request_type", (A.TL_LLM_REQUEST_TYPE,), lower_text),
        fact("request_model", (A.TL_LLM_REQUEST_MODEL_OLD,), text),
        column("total_tokens", (A.TL_LLM_USAGE_TOTAL,), to_count),
        column("reasoning_tokens", (A.TL_LLM_USAGE_REASONING,), to_count),
        column("prompt_name", (A.TL_PROMPT_KEY,), text),
        column("prompt_version", (A.TL_PROMPT_VERSION,), text),
        column("session_id", (A.TL_ASSOCIATION_SESSION_ID,), text),
        column("user_id", (A.TL_ASSOCIATION_USER_ID,), text),
    ),
    handlers=(
        Handler(_legacy, prefixes=(_P, _C), indexed=True, prepare=_prepare_legacy),
        Handler(_content, frozenset({A.TL_ENTITY_INPUT, A.TL_ENTITY_OUTPUT, A.TL_TASK_INPUT, A.TL_TASK_OUTPUT})),
        Handler(_association, prefixes=(_ASSOC,)),
    ),
    hints={A.DB_VECTOR_QUERY_TOP_K: "retrieval"},
)
