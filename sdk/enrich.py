"""Attribute sets for span updates: kind, model, usage, cost, content, session, tags, metadata.

Every helper (observe, observation.update, update_current_span, fallback, guardrail, structured
output) builds its attributes here, so each fact has one key, taken from `schemas.attributes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import OPENINFERENCE_KIND, OTEL_OPERATION, SpanKind

from .capture import to_json
from .diagnostics import internal_error, log_once
from .messages import to_documents, to_input_messages, to_output_messages
from .state import STATE

Attributes = dict[str, AttributeValue]


def parse_kind(kind: SpanKind | str) -> SpanKind:
    """`kind` as a SpanKind; unknown values fall back to SPAN (logged once)."""
    if isinstance(kind, SpanKind):
        return kind
    try:
        return SpanKind(str(kind).lower())
    except ValueError:
        log_once(f"kind:{kind}", "spanscope: unknown span kind %r, using 'span'", kind)
        return SpanKind.SPAN


def kind_attributes(kind: SpanKind | str, name: str | None = None) -> Attributes:
    """Our kind, the OpenInference kind and the OTel GenAI operation (when one exists) for `kind`."""
    parsed = parse_kind(kind)
    attrs: Attributes = {A.SS_SPAN_KIND: parsed.value}
    if parsed is not SpanKind.SPAN:  # OpenInference's UNKNOWN says nothing that absence does not
        attrs[A.OI_SPAN_KIND] = OPENINFERENCE_KIND[parsed]
    operation = OTEL_OPERATION[parsed]
    if operation is not None:
        attrs[A.GEN_AI_OPERATION_NAME] = operation
    if name:
        if parsed is SpanKind.TOOL:
            attrs[A.GEN_AI_TOOL_NAME] = name
        elif parsed is SpanKind.AGENT:
            attrs[A.GEN_AI_AGENT_NAME] = name
        elif parsed is SpanKind.CHAIN:
            attrs[A.GEN_AI_WORKFLOW_NAME] = name
    return attrs


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def usage_attributes(usage: Any) -> Attributes:
    """Token counts from a provider usage object or dict (OpenAI, Anthropic, or our own key names).

    OTel counts cached tokens inside `input_tokens`; Anthropic reports them apart, so they are
    added back when the usage has Anthropic's cache fields.
    """
    attrs: Attributes = {}
    if usage is None:
        return attrs
    input_tokens = _int(_get(usage, "input_tokens", "prompt_tokens"))
    output_tokens = _int(_get(usage, "output_tokens", "completion_tokens"))
    cache_read = _int(_get(usage, "cache_read_tokens", "cache_read_input_tokens"))
    cache_write = _int(_get(usage, "cache_write_tokens", "cache_creation_input_tokens"))
    if cache_read is None:
        cache_read = _int(_get(_get(usage, "prompt_tokens_details", "input_tokens_details"), "cached_tokens"))
    reasoning = _int(_get(usage, "reasoning_tokens"))
    if reasoning is None:
        details = _get(usage, "completion_tokens_details", "output_tokens_details")
        reasoning = _int(_get(details, "reasoning_tokens")) if details is not None else None
    anthropic_style = _get(usage, "cache_read_input_tokens", "cache_creation_input_tokens") is not None
    if anthropic_style and input_tokens is not None:
        input_tokens += (cache_read or 0) + (cache_write or 0)
    total = _int(_get(usage, "total_tokens"))
    if input_tokens is not None:
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    if total is not None:
        attrs[A.GEN_AI_USAGE_TOTAL_TOKENS] = total
    if cache_read is not None:
        attrs[A.GEN_AI_USAGE_CACHE_READ] = cache_read
    if cache_write is not None:
        attrs[A.GEN_AI_USAGE_CACHE_WRITE] = cache_write
    if reasoning is not None:
        attrs[A.GEN_AI_USAGE_REASONING] = reasoning
    return attrs


def attribute_value(value: Any) -> AttributeValue:
    """`value` as an OTel attribute value: primitives and homogeneous primitive lists as they are,
    anything else as JSON text."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and value:
        first = type(value[0])
        if first in (str, bool, int, float) and all(type(item) is first for item in value):
            return list(value)
    return to_json(value, STATE.max_chars)


