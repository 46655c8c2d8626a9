"""SDK hot-path overhead: a small @observe'd function vs a bare OpenTelemetry span.

    python bench/sdk_overhead.py [--calls 20000] [--rounds 9]

Both paths run on the same TracerProvider, set up by `spanscope.sdk.init()` with an exporter that
drops everything behind the SDK's BatchSpanProcessor, so they share every processor and only the
decorator's own work differs. The bare path is what an instrumentation would do by hand:
`start_as_current_span` + two `set_attribute` calls around the same function body. The decorated
path captures input and output (the default). Rounds alternate between the two paths and the
median round is reported, as wall-clock time and as CPU time of the calling thread (the latter is
steadier on a busy machine).

Targets: ≤ 25 µs per decorated call and ≤ 1.5× the bare span.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import spanscope.sdk as spanscope
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def body(question: str, k: int = 3) -> str:
    return question[:k]


def per_call_us(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall-clock µs, calling-thread CPU µs) per call."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls * 1e6, (time.thread_time() - cpu) / calls * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds per path (median reported)")
    args = parser.parse_args(argv)

    provider = TracerProvider()
    spanscope.init(tracer_provider=provider, exporter=DroppingExporter(), max_queue_size=8192)
    tracer = provider.get_tracer("bench")
    # What "a bare OTel span" costs with nothing of ours on the provider: the machine's yardstick.
    plain_provider = TracerProvider()
    plain_provider.add_span_processor(BatchSpanProcessor(DroppingExporter(), max_queue_size=8192))
    plain_tracer = plain_provider.get_tracer("bench")
    observed = spanscope.observe(body)
    question = "what is the capital of France?"

    def decorated() -> object:
        return observed(question, k=5)

    def bare() -> object:
        with tracer.start_as_current_span("body") as span:
            span.set_attribute("question", question)
            span.set_attribute("k", 5)
            return body(question, k=5)

    def plain() -> object:
        with plain_tracer.start_as_current_span("body") as span:
            span.set_attribute("question", question)
            span.set_attribute("k", 5)
            return body(question, k=5)

    for fn in (decorated, bare, plain):  # warm-up
        per_call_us(fn, max(1, args.calls // 10))
    sdk_rounds: list[tuple[float, float]] = []
    bare_rounds: list[tuple[float, float]] = []
    plain_rounds: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        sdk_rounds.append(per_call_us(decorated, args.calls))
        bare_rounds.append(per_call_us(bare, args.calls))
        plain_rounds.append(per_call_us(plain, args.calls))
    spanscope.flush()

    sdk_wall = statistics.median(r[0] for r in sdk_rounds)
    bare_wall = statistics.median(r[0] for r in bare_rounds)
    sdk_cpu = statistics.median(r[1] for r in sdk_rounds)
    bare_cpu = statistics.median(r[1] for r in bare_rounds)
    ratio = sdk_wall / bare_wall
    print(f"@observe, input+output capture: {sdk_wall:7.2f} µs/call  (thread CPU {sdk_cpu:6.2f} µs)")
    print(f"bare OTel span, 2 attributes:   {bare_wall:7.2f} µs/call  (thread CPU {bare_cpu:6.2f} µs)")
    print(f"ratio:                          {ratio:7.2f}×         (thread CPU {sdk_cpu / bare_cpu:5.2f}×)")
    plain_wall = statistics.median(r[0] for r in plain_rounds)
    plain_cpu = statistics.median(r[1] for r in plain_rounds)
    print(
        f"bare span, plain TracerProvider: {plain_wall:7.2f} µs/call  (thread CPU {plain_cpu:6.2f} µs); "
        f"@observe = {sdk_cpu / plain_cpu:.2f}× it in thread CPU"
    )
    verdict_us = "met" if sdk_wall <= 25 else "NOT met"
    verdict_ratio = "met" if ratio <= 1.5 else "NOT met"
    print(f"targets: ≤ 25 µs/call {verdict_us}; ≤ 1.5× the bare span {verdict_ratio}")
    print(f"spans dropped during the run: {spanscope.stats()['spans_dropped']}")
    spanscope.shutdown()
    provider.shutdown()
    plain_provider.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
