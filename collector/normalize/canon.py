"""Value helpers and converters shared by the dialect modules, and the names of span *facts*.

Dialect stages write two things: row columns (into the row dict, under the column's name) and
*facts*, intermediate values that assembly turns into columns (into a plain dict `f`):

    ss_kind, oi_kind, operation, tl_kind, request_type     kind / operation hints
    provider, request_model, response_model, llm_model,    model and provider candidates
    embedding_model, reranker_model, invocation_model
    cost, cost_input, cost_output                          span-provided cost (USD)
    input_messages, output_messages, system_message        canonical messages (see messages.py)
    raw_in, raw_out                                        raw content: [(key, text, generic)]
    oi_messages_in, oi_messages_out                        messages came from OpenInference keys
    documents                                              canonical documents (documents.py)
    metadata                                               {key: text} → attributes metadata.<key>
    fb_attempt, fb_attempts, fb_used, fb_degraded,         our SDK's fallback facts
    fb_requested_model
    hint_guardrail, hint_retrieval, hint_embedding,        kind heuristics found at run time
    hint_tool

A converter turns an attribute value into the stored value, or None when the value is unusable:
then the key is not consumed and stays in `attributes`.
"""

from __future__ import annotations

from typing import Any

import orjson
from spanscope.schemas.kinds import SpanKind

from . import guardrail

_UINT64_MAX = (1 << 64) - 1
_INF = float("inf")


def to_text(v: Any) -> str:
    """A string value as it is; anything else as compact JSON."""
    if type(v) is str:
        return v
    if v is None:
        return ""
    try:
        return orjson.dumps(v).decode()
    except TypeError:
        return str(v)


def attr_text(v: Any) -> str:
    """An attribute value for the `attributes` map (strings as they are, the rest as JSON)."""
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    if t is float and v == v and v != _INF and v != -_INF:
        return repr(v)
    return to_text(v)


def to_count(v: Any) -> int | None:
    """A token count: a non-negative int, or None when `v` is not a number."""
    t = type(v)
    if t is int:
        n = v
    elif t is float:
        if v != v or v in (_INF, -_INF):
            return None
        n = int(v)
    elif t is str:
        try:
            n = int(v)
        except ValueError:
            try:
                n = int(float(v))
            except (ValueError, OverflowError):
                return None
    else:
        return None
    if n < 0:
        return 0
    return n if n <= _UINT64_MAX else _UINT64_MAX


def to_float(v: Any) -> float | None:
    t = type(v)
    if t is float:
        return v if v == v and v != _INF and v != -_INF else None
    if t is int:
        return float(v)
    if t is str:
        try:
            f = float(v)
        except ValueError:
            return None
        return f if f == f and f != _INF and f != -_INF else None
    return None


_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


def to_bool(v: Any) -> bool | None:
    t = type(v)
    if t is bool:
        return bool(v)
    if t is int or t is float:
        return bool(v != 0)
    if t is str:
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    return None


def to_str_list(v: Any) -> list[str]:
    """A list of strings from a list, a JSON array string, or a comma-separated string."""
    if v is None:
        return []
    if isinstance(v, list):
        return [x if type(x) is str else to_text(x) for x in v if x is not None and x != ""]
    if type(v) is str:
        s = v.strip()
        if not s:
            return []
        if s[0] == "[":
            try:
                parsed = orjson.loads(s)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return to_str_list(parsed)
        return [p.strip() for p in s.split(",") if p.strip()]
    return [to_text(v)]


def loads_maybe(v: Any) -> Any:
    """Parses a JSON object or array held in a string; other values are returned unchanged."""
    if type(v) is str and v[:1] in ("{", "["):
        try:
            return orjson.loads(v)
        except orjson.JSONDecodeError:
            return v
    return v


def add_raw(f: dict[str, Any], side: str, key: str, value: Any, generic: bool = False) -> None:
    """Appends a raw content value (`side` is "raw_in" or "raw_out") in priority order."""
    if value is None or value == "":
        return
    item = (key, value if type(value) is str else to_text(value), generic)
    lst = f.get(side)
    if lst is None:
        f[side] = [item]
    else:
        lst.append(item)


# --- converters (value → stored value, None = unusable) ---------------------------------------------


def text(v: Any) -> str | None:
    if type(v) is str:
        return v or None
    if v is None:
        return None
    return to_text(v)


def lower_text(v: Any) -> str | None:
    s = text(v)
    return s.strip().lower() if s else None


def upper_text(v: Any) -> str | None:
    s = text(v)
    return s.strip().upper() if s else None


def ms_from_s(v: Any) -> float | None:
    f = to_float(v)
    return None if f is None else f * 1000.0


def str_list(v: Any) -> list[str] | None:
    if type(v) is list:
        out = [x if type(x) is str else to_text(x) for x in v if x is not None and x != ""]
        return out or None
    return to_str_list(v) or None


def flag(v: Any) -> int | None:
    b = to_bool(v)
    return None if b is None else int(b)


def small_count(v: Any) -> int | None:
    """A count for a UInt16 column."""
    n = to_count(v)
    return None if n is None else min(n, 65535)


KINDS = frozenset(k.value for k in SpanKind)


def span_kind(v: Any) -> str | None:
    s = lower_text(v)
    return s if s in KINDS else None


def verdict(v: Any) -> str | None:
    return guardrail.verdict(v) or None


def stage(v: Any) -> str | None:
    return guardrail.stage(v) or None


# --- provider names ---------------------------------------------------------------------------------

_PROVIDERS = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure_openai": "azure",
    "azure openai": "azure",
    "azureopenai": "azure",
    "azure.ai.inference": "azure",
    "azure_ai": "azure",
    "azure": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "bedrock",
    "aws_bedrock": "bedrock",
    "bedrock": "bedrock",
    "aws": "bedrock",
    "amazon": "bedrock",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "vertex": "google",
    "google": "google",
    "google_genai": "google",
    "google.genai": "google",
    "gemini": "google",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral ai": "mistral",
    "mistral": "mistral",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
    "x_ai": "xai",
    "xai": "xai",
    "x.ai": "xai",
    "ibm.watsonx.ai": "ibm",
    "watsonx": "ibm",
    "ibm": "ibm",
    "ollama": "ollama",
    "together_ai": "together",
    "together": "together",
    "togetherai": "together",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "huggingface": "huggingface",
    "hugging_face": "huggingface",
    "openrouter": "openrouter",
}
_provider_memo: dict[str, str] = {}


def provider(v: Any) -> str | None:
    """Provider names in one spelling: openai, anthropic, azure, bedrock, google, mistral, cohere,
    deepseek, groq, xai, ibm, ...; unknown names lower-cased with spaces as underscores."""
    if type(v) is not str or not v:
        return None
    hit = _provider_memo.get(v)
    if hit is None:
        s = v.strip().lower()
        hit = _PROVIDERS.get(s) or s.replace(" ", "_")
        if len(_provider_memo) < 4096:
            _provider_memo[v] = hit
    return hit or None