REQUEST_PARAMETERS: dict[str, str] = {
    "temperature": A.GEN_AI_REQUEST_TEMPERATURE,
    "max_tokens": A.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": A.GEN_AI_REQUEST_MAX_TOKENS,
    "max_output_tokens": A.GEN_AI_REQUEST_MAX_TOKENS,
    "top_p": A.GEN_AI_REQUEST_TOP_P,
    "top_k": A.GEN_AI_REQUEST_TOP_K,
    "seed": A.GEN_AI_REQUEST_SEED,
    "stop": A.GEN_AI_REQUEST_STOP_SEQUENCES,
    "stop_sequences": A.GEN_AI_REQUEST_STOP_SEQUENCES,
    "frequency_penalty": A.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": A.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "stream": A.GEN_AI_REQUEST_STREAM,
}


def parameter_attributes(parameters: Mapping[str, Any]) -> Attributes:
    """Request parameters as `gen_ai.request.*`; names without a standard key go, together, into
    OpenInference's `llm.invocation_parameters` JSON."""
    attrs: Attributes = {}
    others: dict[str, Any] = {}
    for name, value in parameters.items():
        key = REQUEST_PARAMETERS.get(str(name))
        if key is None or value is None:
            if value is not None:
                others[str(name)] = value
            continue
        if key == A.GEN_AI_REQUEST_STOP_SEQUENCES:
            attrs[key] = [value] if isinstance(value, str) else [str(item) for item in value]
        else:
            attrs[key] = attribute_value(value)
    if others:
        attrs[A.OI_LLM_INVOCATION_PARAMETERS] = to_json(others, STATE.max_chars)
    return attrs


