"""The current span and trace: ids, and updates from anywhere inside traced code."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from spanscope.schemas.kinds import SpanKind

from .enrich import apply_update

P = ParamSpec("P")
R = TypeVar("R")


def with_current_context(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` bound to the current OpenTelemetry context, to run in another thread.

    asyncio tasks inherit the context by themselves; threads do not. Wrap what you hand to a
    thread or executor so the spans it creates nest under the current span:

        pool.submit(spanscope.with_current_context(retrieve), query)
    """
    captured = otel_context.get_current()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = otel_context.attach(captured)
        try:
            return fn(*args, **kwargs)
        finally:
            otel_context.detach(token)

    return run


def get_current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def get_current_span_id() -> str | None:
    """The current span id as 16 hex digits, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None


def update_current_span(
    *,
    name: str | None = None,
    kind: SpanKind | str | None = None,
    input: Any = None,
    output: Any = None,
    model: str | None = None,
    response_model: str | None = None,
    response_id: str | None = None,
    provider: str | None = None,
    input_messages: Any = None,
    output_messages: Any = None,
    documents: Any = None,
    usage: Any = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    total_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    cost: float | None = None,
    parameters: Mapping[str, Any] | None = None,
    finish_reasons: Iterable[str] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    prompt_name: str | None = None,
    prompt_version: str | int | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """Set facts on the current span (ours or another instrumentation's); see `Observation.update`.

    A no-op outside a recording span. Never raises.
    """
    apply_update(
        trace.get_current_span(),
        name=name,
        kind=kind,
        input=input,
        output=output,
        model=model,
        response_model=response_model,
        response_id=response_id,
        provider=provider,
        input_messages=input_messages,
        output_messages=output_messages,
        documents=documents,
        usage=usage,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        cost=cost,
        parameters=parameters,
        finish_reasons=finish_reasons,
        session_id=session_id,
        user_id=user_id,
        tags=tags,
        metadata=metadata,
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        attributes=attributes,
    )
