"""Helpers for testing code that uses spanscope (and for spanscope's own tests).

    def test_answer_is_traced():
        with record_spans() as recorder:
            answer("hi")
        span = recorder.span("answer")
        assert span.attributes["input.value"] == '{"question":"hi"}'

`record_spans()` calls `init()` with a private TracerProvider and an in-memory exporter, behind the
same batch processor as production; `spans()` flushes first; scores are kept in `scores` instead
of being posted. Nothing global is changed, so tests can each have their own recorder.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.util._once import Once

from .client import Client, flush, init, shutdown
from .scores import ScoreSender, set_sender


class MemoryScoreSender(ScoreSender):
    """Keeps scores in `scores` instead of posting them."""

    def __init__(self) -> None:
        super().__init__("memory://")
        self.scores: list[dict[str, Any]] = []

    def submit(self, item: dict[str, Any]) -> bool:
        self.scores.append(item)
        return True


class SpanRecorder:
    def __init__(self, sampler: Sampler | None = None, **init_kwargs: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
        init_kwargs.setdefault("schedule_delay_millis", 50)
        self.client: Client = init(tracer_provider=self.provider, exporter=self.exporter, **init_kwargs)
        self.score_sender = MemoryScoreSender()
        set_sender(self.score_sender)

    @property
    def scores(self) -> list[dict[str, Any]]:
        """Scores recorded with `spanscope.score()` (kept in memory, never posted)."""
        return self.score_sender.scores

    def spans(self) -> list[ReadableSpan]:
        """Every finished span so far, oldest first (flushes the batch processor)."""
        flush(timeout_s=5.0)
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called `name`."""
        matches = [span for span in self.spans() if span.name == name]
        if len(matches) != 1:
            raise AssertionError(
                f"expected one span named {name!r}, found {len(matches)}: "
                f"{[span.name for span in self.spans()]}"
            )
        return matches[0]

    def clear(self) -> None:
        flush(timeout_s=5.0)
        self.exporter.clear()

    def close(self) -> None:
        shutdown(timeout_s=2.0)
        self.provider.shutdown()

    def __enter__(self) -> SpanRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def record_spans(sampler: Sampler | None = None, **init_kwargs: Any) -> SpanRecorder:
    """Start recording spanscope's spans in memory (see the module docstring)."""
    return SpanRecorder(sampler=sampler, **init_kwargs)


def reset_global_tracer_provider() -> None:
    """Forget OpenTelemetry's global TracerProvider so a test can set one again. Tests only:
    OpenTelemetry allows setting it once per process, on purpose."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
