"""The wire decoder reads what the protobuf runtime reads: checked against it on generated requests."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from spanscope.collector import otlp

LIMITS = otlp.Limits()
NOW = time.time_ns()

SCALARS = st.one_of(
    st.builds(lambda s: AnyValue(string_value=s), st.text(max_size=20)),
    st.builds(lambda b: AnyValue(bool_value=b), st.booleans()),
    st.builds(lambda i: AnyValue(int_value=i), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda f: AnyValue(double_value=f), st.floats(allow_nan=False)),
    st.builds(lambda b: AnyValue(bytes_value=b), st.binary(max_size=8)),
    st.just(AnyValue()),
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.builds(lambda vs: AnyValue(array_value=ArrayValue(values=vs)), st.lists(inner, max_size=3)),
        st.builds(
            lambda kvs: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs])),
            st.lists(st.tuples(st.text(max_size=5), inner), max_size=3),
        ),
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(["a", "b", "gen_ai.x", ""])
ATTRIBUTES = st.lists(st.builds(lambda k, v: KeyValue(key=k, value=v), KEYS, ANY), max_size=5)
EVENT = st.builds(
    lambda name, t, attrs: Span.Event(name=name, time_unix_nano=t, attributes=attrs),
    st.text(max_size=10),
    st.integers(0, 2**64 - 1),
    ATTRIBUTES,
)
SPAN = st.builds(
    lambda trace_id, span_id, parent, name, start, length, kind, code, message, attrs, events: Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + length,
        kind=kind,
        status=Status(code=code, message=message),
        attributes=attrs,
        events=events,
    ),
    st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=17)),
    st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=9)),
    st.one_of(st.just(b""), st.binary(min_size=8, max_size=8)),
    st.text(max_size=20),
    st.one_of(st.just(NOW), st.integers(NOW - 10**12, NOW + 10**12), st.integers(0, 2**63)),
    st.integers(0, 10**10),
    st.sampled_from([0, 1, 2, 3, 4, 5]),
    st.sampled_from([0, 1, 2]),
    st.text(max_size=10),
    ATTRIBUTES,
    st.lists(EVENT, max_size=2),
)
REQUEST = st.builds(
    lambda groups: ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=attrs),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope), spans=spans)],
            )
            for attrs, scope, spans in groups
        ]
    ),
    st.lists(st.tuples(ATTRIBUTES, st.text(max_size=8), st.lists(SPAN, max_size=3)), max_size=3),
)


def reference(req: ExportTraceServiceRequest) -> tuple[list[otlp.DecodedSpan], int]:
    """The same request read through the protobuf runtime's objects."""
    res = otlp._decode_traces_upb(req, LIMITS)
    return res.spans, res.rejected


@settings(max_examples=300, deadline=None)
@given(REQUEST)
def test_generated_requests_decode_as_the_protobuf_runtime_reads_them(req: ExportTraceServiceRequest) -> None:
    got = otlp._decode_traces_wire(req.SerializeToString(), LIMITS)
    spans, rejected = reference(req)
    assert (got.spans, got.rejected) == (spans, rejected)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def test_fields_in_any_order_and_repeated_messages_merge() -> None:
    span = Span(trace_id=b"\1" * 16, span_id=b"\2" * 8, name="s", start_time_unix_nano=NOW, end_time_unix_nano=NOW + 5)
    # scope_spans before resource, and the resource split over two occurrences of its field
    scope = InstrumentationScope(name="lib")
    rs = (
        ResourceSpans(scope_spans=[ScopeSpans(scope=scope, spans=[span])]).SerializeToString()
        + ResourceSpans(resource=Resource(attributes=[_kv("service.name", "a")])).SerializeToString()
        + ResourceSpans(resource=Resource(attributes=[_kv("env", "prod")])).SerializeToString()
    )
    body = b"\x0a" + _varint(len(rs)) + rs  # ExportTraceServiceRequest.resource_spans = 1
    got = otlp._decode_traces_wire(body, LIMITS).spans
    assert [(s.name, s.scope, s.resource) for s in got] == [("s", "lib", {"service.name": "a", "env": "prod"})]
    assert got == reference(ExportTraceServiceRequest.FromString(body))[0]


def test_invalid_utf8_rejects_the_span_that_carries_it() -> None:
    good = Span(trace_id=b"\1" * 16, span_id=b"\2" * 8, name="good", start_time_unix_nano=NOW)
    bad = Span(trace_id=b"\1" * 16, span_id=b"\3" * 8, name="bad-NAME", start_time_unix_nano=NOW)
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[good, bad])])])
    body = req.SerializeToString().replace(b"bad-NAME", b"bad-\xff\xfeME")
    got = otlp.decode_traces(body, otlp.PROTOBUF, LIMITS)
    assert [s.name for s in got.spans] == ["good"]
    assert got.rejected == 1
    assert "invalid UTF-8" in got.error_message


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_a_truncated_body_is_a_payload_error() -> None:
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[Span(name="x", trace_id=b"\1" * 16)])])]
    ).SerializeToString()
    for cut in range(1, len(body)):
        try:
            otlp._decode_traces_wire(body[:cut], LIMITS)
        except otlp.PayloadError as exc:
            assert exc.status == 400
        except Exception as exc:  # pragma: no cover - the assertion below names it
            raise AssertionError(f"cut at {cut}: {exc!r}") from exc
