"""Property-based fuzzing of the OTLP decoder, the normaliser and redaction: any body gives rows or a
PayloadError (a 4xx), never another exception, and every row can be written to the log as JSON.

Bounded for the suite; a longer run (about 10 minutes on 2 cores; pytest-timeout off):

    SPANSCOPE_FUZZ_EXAMPLES=20000 python -m pytest -q -p no:timeout tests/test_fuzz_otlp.py
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spanscope.collector import otlp
from spanscope.collector.normalize import NormalizeContext, content_from_logs, normalize
from spanscope.collector.pricing import PriceTable
from spanscope.collector.security.redaction import PolicySet, redact_rows

EXAMPLES = int(os.environ.get("SPANSCOPE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXTURES = Path(__file__).parent / "fixtures" / "otlp"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.glob("*/traces.pb"))]
LIMITS = otlp.Limits(max_past_s=10**10, max_future_s=10**10)
PRICES = PriceTable.load()


def _ingest(body: bytes, mtype: str) -> None:
    """What the collector does with a traces body, up to the bytes it writes to its log."""
    try:
        decoded = otlp.decode_traces(body, mtype, LIMITS)
    except otlp.PayloadError as exc:
        assert 400 <= exc.status < 500
        return
    rows = normalize(decoded.spans, NormalizeContext(project_id="fuzz", retention_days=30, prices=PRICES))
    redact_rows(rows, PolicySet())
    for row in rows:
        orjson.dumps(row)
        assert isinstance(row["trace_id"], str) and isinstance(row["attributes"], dict)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            break
        i = pos % len(buf)
        if kind == 0:
            buf[i] = value
        elif kind == 1:
            buf.insert(i, value)
        elif kind == 2:
            del buf[i]
        else:
            buf[i:] = buf[i : i + value]  # truncation
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from([otlp.PROTOBUF, otlp.JSON]))
def test_random_bytes_are_decoded_or_refused_with_a_payload_error(body: bytes, mtype: str) -> None:
    _ingest(body, mtype)


@FUZZ
@given(st.sampled_from(SEEDS), EDITS)
def test_mutated_real_protobuf_payloads_never_crash_the_decoder_or_normaliser(seed: bytes, edits: Any) -> None:
    _ingest(_mutate(seed, edits), otlp.PROTOBUF)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
ANY_VALUE = st.recursive(
    st.one_of(
        st.builds(lambda s: {"stringValue": s}, st.text(max_size=200)),
        st.builds(lambda i: {"intValue": i}, st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=8))),
        st.builds(lambda f: {"doubleValue": f}, st.one_of(st.floats(), st.text(max_size=8))),
        st.builds(lambda b: {"boolValue": b}, st.one_of(st.booleans(), st.integers())),
        st.builds(lambda b: {"bytesValue": b}, st.text(max_size=12)),
        JSON_VALUES,
    ),
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=4)),
        st.builds(
            lambda kvs: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kvs]}},
            st.lists(st.tuples(st.text(max_size=10), inner), max_size=4),
        ),
    ),
    max_leaves=10,
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "gen_ai.operation.name",
            "gen_ai.request.model",
            "gen_ai.response.model",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system",
            "openinference.span.kind",
            "llm.input_messages.0.message.content",
            "llm.token_count.prompt",
            "input.value",
            "output.value",
            "traceloop.entity.input",
            "gen_ai.prompt.0.content",
            "spanscope.span.kind",
            "spanscope.tags",
            "spanscope.guardrail.verdict",
            "spanscope.fallback.attempt",
            "session.id",
            "user.id",
            "spanscope.project",
        ]
    ),
    st.text(max_size=20),
)
HEX_OR_JUNK = st.one_of(
    st.binary(min_size=16, max_size=16).map(bytes.hex),
    st.binary(min_size=8, max_size=8).map(bytes.hex),
    st.text(max_size=34),
)
TIMES = st.one_of(st.integers(0, 2**64), st.text(max_size=20), st.just(str(time.time_ns())))
SPAN = st.fixed_dictionaries(
    {
        "traceId": HEX_OR_JUNK,
        "spanId": HEX_OR_JUNK,
        "name": st.text(max_size=40),
        "startTimeUnixNano": TIMES,
        "endTimeUnixNano": TIMES,
        "attributes": st.lists(st.fixed_dictionaries({"key": KEYS, "value": ANY_VALUE}), max_size=8),
    },
    optional={
        "parentSpanId": HEX_OR_JUNK,
        "kind": st.one_of(st.integers(-3, 9), st.text(max_size=10)),
        "status": st.fixed_dictionaries({}, optional={"code": st.integers(-1, 4), "message": st.text(max_size=20)}),
        "events": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=30), "timeUnixNano": TIMES},
                optional={"attributes": st.lists(st.fixed_dictionaries({"key": KEYS, "value": ANY_VALUE}), max_size=3)},
            ),
            max_size=3,
        ),
    },
)
BODY = st.fixed_dictionaries(
    {
        "resourceSpans": st.lists(
            st.fixed_dictionaries(
                {"scopeSpans": st.lists(st.fixed_dictionaries({"spans": st.lists(SPAN, max_size=4)}), max_size=2)},
                optional={
                    "resource": st.fixed_dictionaries(
                        {"attributes": st.lists(st.fixed_dictionaries({"key": KEYS, "value": ANY_VALUE}), max_size=4)}
                    )
                },
            ),
            max_size=3,
        )
    }
)


@FUZZ
@given(BODY)
def test_otlp_json_with_random_structure_and_attribute_values_is_normalised_or_refused(body: dict[str, Any]) -> None:
    _ingest(json.dumps(body).encode(), otlp.JSON)  # the stdlib writes integers beyond 64 bits too


@FUZZ
@given(st.binary(max_size=1024), st.sampled_from(["gzip", "deflate", "br", None]))
def test_compressed_bodies_are_inflated_or_refused_with_a_payload_error(body: bytes, encoding: str | None) -> None:
    for data in (body, gzip.compress(body), zlib.compress(body)):
        try:
            otlp.decompress(data, encoding, 4096)
        except otlp.PayloadError as exc:
            assert 400 <= exc.status < 500


@FUZZ
@given(st.binary(max_size=1024), st.sampled_from([otlp.PROTOBUF, otlp.JSON]))
def test_random_logs_and_metrics_bodies_never_crash(body: bytes, mtype: str) -> None:
    try:
        records, _ = otlp.decode_logs(body, mtype)
        content_from_logs(records, 1 << 20)
    except otlp.PayloadError as exc:
        assert 400 <= exc.status < 500
    try:
        otlp.count_metric_points(body, mtype)
    except otlp.PayloadError as exc:
        assert 400 <= exc.status < 500
