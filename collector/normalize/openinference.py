"""OpenInference (Arize Phoenix) keys.

Indexed keys (`llm.input_messages.<i>.message.*`, `llm.output_messages...`, `llm.prompts...`,
`llm.choices...`, `retrieval.documents.<i>.document.*`, `reranker.output_documents...`) are parsed
only when present. `input.value` / `output.value` are the raw request and response: they become the
column only when no messages were found, and are dropped when OpenInference messages were (they
repeat them); a raw OpenAI request/response body there is parsed into messages for an LLM span.
`llm.invocation_parameters` stays in `attributes`; its `model` is the requested model. The
`metadata` JSON object becomes `metadata.<k>` attributes.
"""

from __future__ import annotations

from typing import Any

import orjson
from spanscope.schemas import attributes as A

from . import documents, messages
from .canon import add_raw, loads_maybe, provider, str_list, text, to_count, to_float, to_text, upper_text
from .rules import Dialect, Handler, column, cost_parts, fact

_IN = A.OI_INPUT_MESSAGES_PREFIX
_OUT = A.OI_OUTPUT_MESSAGES_PREFIX
_PROMPTS = A.OI_PROMPTS_PREFIX
_CHOICES = A.OI_CHOICES_PREFIX
_DOCS = A.OI_RETRIEVAL_DOCUMENTS_PREFIX
_RERANKED = A.OI_RERANKER_OUTPUT_DOCUMENTS_PREFIX


