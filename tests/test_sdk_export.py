"""The export path: OTLP/HTTP to a collector stand-in, scores, a collector that is down, provider
cooperation, sampling and fork safety."""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import spanscope.sdk as spanscope
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from spanscope.schemas import attributes as A
from spanscope.sdk.testing import record_spans, reset_global_tracer_provider

# --- a collector stand-in ----------------------------------------------------------------------------


class FakeCollector:
    """Records OTLP trace requests (decoded) and score posts on 127.0.0.1, on a free port."""

    def __init__(self) -> None:
        self.trace_requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.score_posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                headers = {key.lower(): value for key, value in self.headers.items()}
                if self.path == "/v1/traces":
                    with collector.lock:
                        collector.trace_requests.append((headers, ExportTraceServiceRequest.FromString(body)))
                    payload = ExportTraceServiceResponse().SerializeToString()
                    content_type = "application/x-protobuf"
                elif self.path == "/api/scores":
                    with collector.lock:
                        collector.score_posts.append((headers, json.loads(body)))
                    payload, content_type = b"{}", "application/json"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        out: list[tuple[dict[str, Any], Any]] = []
        with self.lock:
            requests = list(self.trace_requests)
        for _, request in requests:
            for resource_spans in request.resource_spans:
                resource = {kv.key: _any(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    out.extend((resource, span) for span in scope_spans.spans)
        return out

    def scores(self) -> list[dict[str, Any]]:
        with self.lock:
            return [score for _, post in self.score_posts for score in post["scores"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _any(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attrs(span: Any) -> dict[str, Any]:
    return {kv.key: _any(kv.value) for kv in span.attributes}


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    server = FakeCollector()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    spanscope.reset_stats()
    yield
    spanscope.shutdown(timeout_s=2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more: connections are refused


# --- OTLP export -----------------------------------------------------------------------------------


def test_spans_reach_the_collector_as_gzip_protobuf_with_the_api_key(collector: FakeCollector) -> None:
    provider = TracerProvider()
    spanscope.init(
        endpoint=collector.endpoint,
        api_key="ss-test-key",
        project="shop",
        service="checkout",
        environment="staging",
        release="1.4.2",
        tracer_provider=provider,
    )

    @spanscope.observe(name="pay", kind="tool")
    def pay(amount: int) -> str:
        return "ok"

    pay(42)
    assert spanscope.flush(timeout_s=10)
    headers, _ = collector.trace_requests[0]
    assert headers["authorization"] == "Bearer ss-test-key"
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/x-protobuf"
    resource, span = collector.spans()[0]
    assert span.name == "pay"
    assert _attrs(span)[A.SS_SPAN_KIND] == "tool"
    assert resource[A.SS_PROJECT] == "shop"
    assert resource[A.DEPLOYMENT_ENVIRONMENT] == "staging"
    assert resource[A.SERVICE_VERSION] == "1.4.2"
    assert resource[A.SERVICE_NAME] == "checkout"  # the provider only had the default unknown_service
    assert spanscope.stats()["spans_exported"] == 1
    provider.shutdown()


def test_a_provider_we_create_carries_service_and_project_in_its_resource(collector: FakeCollector) -> None:
    reset_global_tracer_provider()
    try:
        spanscope.init(endpoint=collector.endpoint, service="checkout", project="shop")

        @spanscope.observe(name="step")
        def step() -> None:
            return None

        step()
        assert spanscope.flush(timeout_s=10)
        resource, _ = collector.spans()[0]
        assert resource[A.SERVICE_NAME] == "checkout"
        assert resource[A.SS_PROJECT] == "shop"
    finally:
        spanscope.shutdown()
        reset_global_tracer_provider()


def test_calling_init_again_replaces_the_exporter_instead_of_adding_one() -> None:
    provider = TracerProvider()
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    spanscope.init(tracer_provider=provider, exporter=first)
    spanscope.init(tracer_provider=provider, exporter=second)

    @spanscope.observe(name="once")
    def once() -> None:
        return None

    once()
    spanscope.flush()
    assert [span.name for span in second.get_finished_spans()] == ["once"]
    assert first.get_finished_spans() == ()
    assert spanscope.stats()["spans_dropped_after_shutdown"] == 0
    provider.shutdown()


# --- scores ----------------------------------------------------------------------------------------


def test_a_score_inside_a_span_is_posted_with_its_trace_and_span_ids(collector: FakeCollector) -> None:
    provider = TracerProvider()
    spanscope.init(endpoint=collector.endpoint, api_key="k1", tracer_provider=provider)
    with spanscope.observation("answer") as obs:
        assert spanscope.score("helpfulness", 0.75, comment="good")
    assert spanscope.flush(timeout_s=10)
    (headers, post) = collector.score_posts[0]
    assert headers["authorization"] == "Bearer k1"
    (sent,) = post["scores"]
    assert sent["trace_id"] == obs.trace_id and sent["span_id"] == obs.span_id
    assert (sent["name"], sent["value"], sent["data_type"], sent["source"]) == (
        "helpfulness",
        0.75,
        "numeric",
        "sdk",
    )
    assert sent["string_value"] is None and sent["comment"] == "good"
    assert sent["timestamp"].endswith("Z")
    assert len(sent["score_id"]) == 32
    provider.shutdown()


def test_score_types_are_inferred_from_the_value(collector: FakeCollector) -> None:
    provider = TracerProvider()
    spanscope.init(endpoint=collector.endpoint, tracer_provider=provider)
    trace_id = "ab" * 16
    spanscope.score("thumbs_up", True, trace_id=trace_id)
    spanscope.score("topic", "billing", trace_id=trace_id)
    spanscope.score("latency_ok", 1, trace_id=trace_id, data_type="boolean")
    assert spanscope.flush(timeout_s=10)
    by_name = {score["name"]: score for score in collector.scores()}
    assert (by_name["thumbs_up"]["data_type"], by_name["thumbs_up"]["value"]) == ("boolean", 1.0)
    assert (by_name["topic"]["data_type"], by_name["topic"]["string_value"]) == ("categorical", "billing")
    assert by_name["latency_ok"]["data_type"] == "boolean"
    assert all(score["span_id"] is None for score in by_name.values())
    provider.shutdown()


def test_invalid_scores_are_refused_without_raising(collector: FakeCollector) -> None:
    provider = TracerProvider()
    spanscope.init(endpoint=collector.endpoint, tracer_provider=provider)
    assert spanscope.score("nothing_to_attach_to", 1.0) is False
    assert spanscope.score("nan", float("nan"), trace_id="ab" * 16) is False
    assert spanscope.score("bad_id", 1.0, trace_id="xyz") is False
    assert spanscope.score("no_type", object(), trace_id="ab" * 16) is False
    assert spanscope.score("x" * 201, 1.0, trace_id="ab" * 16) is False
    assert spanscope.stats()["scores_dropped"] == 5
    provider.shutdown()


# --- a collector that is down ----------------------------------------------------------------------


def test_with_the_collector_down_calls_stay_fast_memory_stays_bounded_and_drops_are_counted() -> None:
    provider = TracerProvider()
    client = spanscope.init(
        endpoint=f"http://127.0.0.1:{_free_port()}",
        tracer_provider=provider,
        max_queue_size=256,
        max_export_batch_size=64,
        schedule_delay_millis=10,
        export_timeout_s=1.0,
    )
    processor = client.processor
    assert processor is not None

    @spanscope.observe(name="handle")
    def handle(request_id: int, body: str) -> str:
        return body

    for i in range(2_000):  # fill the queue, start the failing exports
        handle(i, "payload " * 10)
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    slowest = 0.0
    began = time.perf_counter()
    for i in range(6_000):
        start = time.perf_counter()
        handle(i, "payload " * 10)
        slowest = max(slowest, time.perf_counter() - start)
    mean = (time.perf_counter() - began) / 6_000
    grown = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()

    assert processor.queue_length() <= 256
    assert grown < 2 * 1024 * 1024, f"memory grew by {grown} bytes"
    assert slowest < 0.5, f"a call waited {slowest:.3f}s: something blocked on the exporter"
    assert mean < 0.002, f"{mean * 1e6:.0f} µs per call (with tracemalloc on)"
    stats = spanscope.stats()
    assert stats["spans_exported"] == 0
    assert stats["spans_dropped_queue_full"] > 4_000
    assert stats["spans_dropped"] >= stats["spans_dropped_queue_full"]
    provider.shutdown()


def test_shutdown_with_the_collector_down_gives_up_after_the_first_failure() -> None:
    provider = TracerProvider()
    spanscope.init(
        endpoint=f"http://127.0.0.1:{_free_port()}",
        tracer_provider=provider,
        max_queue_size=2048,
        max_export_batch_size=64,
        schedule_delay_millis=60_000,
        export_timeout_s=1.0,
    )

    @spanscope.observe(name="f")
    def f() -> None:
        return None

    for _ in range(2_000):  # 32 batches: one timeout each would take half a minute
        f()
    start = time.perf_counter()
    spanscope.shutdown(timeout_s=2.0)
    assert time.perf_counter() - start < 5.0
    assert spanscope.stats()["spans_export_failed"] == 2_000
    provider.shutdown()


def test_a_dropped_span_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    provider = TracerProvider()
    spanscope.init(
        endpoint=f"http://127.0.0.1:{_free_port()}",
        tracer_provider=provider,
        max_queue_size=8,
        max_export_batch_size=8,
        schedule_delay_millis=60_000,
        export_timeout_s=1.0,
    )

    @spanscope.observe(name="f")
    def f() -> None:
        return None

    with caplog.at_level("WARNING", logger="spanscope.sdk"):
        for _ in range(100):
            f()
    queue_full = [record for record in caplog.records if "queue full" in record.getMessage()]
    assert len(queue_full) == 1
    assert spanscope.stats()["spans_dropped_queue_full"] >= 80
    provider.shutdown()


def test_scores_with_the_collector_down_return_at_once_and_are_counted_as_failed() -> None:
    provider = TracerProvider()
    spanscope.init(
        endpoint=f"http://127.0.0.1:{_free_port()}", tracer_provider=provider, export_timeout_s=0.5
    )
    start = time.perf_counter()
    for i in range(50):
        spanscope.score("s", i, trace_id="cd" * 16)
    assert time.perf_counter() - start < 0.5
    assert spanscope.flush(timeout_s=10) is False
    assert spanscope.stats()["scores_failed"] == 50
    provider.shutdown()


# --- cooperation with the application's OpenTelemetry setup ----------------------------------------


@pytest.fixture
def fresh_global_provider() -> Iterator[None]:
    reset_global_tracer_provider()
    yield
    spanscope.shutdown()
    reset_global_tracer_provider()


def test_an_existing_global_provider_is_joined_not_replaced(fresh_global_provider: None) -> None:
    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    trace.set_tracer_provider(app_provider)
    ours = InMemorySpanExporter()
    client = spanscope.init(exporter=ours, project="shop", environment="prod")
    assert client.tracer_provider is app_provider and not client.owns_provider
    assert trace.get_tracer_provider() is app_provider

    @spanscope.observe(name="answer")
    def answer() -> None:
        return None

    answer()
    spanscope.flush()
    assert [span.name for span in app_exporter.get_finished_spans()] == ["answer"]
    (exported,) = ours.get_finished_spans()
    assert exported.resource.attributes[A.SS_PROJECT] == "shop"  # added at export time
    assert exported.resource.attributes[A.DEPLOYMENT_ENVIRONMENT] == "prod"
    app_provider.shutdown()


def test_another_instrumentations_spans_nest_under_observe_spans(fresh_global_provider: None) -> None:
    ours = InMemorySpanExporter()
    client = spanscope.init(exporter=ours)
    assert client.owns_provider and client.is_global
    instrumentation = trace.get_tracer(
        "opentelemetry.instrumentation.openai_v2"
    )  # how instrumentations get one

    @spanscope.observe(name="rag", kind="chain")
    def rag() -> None:
        with instrumentation.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute(A.GEN_AI_OPERATION_NAME, "chat")

    rag()
    spanscope.flush()
    spans = {span.name: span for span in ours.get_finished_spans()}
    child, parent = spans["chat gpt-4o"], spans["rag"]
    assert child.parent is not None and child.parent.span_id == parent.context.span_id


def test_init_with_a_sample_rate_uses_a_parent_based_ratio_sampler(fresh_global_provider: None) -> None:
    client = spanscope.init(exporter=InMemorySpanExporter(), sample_rate=0.25)
    assert client.tracer_provider is not None
    sampler = client.tracer_provider.sampler
    assert isinstance(sampler, ParentBased)
    assert "TraceIdRatioBased{0.25}" in sampler.get_description()


def test_head_sampling_keeps_or_drops_whole_traces() -> None:
    with record_spans(sampler=spanscope.make_sampler(0.3)) as rec:

        @spanscope.observe(name="leaf")
        def leaf() -> None:
            return None

        @spanscope.observe(name="middle")
        def middle() -> None:
            leaf()

        @spanscope.observe(name="root")
        def root() -> None:
            middle()

        for _ in range(300):
            root()
        per_trace: dict[int, set[str]] = {}
        for span in rec.spans():
            per_trace.setdefault(span.context.trace_id, set()).add(span.name)
    assert all(names == {"root", "middle", "leaf"} for names in per_trace.values())
    assert 40 <= len(per_trace) <= 140  # about 90 of 300


# --- fork ------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_exports_its_own_spans_and_scores(collector: FakeCollector) -> None:
    provider = TracerProvider()
    spanscope.init(endpoint=collector.endpoint, tracer_provider=provider)
    spanscope.score("warm_up", 1.0, trace_id="ef" * 16)  # the parent's score thread is running
    assert spanscope.flush(timeout_s=10)

    pid = os.fork()
    if pid == 0:  # child: trace, score, flush, report through the exit code
        code = 1
        try:
            with spanscope.observation("in_child", attributes={"child.pid": os.getpid()}):
                spanscope.score("child_score", 2.0)
            code = 0 if spanscope.flush(timeout_s=10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    names = [span.name for _, span in collector.spans()]
    assert "in_child" in names
    assert "child_score" in [score["name"] for score in collector.scores()]
    provider.shutdown()
