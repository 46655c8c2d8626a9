"""Ingest throughput: N spans over OTLP/HTTP from concurrent clients, timed until all are queryable.

    python bench/ingest.py --spans 500000 --clients 4 --batch 1000

Prints acknowledged and durable (queryable in ClickHouse) spans per second and the collector's peak
RSS. Bodies are serialised before the clock starts so the clients spend little CPU on this 2-core
machine; they still share it with the collector, as a co-located exporter would.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.collector_process import CollectorProcess

MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "gemini-2.0-flash"]


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(int_value=int(value)))  # type: ignore[call-overload]


def make_batch(n: int, rng: random.Random) -> bytes:
    """n spans in traces of 5: a chain root, retrieval, guardrail and two generations."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(
        [_kv("service.name", "bench-rag"), _kv("deployment.environment.name", "prod")]
    )
    ss = rs.scope_spans.add()
    ss.scope.name = "bench"
    now = time.time_ns()
    trace_id = b""
    root = b""
    for i in range(n):
        if i % 5 == 0:
            trace_id, root = os.urandom(16), os.urandom(8)
        sp = ss.spans.add()
        sp.trace_id = trace_id
        sp.span_id = root if i % 5 == 0 else os.urandom(8)
        if i % 5:
            sp.parent_span_id = root
        start = now - rng.randint(0, 3_600_000_000_000)
        sp.start_time_unix_nano = start
        sp.end_time_unix_nano = start + rng.randint(5_000_000, 4_000_000_000)
        step = i % 5
        if step == 0:
            sp.name = "answer_question"
            sp.attributes.extend(
                [_kv("openinference.span.kind", "CHAIN"), _kv("input.value", "How do I reset my password?")]
            )
        elif step == 1:
            sp.name = "retrieve"
            sp.attributes.extend(
                [
                    _kv("gen_ai.operation.name", "retrieval"),
                    _kv("gen_ai.retrieval.query.text", "reset password"),
                ]
            )
        elif step == 2:
            sp.name = "input_guardrail"
            sp.attributes.extend(
                [_kv("gen_ai.operation.name", "apply_guardrail"), _kv("spanscope.guardrail.verdict", "pass")]
            )
        else:
            model = rng.choice(MODELS)
            sp.name = f"chat {model}"
            sp.attributes.extend(
                [
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.provider.name", "openai"),
                    _kv("gen_ai.request.model", model),
                    _kv("gen_ai.response.model", model),
                    _kv("gen_ai.usage.input_tokens", rng.randint(100, 3000)),
                    _kv("gen_ai.usage.output_tokens", rng.randint(10, 500)),
                    _kv("gen_ai.request.temperature", 0.2),
                    _kv("gen_ai.response.id", f"chatcmpl-{i}"),
                    _kv(
                        "gen_ai.input.messages",
                        '[{"role":"user","parts":[{"type":"text","content":"How do I reset my password?"}]}]',
                    ),
                    _kv(
                        "gen_ai.output.messages",
                        '[{"role":"assistant","parts":[{"type":"text","content":"Open settings and choose Reset."}],'
                        '"finish_reason":"stop"}]',
                    ),
                ]
            )
    return gzip.compress(req.SerializeToString(), compresslevel=1)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()

    rng = random.Random(7)
    nbatches = args.spans // args.batch
    print(f"serialising {nbatches} batches of {args.batch} spans…", flush=True)
    bodies = [make_batch(args.batch, rng) for _ in range(nbatches)]
    total = nbatches * args.batch

    with tempfile.TemporaryDirectory() as tmp:
        proc = CollectorProcess(Path(tmp) / "data", env={"SPANSCOPE_BATCH_INTERVAL_S": "1.0"}).start()
        assert proc.proc is not None
        retries = 0
        lock = threading.Lock()
        queue = list(range(nbatches))

        def client() -> None:
            nonlocal retries
            conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=60)
            while True:
                with lock:
                    if not queue:
                        break
                    i = queue.pop()
                while True:
                    conn.request(
                        "POST",
                        "/v1/traces",
                        bodies[i],
                        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
                    )
                    r = conn.getresponse()
                    r.read()
                    if r.status == 200:
                        break
                    with lock:
                        retries += 1
                    time.sleep(float(r.getheader("Retry-After") or 1))
            conn.close()

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_ack = time.perf_counter() - t0
        stored = proc.wait_for_count("SELECT count() FROM spanscope.spans", total, timeout=600)
        t_durable = time.perf_counter() - t0
        rss = peak_rss_mb(proc.proc.pid)
        proc.stop()

    print(f"spans sent:           {total:,} in {nbatches} requests from {args.clients} clients")
    print(
        f"acknowledged:         {total / t_ack:,.0f} spans/s ({t_ack:.1f} s, {retries} retried after 429/503)"
    )
    print(f"durable + queryable:  {stored / t_durable:,.0f} spans/s ({t_durable:.1f} s, {stored:,} stored)")
    print(f"collector peak RSS:   {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
