"""OTLP/HTTP ingest against a running collector with embedded storage."""

from __future__ import annotations

import gzip
import os
import time
import zlib

import httpx
import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.collector_process import CollectorProcess
from tests.conftest import FIXTURES, fixture_request

PB = {"Content-Type": "application/x-protobuf"}


def _span_json(
    trace_id: str, span_id: str, name: str = "op", start_ns: int | None = None, **attrs: str
) -> dict:
    start = start_ns if start_ns is not None else time.time_ns() - 5_000_000
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 2_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
    }


def _json_body(*spans: dict, service: str = "json-app") -> bytes:
    return orjson.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                    "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
                }
            ]
        }
    )


def _tid() -> str:
    return os.urandom(16).hex()


def _sid() -> str:
    return os.urandom(8).hex()


def test_spans_from_the_real_otel_exporter_are_stored_with_genai_columns(collector: CollectorProcess) -> None:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "exporter-app", "deployment.environment.name": "prod"})
    )
    exporter = OTLPSpanExporter(endpoint=f"{collector.url}/v1/traces", compression=Compression.Gzip)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("rag") as root:
        with tracer.start_as_current_span("chat gpt-4o-mini") as gen:
            gen.set_attribute("gen_ai.operation.name", "chat")
            gen.set_attribute("gen_ai.provider.name", "openai")
            gen.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            gen.set_attribute("gen_ai.usage.input_tokens", 1000)
            gen.set_attribute("gen_ai.usage.output_tokens", 200)
            gen.set_attribute("custom.flag", "kept")
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    assert (
        collector.wait_for_count(
            "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}", 2, t=trace_id
        )
        == 2
    )
    rows = collector.sql(
        "SELECT name, kind, service, environment, model, provider, input_tokens, output_tokens, total_tokens, "
        "cost_usd, cost_source, parent_span_id, attributes['custom.flag'] AS flag "
        "FROM spanscope.spans WHERE trace_id = {t:String} ORDER BY start_time",
        t=trace_id,
    )
    root_row, gen_row = rows
    assert root_row["parent_span_id"] == "" and root_row["service"] == "exporter-app"
    assert gen_row["kind"] == "generation" and gen_row["model"] == "gpt-4o-mini"
    assert gen_row["environment"] == "prod" and gen_row["provider"] == "openai"
    assert (gen_row["input_tokens"], gen_row["output_tokens"], gen_row["total_tokens"]) == (1000, 200, 1200)
    assert gen_row["cost_usd"] > 0 and gen_row["cost_source"] == "price_table"
    assert gen_row["flag"] == "kept"


def test_otlp_json_with_hex_ids_and_string_int64_is_accepted(collector: CollectorProcess) -> None:
    t = _tid()
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=_json_body(_span_json(t, _sid(), "json-span")),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {}
    assert (
        collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=t) == 1
    )


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_inflated(collector: CollectorProcess, encoding: str) -> None:
    t = _tid()
    body = _json_body(_span_json(t, _sid()))
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=packed,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert r.status_code == 200, r.text
    assert (
        collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=t) == 1
    )


def test_bad_spans_are_counted_in_partial_success_and_good_ones_kept(collector: CollectorProcess) -> None:
    t = _tid()
    good = _span_json(t, _sid(), "good")
    short_id = _span_json(t[:20], _sid(), "short-trace-id")
    ancient = _span_json(t, _sid(), "ancient", start_ns=time.time_ns() - 400 * 24 * 3600 * 10**9)
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=_json_body(good, short_id, ancient),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert (
        "trace_id must be 16 bytes" in partial["errorMessage"]
        and "too far from now" in partial["errorMessage"]
    )
    assert (
        collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=t) == 1
    )
    time.sleep(0.5)
    assert collector.scalar("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", t=t) == 1


def test_invalid_utf8_in_protobuf_rejects_only_that_span(collector: CollectorProcess) -> None:
    req = fixture_request("otel-genai-openai-v2")
    trace_id = req.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    # answer_question is the app span; corrupt its name with bytes that are not UTF-8.
    body = req.SerializeToString().replace(b"answer_question", b"answer_\xff\xfeestion")
    r = httpx.post(f"{collector.url}/v1/traces", content=body, headers=PB)
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "invalid UTF-8" in resp.partial_success.error_message
    assert (
        collector.wait_for_count(
            "SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 3, t=trace_id
        )
        == 3
    )


