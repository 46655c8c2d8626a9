"""Span events: content events, exceptions, vector-db results and guardrail results.

- Content events (`gen_ai.{system,user,assistant,tool}.message`, `gen_ai.choice`,
  `gen_ai.client.inference.operation.details`, 2024's `gen_ai.content.prompt/completion`) give the
  messages when the span's attributes had none; they are consumed (not kept in `events`).
- `exception` / `gen_ai.client.operation.exception`: `exception.type` → error_type when the span
  has no `error.type`; `exception.message` → status_message of ERROR spans without one. Kept.
- Traceloop `db.query.result` events → documents (consumed).
- `gen_ai.guardrail.result` / OpenLIT `guard.evaluation` → guardrail columns (consumed).
Other events are kept as they are.
"""

from __future__ import annotations

from typing import Any

from spanscope.collector.otlp import SpanEvent
from spanscope.schemas import attributes as A

from . import documents, messages, openlit, otel_genai
from .canon import to_text

_EXCEPTIONS = frozenset({A.EXCEPTION_EVENT, A.GEN_AI_EVENT_OPERATION_EXCEPTION})


def scan(events: list[SpanEvent], f: dict[str, Any], row: dict[str, Any]) -> tuple[list[SpanEvent], str]:
    """Applies the events to the span's facts and row; returns the events to keep and the first
    exception message."""
    kept: list[SpanEvent] = []
    content: messages.EventContent | None = None
    docs: list[dict[str, Any]] | None = None
    exc_message = ""
    for ev in events:
        name = ev.name
        if name in messages.CONTENT_EVENTS:
            if content is None:
                content = messages.EventContent()
            if content.add(name, ev.attributes):
                continue
        elif name in _EXCEPTIONS:
            attrs = ev.attributes
            if "error_type" not in row:
                t = attrs.get(A.EXCEPTION_TYPE)
                if t:
                    row["error_type"] = to_text(t)
            if not exc_message:
                m = attrs.get(A.EXCEPTION_MESSAGE)
                if m:
                    exc_message = to_text(m)
        elif name == A.TL_EVENT_DB_QUERY_RESULT:
            if docs is None:
                docs = []
            docs.append(documents.from_db_query_result(ev.attributes))
            continue
        elif name == A.GEN_AI_EVENT_GUARDRAIL_RESULT:
            otel_genai.guard(dict(ev.attributes), f, row)
            continue
        elif name == A.OPENLIT_EVENT_GUARD_EVALUATION:
            openlit.guard(dict(ev.attributes), f, row)
            continue
        kept.append(ev)
    if content is not None:
        msgs_in, msgs_out, reasons = content.finish()
        if msgs_in and "input_messages" not in f:
            f["input_messages"] = msgs_in
        if msgs_out and "output_messages" not in f:
            f["output_messages"] = msgs_out
        if reasons and "finish_reasons" not in row:
            row["finish_reasons"] = reasons
    if docs:
        if "documents" not in f:
            f["documents"] = docs
        f["hint_retrieval"] = True
    return kept, exc_message