def _invocation_model(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    if "request_model" in f:
        return
    params = rest.get(A.OI_LLM_INVOCATION_PARAMETERS)
    if params is None:
        params = rest.get(A.OI_EMBEDDING_INVOCATION_PARAMETERS)
    p = loads_maybe(params)
    if isinstance(p, dict) and isinstance(p.get("model"), str) and p["model"]:
        f["invocation_model"] = p["model"]


def _metadata(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    md = loads_maybe(rest[A.OI_METADATA])
    if not isinstance(md, dict):
        return
    del rest[A.OI_METADATA]
    out = f.get("metadata")
    if out is None:
        out = f["metadata"] = {}
    for k, v in md.items():
        out.setdefault(str(k), to_text(v))


def _prepare_messages(keys: tuple[str, ...]) -> dict[str, messages.IndexedKeys]:
    groups: dict[str, messages.IndexedKeys] = {}
    for prefix in (_IN, _OUT, _PROMPTS, _CHOICES):
        parsed = messages.parse_indexed(prefix, keys)
        if parsed:
            groups[prefix] = parsed
    return groups


def _messages(
    rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], groups: dict[str, messages.IndexedKeys]
) -> None:
    if "input_messages" not in f:
        if _IN in groups:
            f["input_messages"] = messages.from_openinference(messages.take_parsed(rest, groups[_IN]), "user")
            f["oi_messages_in"] = True
        elif _PROMPTS in groups:
            found = messages.take_parsed(rest, groups[_PROMPTS])
            f["input_messages"] = messages.from_texts(found, "prompt.text", "user")
            f["oi_messages_in"] = True
    if "output_messages" not in f:
        if _OUT in groups:
            found = messages.take_parsed(rest, groups[_OUT])
            f["output_messages"] = messages.from_openinference(found, "assistant")
            f["oi_messages_out"] = True
        elif _CHOICES in groups:
            found = messages.take_parsed(rest, groups[_CHOICES])
            f["output_messages"] = messages.from_texts(found, "completion.text", "assistant")
            f["oi_messages_out"] = True


def _content(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    prompts = rest.get(A.OI_LLM_PROMPTS)
    if isinstance(prompts, list) and "input_messages" not in f:
        f["input_messages"] = [messages.make("user", to_text(p)) for p in pop(A.OI_LLM_PROMPTS)]
        f["oi_messages_in"] = True
    add_raw(f, "raw_in", A.OI_RERANKER_QUERY, pop(A.OI_RERANKER_QUERY, None))
    add_raw(f, "raw_in", A.OI_INPUT_VALUE, pop(A.OI_INPUT_VALUE, None), generic=True)
    add_raw(f, "raw_out", A.OI_OUTPUT_VALUE, pop(A.OI_OUTPUT_VALUE, None), generic=True)


def _prepare_documents(keys: tuple[str, ...]) -> messages.IndexedKeys:
    reranked = messages.parse_indexed(_RERANKED, keys)
    return reranked or messages.parse_indexed(_DOCS, keys)


def _documents(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], parsed: messages.IndexedKeys) -> None:
    docs = documents.from_openinference(messages.take_parsed(rest, parsed))
    if docs and "documents" not in f:
        f["documents"] = docs


DIALECT: Dialect = Dialect(
    "openinference",
    rules=(
        fact("oi_kind", (A.OI_SPAN_KIND,), upper_text),
        fact("provider", (A.OI_LLM_PROVIDER, A.OI_LLM_SYSTEM), provider),
        fact("request_model", (A.OI_LLM_REQUEST_MODEL,), text),
        fact("response_model", (A.OI_LLM_RESPONSE_MODEL,), text),
        fact("llm_model", (A.OI_LLM_MODEL_NAME,), text),
        fact("embedding_model", (A.OI_EMBEDDING_MODEL_NAME,), text),
        fact("reranker_model", (A.OI_RERANKER_MODEL_NAME,), text),
        column("input_tokens", (A.OI_TOKEN_PROMPT,), to_count),
        column("output_tokens", (A.OI_TOKEN_COMPLETION,), to_count),
        column("total_tokens", (A.OI_TOKEN_TOTAL,), to_count),
        column("cache_read_tokens", (A.OI_TOKEN_CACHE_READ,), to_count),
        column("cache_write_tokens", (A.OI_TOKEN_CACHE_WRITE,), to_count),
        column("reasoning_tokens", (A.OI_TOKEN_REASONING,), to_count),
        fact("cost", (A.OI_COST_TOTAL,), to_float),
        column("finish_reasons", (A.OI_LLM_FINISH_REASON,), str_list),
        column("session_id", (A.OI_SESSION_ID,), text),
        column("user_id", (A.OI_USER_ID,), text),
        column("tags", (A.OI_TAGS,), str_list),
        column("prompt_version", (A.OI_PROMPT_TEMPLATE_VERSION,), text),
        column("prompt_name", (A.OI_PROMPT_ID,), text),
    ),
    handlers=(
        Handler(
            _invocation_model,
            frozenset({A.OI_LLM_INVOCATION_PARAMETERS, A.OI_EMBEDDING_INVOCATION_PARAMETERS}),
        ),
        cost_parts(A.OI_COST_PROMPT, A.OI_COST_COMPLETION),
        Handler(_metadata, frozenset({A.OI_METADATA})),
        Handler(_messages, prefixes=(_IN, _OUT, _PROMPTS, _CHOICES), indexed=True, prepare=_prepare_messages),
        Handler(_content, frozenset({A.OI_INPUT_VALUE, A.OI_OUTPUT_VALUE, A.OI_RERANKER_QUERY, A.OI_LLM_PROMPTS})),
        Handler(_documents, prefixes=(_DOCS, _RERANKED), indexed=True, prepare=_prepare_documents),
    ),
    hints={A.OI_TOOL_NAME: "tool", A.OI_EMBEDDING_MODEL_NAME: "embedding"},
    hint_prefixes=((_DOCS, "retrieval"),),
)


# --- raw OpenAI bodies in input.value / output.value -----------------------------------------------


def openai_response_messages(raw: str) -> tuple[list[dict[str, Any]], list[str]] | None:
    """Output messages and finish reasons from a raw OpenAI chat/completions response body."""
    if '"choices"' not in raw:
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices:
        return None
    out: list[dict[str, Any]] = []
    reasons: list[str] = []
    for ch in sorted((x for x in choices if isinstance(x, dict)), key=lambda x: x.get("index") or 0):
        if isinstance(ch.get("message"), dict):
            msg, _ = messages.from_message(ch["message"], "assistant")
        elif "text" in ch:
            msg = messages.make("assistant", to_text(ch["text"]))
        else:
            continue
        out.append(msg)
        fr = ch.get("finish_reason")
        if type(fr) is str and fr:
            reasons.append(fr)
    return (out, reasons) if out else None


def openai_request_messages(raw: str) -> list[dict[str, Any]] | None:
    """Input messages from a raw OpenAI request body (`{"messages": [...]}` or `{"prompt": ...}`)."""
    if '"messages"' not in raw and '"prompt"' not in raw:
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("messages"), list):
        return messages.from_list(body["messages"], "user")[0] or None
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [messages.make("user", prompt)]
    return None
