"""Microseconds per span for `spanscope.collector.normalize.normalize`.

    python bench/normalize.py [--spans 20000] [--repeat 5]

Cases: a typical 10-attribute OTel GenAI generation span, the same with message content, a span
as our SDK emits it, an OpenInference LLM span with indexed messages, and the three real fixtures
(tests/fixtures/otlp). Each case is encoded as one OTLP protobuf request of `--spans` spans and
decoded with the collector's decoder, so the normaliser sees what it sees in production (fresh
strings, one shared resource per request); decoding is not timed. The last line is the worst
case for the normaliser's per-layout plans: every span has a key set of its own. The best of
`--repeat` runs is reported. The ingest target is 50,000 spans/s on 2 cores, so normalisation should stay well under
15 µs for the typical span.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from spanscope.collector.normalize import NormalizeContext, normalize
from spanscope.collector.otlp import PROTOBUF, DecodedSpan, Limits, decode_traces
from spanscope.collector.pricing import PriceTable

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "otlp"
RESOURCE = {"service.name": "checkout", "deployment.environment.name": "prod", "service.version": "1.4.2"}
START = 1_763_700_000_000_000_000


def _span(attributes: dict[str, object], name: str = "chat gpt-4o-mini") -> DecodedSpan:
    return DecodedSpan(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        name=name,
        start_ns=START,
        end_ns=START + 812_345_678,
        status_code=0,
        status_message="",
        attributes=attributes,
        events=[],
        resource=RESOURCE,
        scope="opentelemetry.instrumentation.openai_v2",
        otel_kind=3,
    )


TYPICAL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.request.temperature": 0.1,
    "gen_ai.request.max_tokens": 50,
    "gen_ai.response.id": "chatcmpl-123",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 23,
    "gen_ai.usage.output_tokens": 7,
}
WITH_CONTENT = {
    **TYPICAL,
    "gen_ai.input.messages": '[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},'
    '{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]',
    "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text",'
    '"content":"Paris is the capital of France."}],"finish_reason":"stop"}]',
}
SDK = {
    "spanscope.span.kind": "generation",
    "openinference.span.kind": "LLM",
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 40,
    "gen_ai.usage.total_tokens": 160,
    "gen_ai.conversation.id": "s-1",
    "session.id": "s-1",
    "user.id": "u-1",
    "spanscope.tags": ["beta"],
    "spanscope.metadata.customer": "acme",
}
OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini-2024-07-18",
    "llm.system": "openai",
    "llm.invocation_parameters": '{"model": "gpt-4o-mini", "temperature": 0.1}',
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Be brief.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.content": "Capital of France?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Paris is the capital of France.",
    "llm.token_count.prompt": 23,
    "llm.token_count.completion": 7,
    "llm.token_count.total": 30,
}


def _fixture(name: str) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString((FIXTURES / name / "traces.pb").read_bytes())


def _value(v: object) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[_value(x) for x in v]))
    return AnyValue(string_value=str(v))


def _request(span: DecodedSpan) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in span.resource.items())
    ss = rs.scope_spans.add()
    ss.scope.name = span.scope
    sp = ss.spans.add()
    sp.trace_id = bytes.fromhex(span.trace_id)
    sp.span_id = bytes.fromhex(span.span_id)
    sp.parent_span_id = bytes.fromhex(span.parent_span_id)
    sp.name = span.name
    sp.kind = span.otel_kind  # type: ignore[assignment]
    sp.start_time_unix_nano = span.start_ns
    sp.end_time_unix_nano = span.end_ns
    sp.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in span.attributes.items())
    return req


def decoded_batch(template: ExportTraceServiceRequest, n: int) -> list[DecodedSpan]:
    """`n` spans: the template's spans repeated (new span ids) inside its resource and scope
    groups, as an exporter batches them, then decoded."""
    req = ExportTraceServiceRequest()
    groups = []
    for trs in template.resource_spans:
        rs = req.resource_spans.add()
        rs.resource.CopyFrom(trs.resource)
        for tss in trs.scope_spans:
            ss = rs.scope_spans.add()
            ss.scope.CopyFrom(tss.scope)
            groups.append((ss, list(tss.spans)))
    count = 0
    while count < n:
        for ss, spans in groups:
            for tsp in spans:
                sp = ss.spans.add()
                sp.CopyFrom(tsp)
                count += 1
                sp.span_id = (count + 1).to_bytes(8, "big")
    spans = decode_traces(req.SerializeToString(), PROTOBUF, Limits(max_past_s=10**10)).spans
    return spans[:n]


_layout_ids = itertools.count()


def unique_layouts(template: ExportTraceServiceRequest, n: int) -> list[DecodedSpan]:
    """Like `decoded_batch`, but every span carries a metadata key of its own, so no two spans
    share a key layout (the worst case for the normaliser's per-layout plans)."""
    spans = decoded_batch(template, n)
    for s in spans:
        s.attributes[f"spanscope.metadata.request_{next(_layout_ids)}"] = "x"
    return spans


def measure(
    template: ExportTraceServiceRequest, n: int, ctx: NormalizeContext, repeat: int, unique: bool = False
) -> float:
    best = float("inf")
    for _ in range(repeat):
        spans = unique_layouts(template, n) if unique else decoded_batch(template, n)
        t0 = time.perf_counter()
        normalize(spans, ctx)
        best = min(best, time.perf_counter() - t0)
    return best / len(spans) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    ctx = NormalizeContext(project_id="bench", retention_days=30, prices=PriceTable.load())
    cases = {
        "typical OTel generation (10 attributes)": _request(_span(TYPICAL)),
        "OTel generation + input/output messages": _request(_span(WITH_CONTENT)),
        "spanscope SDK generation (13 attributes)": _request(_span(SDK)),
        "OpenInference LLM (13 attributes, indexed)": _request(_span(OPENINFERENCE, "ChatCompletion")),
        "fixture openinference-openai (3 spans)": _fixture("openinference-openai"),
        "fixture otel-genai-openai-v2 (4 spans)": _fixture("otel-genai-openai-v2"),
        "fixture otel-genai-openai-v2-content (1 span)": _fixture("otel-genai-openai-v2-content"),
    }
    print(f"{'case':<52} {'µs/span':>8} {'spans/s':>10}")
    for label, template in cases.items():
        us = measure(template, args.spans, ctx, args.repeat)
        print(f"{label:<52} {us:8.2f} {1e6 / us:10,.0f}")
    us = measure(cases["typical OTel generation (10 attributes)"], args.spans, ctx, args.repeat, unique=True)
    print(f"{'typical, every span a new key layout (worst case)':<52} {us:8.2f} {1e6 / us:10,.0f}")


if __name__ == "__main__":
    main()
