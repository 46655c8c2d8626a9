"""Attributes that every span started inside a block carries: session, user, tags, metadata.

    with spanscope.propagate_attributes(session_id="s-1", user_id="u-7", tags=["beta"]):
        answer(question)      # this span, its children, and spans of other instrumentations

The values live in the OpenTelemetry context, so they follow the context into child spans, async
tasks and threads that copy the context. A span processor stamps them on each span as it starts;
the span that is current when the block is entered gets them too. Nested blocks merge (tags are
united, inner values win).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Span, SpanProcessor
from spanscope.schemas.attributes import SS_TAGS

from .diagnostics import internal_error
from .enrich import Attributes, session_attributes

_KEY = otel_context.create_key("spanscope-propagated-attributes")


def current_propagated() -> Attributes:
    value = otel_context.get_value(_KEY)
    return dict(value) if isinstance(value, dict) else {}


@contextmanager
def propagate_attributes(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Stamp session, user, tags and metadata on every span started inside the block."""
    token = None
    try:
        merged = current_propagated()
        added = session_attributes(session_id, user_id, tags, metadata)
        if SS_TAGS in added and SS_TAGS in merged:
            old = list(merged[SS_TAGS])  # type: ignore[arg-type]
            added[SS_TAGS] = old + [tag for tag in added[SS_TAGS] if tag not in old]  # type: ignore[union-attr]
        merged.update(added)
        current = trace.get_current_span()
        if added and current.is_recording():
            current.set_attributes(added)
        token = otel_context.attach(otel_context.set_value(_KEY, merged))
    except Exception as exc:
        internal_error("propagate_attributes", exc)
    try:
        yield
    finally:
        if token is not None:
            otel_context.detach(token)


class PropagatedAttributesProcessor(SpanProcessor):
    """Sets the propagated attributes on each span when it starts (any instrumentation's span)."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        attrs = otel_context.get_value(_KEY, parent_context)
        if attrs:
            try:
                span.set_attributes(attrs)  # type: ignore[arg-type]
            except Exception as exc:
                internal_error("propagated attributes", exc)