def test_a_batch_of_only_bad_spans_gets_400_with_the_reason(collector: CollectorProcess) -> None:
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=_json_body(_span_json(_tid(), "abc")),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert "span_id must be 8 bytes" in r.json()["message"]


def test_malformed_protobuf_gets_400_with_an_rpc_status_body(collector: CollectorProcess) -> None:
    r = httpx.post(f"{collector.url}/v1/traces", content=b"\x0a\xff\xff\xff\xff\x0fgarbage", headers=PB)
    assert r.status_code == 400
    status = status_pb2.Status.FromString(r.content)
    assert "not a valid OTLP" in status.message


def test_malformed_json_gets_400(collector: CollectorProcess) -> None:
    r = httpx.post(
        f"{collector.url}/v1/traces", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert "not valid OTLP JSON" in r.json()["message"]


def test_unknown_content_type_gets_415(collector: CollectorProcess) -> None:
    r = httpx.post(f"{collector.url}/v1/traces", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/x-protobuf" in r.json()["message"]


def test_unknown_content_encoding_gets_415(collector: CollectorProcess) -> None:
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=b"x",
        headers={"Content-Type": "application/json", "Content-Encoding": "br"},
    )
    assert r.status_code == 415


def test_corrupt_gzip_gets_400(collector: CollectorProcess) -> None:
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=b"\x1f\x8bnot really gzip",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400


def test_body_over_the_limit_gets_413(collector: CollectorProcess) -> None:
    r = httpx.post(f"{collector.url}/v1/traces", content=b"0" * (17 * 1024 * 1024), headers=PB)
    assert r.status_code == 413


def test_gzip_bomb_is_refused_with_413(collector: CollectorProcess) -> None:
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024))
    r = httpx.post(
        f"{collector.url}/v1/traces",
        content=bomb,
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 413


def test_attribute_bomb_is_truncated_with_a_marker_and_the_span_kept(collector: CollectorProcess) -> None:
    t = _tid()
    span = _span_json(t, _sid(), "bomb", **{"big.value": "x" * 300_000})
    span["attributes"] += [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(1000)]
    r = httpx.post(
        f"{collector.url}/v1/traces", content=_json_body(span), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200
    assert r.json() == {}
    collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=t)
    row = collector.sql(
        "SELECT length(attributes['big.value']) AS n, "
        "endsWith(attributes['big.value'], '…[truncated by spanscope]') AS marked, "
        "length(attributes) AS attrs, attributes['spanscope.dropped_attributes_count'] AS dropped "
        "FROM spanscope.spans WHERE trace_id={t:String}",
        t=t,
    )[0]
    assert row["marked"] == 1 and row["n"] < 70_000
    assert row["attrs"] <= 258 and int(row["dropped"]) == 1001 - 256


def test_an_exporter_retry_of_the_same_batch_is_stored_once(collector: CollectorProcess) -> None:
    t = _tid()
    body = _json_body(_span_json(t, _sid()), _span_json(t, _sid()))
    for _ in range(3):
        assert (
            httpx.post(
                f"{collector.url}/v1/traces", content=body, headers={"Content-Type": "application/json"}
            ).status_code
            == 200
        )
    collector.wait_for_count("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 2, t=t)
    time.sleep(0.6)
    assert collector.scalar("SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", t=t) == 2


def _content_requests() -> tuple[bytes, bytes, str, str]:
    req = fixture_request("otel-genai-openai-v2-content")
    logs = ExportLogsServiceRequest.FromString(
        (FIXTURES / "otel-genai-openai-v2-content" / "logs.pb").read_bytes()
    )
    # fresh ids so each test sees its own span
    trace_id, span_id = os.urandom(16), os.urandom(8)
    for rs in req.resource_spans:
        for ss in rs.scope_spans:
            for s in ss.spans:
                s.trace_id, s.span_id = trace_id, span_id
    for rl in logs.resource_logs:
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                rec.trace_id, rec.span_id = trace_id, span_id
    return req.SerializeToString(), logs.SerializeToString(), trace_id.hex(), span_id.hex()


def _content_of(collector: CollectorProcess, trace_id: str) -> dict:
    deadline = time.monotonic() + 20
    row: dict = {}
    while time.monotonic() < deadline:
        rows = collector.sql(
            "SELECT input, output, finish_reasons FROM spanscope.spans WHERE trace_id={t:String}", t=trace_id
        )
        if rows and rows[0]["input"] and rows[0]["output"]:
            return rows[0]
        row = rows[0] if rows else {}
        time.sleep(0.2)
    return row


@pytest.mark.parametrize("logs_first", [True, False], ids=["logs-before-span", "span-before-logs"])
def test_genai_content_sent_as_logs_is_attached_to_its_span(
    collector: CollectorProcess, logs_first: bool
) -> None:
    traces, logs, trace_id, _ = _content_requests()
    first, second = (
        (("/v1/logs", logs), ("/v1/traces", traces))
        if logs_first
        else (("/v1/traces", traces), ("/v1/logs", logs))
    )
    assert httpx.post(collector.url + first[0], content=first[1], headers=PB).status_code == 200
    if not logs_first:
        collector.wait_for_count(
            "SELECT count() FROM spanscope.spans WHERE trace_id={t:String}", 1, t=trace_id
        )
    assert httpx.post(collector.url + second[0], content=second[1], headers=PB).status_code == 200
    row = _content_of(collector, trace_id)
    assert orjson.loads(row["input"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert row["output"] == "Paris is the capital of France."
    assert row["finish_reasons"] == ["stop"]


def test_metrics_export_is_accepted_and_counted(collector: CollectorProcess) -> None:
    body = orjson.dumps(
        {
            "resourceMetrics": [
                {
                    "scopeMetrics": [
                        {
                            "metrics": [
                                {
                                    "name": "gen_ai.client.token.usage",
                                    "histogram": {"dataPoints": [{"count": "1"}, {"count": "2"}]},
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )
    r = httpx.post(f"{collector.url}/v1/metrics", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    text = httpx.get(f"{collector.url}/metrics").text
    assert "spanscope_metric_points_total" in text


def test_health_readiness_and_prometheus_metrics(collector: CollectorProcess) -> None:
    assert httpx.get(f"{collector.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{collector.url}/readyz")
    assert ready.status_code == 200 and ready.json()["storage"] == "embedded chDB"
    text = httpx.get(f"{collector.url}/metrics").text
    for name in (
        "spanscope_spans_received_total",
        "spanscope_spans_stored_total",
        "spanscope_spans_rejected_total",
        "spanscope_queue_depth_bytes",
        "spanscope_batch_insert_seconds_bucket",
    ):
        assert name in text


def test_sql_endpoint_refuses_writes(collector: CollectorProcess) -> None:
    r = httpx.post(f"{collector.url}/api/sql", json={"query": "DROP TABLE spanscope.spans"})
    assert r.status_code == 400 and "readonly" in r.json()["detail"].lower()
    r = httpx.post(f"{collector.url}/api/sql", json={"query": "SELECT 1; SELECT 2"})
    assert r.status_code == 400


def test_fixture_payloads_normalise_end_to_end(collector: CollectorProcess) -> None:
    req: ExportTraceServiceRequest = fixture_request("openinference-openai")
    trace_ids = {s.trace_id.hex() for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert (
        httpx.post(f"{collector.url}/v1/traces", content=req.SerializeToString(), headers=PB).status_code
        == 200
    )
    q = "SELECT count() FROM spanscope.spans WHERE trace_id IN {t:Array(String)}"
    assert collector.wait_for_count(q, 3, t=sorted(trace_ids)) == 3
    rows = collector.sql(
        "SELECT kind, model, provider, input_tokens, output_tokens, total_tokens, status, output "
        "FROM spanscope.spans WHERE trace_id IN {t:Array(String)} ORDER BY start_time",
        t=sorted(trace_ids),
    )
    chat = rows[0]
    assert (
        chat["kind"] == "generation"
        and chat["model"] == "gpt-4o-mini-2024-07-18"
        and chat["provider"] == "openai"
    )
    assert (chat["input_tokens"], chat["output_tokens"], chat["total_tokens"]) == (23, 7, 30)
    assert chat["output"] == "Paris is the capital of France."
    assert rows[1]["kind"] == "embedding" and rows[1]["model"] == "text-embedding-3-small"
    assert rows[2]["status"] == "ERROR"
