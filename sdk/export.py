"""The export path: a bounded batch processor that counts what it drops, and a guarded exporter.

`SpanscopeSpanProcessor` is OpenTelemetry's `BatchSpanProcessor` (bounded queue, background
thread) plus: spans that find the queue full are dropped at once and counted, spans ended after
shutdown are counted, and the drop is logged once instead of per span.

`GuardedExporter` wraps the real exporter (OTLP/HTTP by default): it counts exported and failed
spans, logs the first failure, adds our resource attributes (project, environment, release) when
we share an application's TracerProvider whose resource lacks them, and, once shutdown has begun
and the collector has already failed, drops the remaining batches instead of waiting for each one
to time out, so a process exits promptly with the collector down.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue
from spanscope.schemas.attributes import SERVICE_NAME

from .diagnostics import incr, internal_error, log_once


class GuardedExporter(SpanExporter):
    def __init__(
        self,
        inner: SpanExporter,
        resource_attributes: Mapping[str, AttributeValue] | None = None,
        target: str = "",
    ) -> None:
        self.inner = inner
        self._extra = dict(resource_attributes or {})
        self._target = target
        self._merged: dict[int, tuple[Resource, Resource]] = {}
        self.closing = False
        self.last_failed = False

    def _resource_for(self, resource: Resource) -> Resource:
        cached = self._merged.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        present = resource.attributes
        missing = {
            key: value
            for key, value in self._extra.items()
            if key not in present or (key == SERVICE_NAME and str(present[key]).startswith("unknown_service"))
        }
        merged = resource.merge(Resource(missing)) if missing else resource
        if len(self._merged) > 64:
            self._merged.clear()
        self._merged[id(resource)] = (resource, merged)
        return merged

    def _with_resource(self, spans: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
        out: list[ReadableSpan] = []
        for span in spans:
            resource = self._resource_for(span.resource)
            if resource is span.resource:
                out.append(span)
                continue
            out.append(
                ReadableSpan(
                    name=span.name,
                    context=span.context,
                    parent=span.parent,
                    resource=resource,
                    attributes=span.attributes,
                    events=span.events,
                    links=span.links,
                    kind=span.kind,
                    status=span.status,
                    start_time=span.start_time,
                    end_time=span.end_time,
                    instrumentation_scope=span.instrumentation_scope,
                )
            )
        return out

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        count = len(spans)
        if self.closing and self.last_failed:
            incr("spans_export_failed", count)
            return SpanExportResult.FAILURE
        try:
            batch = self._with_resource(spans) if self._extra else spans
            result = self.inner.export(batch)
        except Exception as exc:
            internal_error("span export", exc)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.last_failed = False
            incr("spans_exported", count)
        else:
            self.last_failed = True
            incr("spans_export_failed", count)
            log_once(
                "export:failed",
                "spanscope: could not export %d spans to %s; spans are dropped while it is unreachable",
                count,
                self._target or type(self.inner).__name__,
            )
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as exc:
            internal_error("exporter shutdown", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception as exc:
            internal_error("exporter flush", exc)
            return False


def _find_queue(processor: BatchSpanProcessor) -> collections.deque[object] | None:
    """The processor's internal queue (its location differs across OTel SDK versions)."""
    holder = getattr(processor, "_batch_processor", processor)
    for name in ("_queue", "queue"):
        queue = getattr(holder, name, None)
        if isinstance(queue, collections.deque):
            return queue
    return None


class SpanscopeSpanProcessor(BatchSpanProcessor):
    def __init__(
        self,
        exporter: GuardedExporter,
        *,
        max_queue_size: int = 2048,
        schedule_delay_millis: float = 1000,
        max_export_batch_size: int = 512,
        export_timeout_millis: float = 5000,
    ) -> None:
        super().__init__(
            exporter,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=min(max_export_batch_size, max_queue_size),
            export_timeout_millis=export_timeout_millis,
        )
        self.guard = exporter
        self.max_queue_size = max_queue_size
        self._ss_queue = _find_queue(self)
        if self._ss_queue is None:
            log_once(
                "export:queue",
                "spanscope: this OpenTelemetry SDK version hides its queue; drops are not counted",
            )
        self.closed = False
        self.retired = False  # replaced by a newer init(): later spans are the new processor's business

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return
        if self.closed:
            if not self.retired:
                incr("spans_dropped_after_shutdown")
            return
        queue = self._ss_queue
        if queue is not None and len(queue) >= self.max_queue_size:
            incr("spans_dropped_queue_full")
            log_once(
                "export:queue_full",
                "spanscope: span queue full (%d spans), dropping new spans until the exporter catches up",
                self.max_queue_size,
            )
            return
        super().on_end(span)

    def queue_length(self) -> int:
        return len(self._ss_queue) if self._ss_queue is not None else 0

    def flush(self, timeout_s: float) -> bool:
        """Export what is queued, waiting at most `timeout_s` (OTel's own flush ignores its timeout).
        True when everything went out and the last export succeeded."""
        if self.closed:
            return False
        done = threading.Event()
        outcome: list[bool] = []

        def run() -> None:
            try:
                outcome.append(bool(self.force_flush()))
            except Exception as exc:
                internal_error("flush", exc)
            finally:
                done.set()

        threading.Thread(target=run, name="spanscope-flush", daemon=True).start()
        return done.wait(timeout_s) and bool(outcome and outcome[0]) and not self.guard.last_failed

    def shutdown(self) -> None:
        if self.closed:
            return
        self.guard.closing = True
        try:
            super().shutdown()
        except Exception as exc:
            internal_error("processor shutdown", exc)
        self.closed = True