def session_attributes(
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Attributes:
    attrs: Attributes = {}
    if session_id is not None:
        attrs[A.GEN_AI_CONVERSATION_ID] = str(session_id)
        attrs[A.SESSION_ID] = str(session_id)
    if user_id is not None:
        attrs[A.USER_ID] = str(user_id)
    if tags is not None:
        attrs[A.SS_TAGS] = [str(tag) for tag in tags]
    if metadata:
        for key, value in metadata.items():
            attrs[A.SS_METADATA_PREFIX + str(key)] = attribute_value(value)
    return attrs


class SpanUpdate(TypedDict, total=False):
    """What `update_current_span` and `Observation.update` take; a missing key or None leaves the
    span as it is. Defined once here so the two entry points and the attribute mapping agree."""

    name: str | None
    kind: SpanKind | str | None
    input: Any
    output: Any
    model: str | None
    response_model: str | None
    response_id: str | None
    provider: str | None
    input_messages: Any
    output_messages: Any
    documents: Any
    usage: Any
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None
    parameters: Mapping[str, Any] | None
    finish_reasons: Iterable[str] | None
    session_id: str | None
    user_id: str | None
    tags: Iterable[str] | None
    metadata: Mapping[str, Any] | None
    prompt_name: str | None
    prompt_version: str | int | None
    attributes: Mapping[str, Any] | None


UPDATE_KEYS = frozenset(SpanUpdate.__annotations__)


def update_attributes(facts: SpanUpdate) -> Attributes:
    """The attributes for the given facts (`name` is not an attribute and is ignored). Content obeys
    capture settings and the mask."""
    kind = facts.get("kind")
    input = facts.get("input")
    output = facts.get("output")
    input_messages = facts.get("input_messages")
    output_messages = facts.get("output_messages")
    documents = facts.get("documents")
    model = facts.get("model")
    response_model = facts.get("response_model")
    response_id = facts.get("response_id")
    provider = facts.get("provider")
    usage = facts.get("usage")
    cost = facts.get("cost")
    parameters = facts.get("parameters")
    finish_reasons = facts.get("finish_reasons")
    prompt_name = facts.get("prompt_name")
    prompt_version = facts.get("prompt_version")
    attributes = facts.get("attributes")
    attrs: Attributes = {}
    if kind is not None:
        attrs.update(kind_attributes(kind))
    state = STATE
    if input is not None and state.capture_input:
        text, mime = state.render(input)
        attrs[A.OI_INPUT_VALUE] = text
        attrs[A.OI_INPUT_MIME] = mime
    if output is not None and state.capture_output:
        text, mime = state.render(output)
        attrs[A.OI_OUTPUT_VALUE] = text
        attrs[A.OI_OUTPUT_MIME] = mime
    if input_messages is not None and state.capture_input:
        attrs[A.GEN_AI_INPUT_MESSAGES] = state.render_json(to_input_messages(input_messages))
    if output_messages is not None and state.capture_output:
        attrs[A.GEN_AI_OUTPUT_MESSAGES] = state.render_json(to_output_messages(output_messages))
    if documents is not None and state.capture_output:
        attrs[A.GEN_AI_RETRIEVAL_DOCUMENTS] = state.render_json(to_documents(documents))
    if model is not None:
        attrs[A.GEN_AI_REQUEST_MODEL] = str(model)
    if response_model is not None:
        attrs[A.GEN_AI_RESPONSE_MODEL] = str(response_model)
    if response_id is not None:
        attrs[A.GEN_AI_RESPONSE_ID] = str(response_id)
    if provider is not None:
        attrs[A.GEN_AI_PROVIDER_NAME] = str(provider)
    if usage is not None:
        attrs.update(usage_attributes(usage))
    for key, fact in (
        (A.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
        (A.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"),
        (A.GEN_AI_USAGE_TOTAL_TOKENS, "total_tokens"),
        (A.GEN_AI_USAGE_CACHE_READ, "cache_read_tokens"),
        (A.GEN_AI_USAGE_CACHE_WRITE, "cache_write_tokens"),
        (A.GEN_AI_USAGE_REASONING, "reasoning_tokens"),
    ):
        value = _int(facts.get(fact))
        if value is not None:
            attrs[key] = value
    if cost is not None:
        try:
            attrs[A.GEN_AI_USAGE_COST] = float(cost)
        except (TypeError, ValueError):
            log_once("update:cost", "spanscope: cost %r is not a number; ignored", cost)
    if parameters:
        attrs.update(parameter_attributes(parameters))
    if finish_reasons is not None:
        attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = [str(reason) for reason in finish_reasons]
    attrs.update(
        session_attributes(facts.get("session_id"), facts.get("user_id"), facts.get("tags"), facts.get("metadata"))
    )
    if prompt_name is not None:
        attrs[A.GEN_AI_PROMPT_NAME] = str(prompt_name)
    if prompt_version is not None:
        attrs[A.GEN_AI_PROMPT_VERSION] = str(prompt_version)
    if attributes:
        for key, value in attributes.items():
            attrs[str(key)] = attribute_value(value)
    return attrs


def apply_update(span: Span, **facts: Unpack[SpanUpdate]) -> None:
    """Set `facts` on `span`. Never raises: an unknown key is logged once and ignored."""
    try:
        unknown = facts.keys() - UPDATE_KEYS
        if unknown:
            log_once(
                "update:unknown:" + ",".join(sorted(unknown)),
                "spanscope: unknown span update keys %s ignored (known: %s)",
                sorted(unknown),
                ", ".join(sorted(UPDATE_KEYS)),
            )
        if not span.is_recording():
            return
        name = facts.get("name")
        if name:
            span.update_name(name)
        attrs = update_attributes(facts)
        if attrs:
            span.set_attributes(attrs)
    except Exception as exc:
        internal_error("span update", exc)
