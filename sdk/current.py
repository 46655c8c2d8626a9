"""The current span and trace: ids, and updates from anywhere inside traced code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar, Unpack

from opentelemetry import context as otel_context
from opentelemetry import trace

from .enrich import SpanUpdate, apply_update

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


def update_current_span(**facts: Unpack[SpanUpdate]) -> None:
    """Set facts on the current span (ours or another instrumentation's); see `Observation.update`.

    A no-op outside a recording span. Never raises.
    """
    apply_update(trace.get_current_span(), **facts)
