"""The ClickHouse-server path: clickhouse-connect's HTTP client against ClickHouse's HTTP interface."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.clickhouse_http_fixture import ServerHandle, start_clickhouse_http
from tests.collector_process import CollectorProcess


@pytest.fixture
def clickhouse(tmp_path: Path) -> Iterator[ServerHandle]:
    with start_clickhouse_http(tmp_path / "clickhouse") as server:
        yield server


def _body(trace_id: str, n: int) -> bytes:
    now = time.time_ns()
    spans = [
        {
            "traceId": trace_id,
            "spanId": os.urandom(8).hex(),
            "name": f"s{i}",
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1000),
        }
        for i in range(n)
    ]
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


def test_exporter_spans_reach_a_clickhouse_server_over_http(tmp_path: Path, clickhouse: ServerHandle) -> None:
    proc = CollectorProcess(tmp_path / "data", env={"SPANSCOPE_CLICKHOUSE_URL": clickhouse.url}).start()
    try:
        assert httpx.get(f"{proc.url}/readyz").json()["storage"] == "ClickHouse server"
        provider = TracerProvider(resource=Resource.create({"service.name": "http-path"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{proc.url}/v1/traces")))
        with provider.get_tracer("t").start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.usage.input_tokens", 10)
            trace_id = format(span.get_span_context().trace_id, "032x")
        provider.shutdown()
        q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
        assert proc.wait_for_count(q, 1, t=trace_id) == 1
        # Read back directly from the server, not through the collector.
        client = clickhouse.client()
        rows = client.query(
            "SELECT kind, model, input_tokens, service FROM spanscope.spans WHERE trace_id = {t:String}",
            parameters={"t": trace_id},
        ).result_rows
        assert rows == [("generation", "gpt-4o", 10, "http-path")]
        # The materialized views ran on the server too.
        assert (
            client.command(
                "SELECT sum(spans) FROM spanscope.trace_summary WHERE trace_id = {t:String}",
                parameters={"t": trace_id},
            )
            == 1
        )
    finally:
        proc.stop()


def test_storage_outage_fills_the_log_then_answers_503_and_drains_on_return(
    tmp_path: Path, clickhouse: ServerHandle
) -> None:
    proc = CollectorProcess(
        tmp_path / "data",
        env={"SPANSCOPE_CLICKHOUSE_URL": clickhouse.url, "SPANSCOPE_WAL_MAX_BACKLOG_BYTES": "60000"},
    ).start()
    try:
        clickhouse.stop()
        trace_id = os.urandom(16).hex()
        accepted, refused = 0, None
        for _ in range(100):
            r = httpx.post(
                f"{proc.url}/v1/traces",
                content=_body(trace_id, 20),
                headers={"Content-Type": "application/json"},
            )
            if r.status_code != 200:
                refused = r
                break
            accepted += 20
        assert refused is not None and refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert accepted > 0
        assert httpx.get(f"{proc.url}/readyz").status_code == 503
        clickhouse.start()
        q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
        assert proc.wait_for_count(q, accepted, timeout=60, t=trace_id) == accepted
        time.sleep(0.5)
        assert proc.scalar(q, t=trace_id) == accepted
    finally:
        proc.stop()
