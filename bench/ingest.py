"""Ingest throughput: N spans over OTLP/HTTP from concurrent clients, timed until all are queryable.

    python bench/ingest.py --spans 500000 --clients 4 --batch 1000 [--workers 2] [--stages]

Prints acknowledged and durable (queryable in ClickHouse) spans per second, the collector's peak
RSS, the CPU time the collector and its ingest workers spent per span (what bounds throughput on
an idle machine: 2 cores give at most 2e6 / µs-per-span spans/s) and the load average, since a
shared machine gives the collector only part of its cores. Bodies are serialised before the clock
starts so the clients spend little CPU; they still share the machine with the collector, as a
co-located exporter would. `--stages` first times the per-span stages in this process (CPU time,
best of several runs): decode, normalise, redact, JSON rows.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def make_batch(n: int, rng: random.Random, spread_s: int = 3600) -> bytes:
    """n spans in traces of 5: a chain root, retrieval, guardrail and two generations, started
    within the last `spread_s` seconds."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "bench-rag"), _kv("deployment.environment.name", "prod")])
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
        start = now - rng.randint(0, spread_s * 1_000_000_000)
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


def _proc_stat(path: Path) -> tuple[str, list[str]] | None:
    """The name and the fields after it of a /proc stat file (None once the process is gone)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    return text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()


def _cpu_s(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def tree_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of a process and its live children, by pid."""
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry / "stat")
        if stat is not None and (int(entry.name) == pid or int(stat[1][1]) == pid):  # [1] is the parent pid
            out[int(entry.name)] = _cpu_s(stat[1])
    return out


def stages(bodies: list[bytes], repeat: int = 5) -> dict[str, float]:
    """µs of CPU per span of each ingest stage, in this process (best of `repeat` over all bodies)."""
    import orjson
    from spanscope.collector import otlp
    from spanscope.collector.normalize import NormalizeContext, normalize
    from spanscope.collector.pricing import PriceTable
    from spanscope.collector.security.redaction import PolicySet, redact_rows

    ctx = NormalizeContext(project_id="bench", retention_days=30, prices=PriceTable.load())
    limits, policies = otlp.Limits(), PolicySet()
    raws = [gzip.decompress(b) for b in bodies]
    best: dict[str, float] = {}
    clock: Callable[[], float] = time.process_time
    for _ in range(repeat):
        spent = dict.fromkeys(("decode", "normalise", "redact", "JSON rows"), 0.0)
        n = 0
        for raw in raws:
            t0 = clock()
            spans = otlp.decode_traces(raw, otlp.PROTOBUF, limits).spans
            t1 = clock()
            rows: list[dict[str, Any]] = normalize(spans, ctx)
            t2 = clock()
            redact_rows(rows, policies)
            t3 = clock()
            [orjson.dumps(r) for r in rows]
            t4 = clock()
            n += len(rows)
            for key, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[key] += dt
        for key, dt in spent.items():
            best[key] = min(best.get(key, float("inf")), dt / n * 1e6)
    best["total"] = sum(best.values())
    return best


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of a process's threads by thread name: the engine names its threads (ThreadPool,
    MergeMutate, ChunkParser…), Python threads keep the process's name."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = _proc_stat(task / "stat")
        if stat is not None:
            out[stat[0]] = out.get(stat[0], 0.0) + _cpu_s(stat[1])
    return out


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
    ap.add_argument("--workers", type=int, default=None, help="ingest worker processes (default: the collector's)")
    ap.add_argument("--stages", action="store_true", help="also time the ingest stages in-process")
    ap.add_argument(
        "--interval", type=float, default=None, help="the collector's SPANSCOPE_BATCH_INTERVAL_S (default: its own)"
    )
    args = ap.parse_args()

    rng = random.Random(7)
    nbatches = args.spans // args.batch
    print(f"serialising {nbatches} batches of {args.batch} spans…", flush=True)
    bodies = [make_batch(args.batch, rng) for _ in range(nbatches)]
    total = nbatches * args.batch
    if args.stages:
        figures = stages(bodies[:20])
        print("in-process µs of CPU per span: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)

    from spanscope.collector.config import Settings

    # CollectorProcess gives test collectors short batches; the bench runs the product's default.
    env = {"SPANSCOPE_BATCH_INTERVAL_S": str(Settings.batch_interval_s if args.interval is None else args.interval)}
    if args.workers is not None:
        env["SPANSCOPE_INGEST_WORKERS"] = str(args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        proc = CollectorProcess(Path(tmp) / "data", env=env).start()
        assert proc.proc is not None
        retries = 0
        lock = threading.Lock()

        def client(queue: list[bytes]) -> None:
            nonlocal retries
            conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=60)
            while True:
                with lock:
                    if not queue:
                        break
                    body = queue.pop()
                while True:
                    conn.request(
                        "POST",
                        "/v1/traces",
                        body,
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

        def run(queue: list[bytes], clients: int) -> None:
            threads = [threading.Thread(target=client, args=(queue,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        # Two requests at once start both ingest workers, so their start-up is neither timed nor counted.
        run([make_batch(args.batch, rng) for _ in range(2)], 2)
        warm = proc.wait_for_count("SELECT count() FROM spanscope.spans", 2 * args.batch, timeout=120)
        load_before = os.getloadavg()[0]
        cpu_before = tree_cpu_s(proc.proc.pid)
        threads_before = thread_cpu_s(proc.proc.pid)
        t0 = time.perf_counter()
        run(list(bodies), args.clients)
        t_ack = time.perf_counter() - t0
        stored = proc.wait_for_count("SELECT count() FROM spanscope.spans", warm + total, timeout=600) - warm
        t_durable = time.perf_counter() - t0
        cpu_after = tree_cpu_s(proc.proc.pid)
        threads_after = thread_cpu_s(proc.proc.pid)
        load_after = os.getloadavg()[0]
        rss = peak_rss_mb(proc.proc.pid)
        proc.stop()

    print(f"spans sent:           {total:,} in {nbatches} requests from {args.clients} clients")
    print(f"acknowledged:         {total / t_ack:,.0f} spans/s ({t_ack:.1f} s, {retries} retried after 429/503)")
    print(f"durable + queryable:  {stored / t_durable:,.0f} spans/s ({t_durable:.1f} s, {stored:,} stored)")
    print(f"collector peak RSS:   {rss:,.0f} MiB")
    spent = {pid: t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items()}
    cpu = sum(spent.values())
    main_cpu = spent.get(proc.proc.pid, 0.0)
    print(
        f"collector CPU:        {cpu / stored * 1e6:.1f} µs/span, of which {main_cpu / stored * 1e6:.1f} in the main "
        f"process ({cpu:.1f} s over {len(spent)} processes; 2 idle cores: ≤ {2 * stored / cpu:,.0f} spans/s)"
    )
    by_thread = {n: t - threads_before.get(n, 0.0) for n, t in threads_after.items()}
    busiest = sorted(((t, n) for n, t in by_thread.items() if t > 0), reverse=True)
    print("main process by thread: " + ", ".join(f"{n} {t / stored * 1e6:.1f}" for t, n in busiest) + " µs/span")
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")


if __name__ == "__main__":
    main()
