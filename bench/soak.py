"""Soak: a long steady load at 80% of the measured maximum ingest rate; memory must stay flat, nothing lost.

    python bench/soak.py [--minutes 10] [--fraction 0.8] [--rate SPANS_PER_S] [--probe-seconds 30] [--report-seconds 60]

1. Starts a collector (`spanscope collector`, embedded chDB) in a temporary directory.
2. Unless --rate is given, measures the maximum durable rate: two clients send as fast as the
   collector acknowledges for --probe-seconds, then the clock stops when every acknowledged span is
   queryable in ClickHouse.
3. Sends --fraction of that rate for --minutes with paced clients (OTLP protobuf, 1,000 spans per
   request in traces of 5, as bench/ingest.py builds them), retrying 429/503 after Retry-After.
4. Waits for the backlog to drain and counts: spans acknowledged, stored, lost (acknowledged but
   not stored) and doubled (stored more than once).

Prints the collector's RSS (the process, its anonymous part, and apart its ingest workers) and the
embedded engine's tracked memory, allocations, in-memory primary keys and active parts at the start
of the soak, every --report-seconds and at the end; then the peak RSS (sampled every 5 s).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_batch
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from spanscope.collector.config import Settings

from tests.collector_process import CollectorProcess

MARK = b"\xa5\x5a\xc3\x3c\x96\x69\x0f\xf0"  # first 8 bytes of every trace id in the template


def template(batch: int) -> bytes:
    """One request whose trace ids all start with MARK, so a request is made unique by one replace."""
    import gzip

    req = ExportTraceServiceRequest.FromString(gzip.decompress(make_batch(batch, random.Random(11))))
    for rs in req.resource_spans:
        rs.resource.attributes[0].value.string_value = "soak"
        for ss in rs.scope_spans:
            for i, sp in enumerate(ss.spans):
                sp.trace_id = MARK + (i // 5).to_bytes(8, "big")
    raw = req.SerializeToString()
    assert raw.count(MARK) == batch
    return raw


class Sender:
    """Clients posting unique copies of the template; counts what the collector acknowledged."""

    def __init__(self, port: int, body: bytes, batch: int) -> None:
        self.port, self.body, self.batch = port, body, batch
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.acked = self.refused = 0

    def post(self, conn: http.client.HTTPConnection) -> None:
        body = self.body.replace(MARK, next(self.ids).to_bytes(8, "big"))
        while True:
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                with self.lock:
                    self.acked += self.batch
                return
            with self.lock:
                self.refused += 1
            time.sleep(float(r.getheader("Retry-After") or 1))

    def run(self, clients: int, seconds: float, rate: float | None) -> None:
        """`clients` threads for `seconds`; paced to `rate` spans/s in total, or flat out."""
        deadline = time.monotonic() + seconds
        interval = clients * self.batch / rate if rate else 0.0

        def client(offset: float) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            next_at = time.monotonic() + offset
            while time.monotonic() < deadline:
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    next_at += interval
                self.post(conn)
            conn.close()

        threads = [threading.Thread(target=client, args=(i * interval / clients,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def rss_mb(pid: int) -> tuple[float, float, float]:
    """Resident memory (MiB) of the collector process, the anonymous part of it (heaps, not mapped
    library code) and of its ingest worker processes."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            children += [int(p) for p in path.read_text().split()]
    main = _status(pid)
    return main.get("VmRSS", 0.0), main.get("RssAnon", 0.0), sum(_status(p).get("VmRSS", 0.0) for p in children)


def _status(pid: int) -> dict[str, float]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) / 1024 for k, _, v in (ln.partition(":") for ln in lines) if v.endswith("kB")}


ENGINE_SQL = """
SELECT
    (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked,
    (SELECT extract(stats, 'Allocated: (\\d+)') FROM system.jemalloc_stats) AS allocated,
    (SELECT sum(primary_key_bytes_in_memory_allocated) FROM system.parts WHERE active) AS pk,
    (SELECT count() FROM system.parts WHERE active AND database = 'spanscope') AS parts
"""


def engine(proc: CollectorProcess) -> str:
    """The embedded engine's own view: memory it tracks, what its allocator has handed out, primary
    keys held in memory, active parts (merges keeping up)."""
    try:
        row = proc.sql(ENGINE_SQL)[0]
    except (AssertionError, OSError) as exc:
        return f"engine: {str(exc)[:60]}"
    mib = {k: int(row[k] or 0) / 2**20 for k in ("tracked", "allocated", "pk")}
    return (
        f"engine tracked {mib['tracked']:4.0f} allocated {mib['allocated']:4.0f} pk {mib['pk']:4.1f} MiB  "
        f"parts {row['parts']:3d}"
    )


def stored(proc: CollectorProcess) -> tuple[int, int]:
    row = proc.sql(
        "SELECT count() AS n, uniqExact(trace_id, span_id) AS u FROM spanscope.spans WHERE service = 'soak'"
    )[0]
    return int(row["n"]), int(row["u"])


def drain(proc: CollectorProcess, expected: int, timeout: float = 600) -> float:
    t0 = time.monotonic()
    proc.wait_for_count("SELECT count() FROM spanscope.spans WHERE service = 'soak'", expected, timeout=timeout)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--rate", type=float, help="maximum rate in spans/s (skips the probe)")
    ap.add_argument("--probe-seconds", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--report-seconds", type=float, default=60.0, help="RSS and engine figures this often")
    args = ap.parse_args()

    body = template(args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"SPANSCOPE_BATCH_INTERVAL_S": str(Settings.batch_interval_s)}  # the product's batches, not the tests'
        proc = CollectorProcess(Path(tmp) / "data", env=env).start()
        assert proc.proc is not None
        pid = proc.proc.pid
        sender = Sender(proc.port, body, args.batch)
        try:
            max_rate = args.rate
            if max_rate is None:
                t0 = time.monotonic()
                sender.run(args.clients, args.probe_seconds, None)
                drain(proc, sender.acked)
                max_rate = sender.acked / (time.monotonic() - t0)
                print(f"maximum durable rate: {max_rate:,.0f} spans/s (probe of {args.probe_seconds:.0f} s)")
            target = args.fraction * max_rate
            print(f"soak: {target:,.0f} spans/s for {args.minutes:g} min", flush=True)
            samples: list[float] = []
            stop = threading.Event()
            t0 = time.monotonic()

            def report(label: str) -> float:
                main_mb, anon_mb, workers_mb = rss_mb(pid)
                print(
                    f"  {label:>8}  RSS {main_mb + workers_mb:5.0f} MiB (collector {main_mb:4.0f}, anon {anon_mb:4.0f};"
                    f" workers {workers_mb:4.0f})  {engine(proc)}  acked {sender.acked - before:,}",
                    flush=True,
                )
                return main_mb + workers_mb

            def sample() -> None:
                next_report = args.report_seconds
                while not stop.wait(5.0):
                    at = time.monotonic() - t0
                    if at >= next_report:
                        samples.append(report(f"{at / 60:.1f} min"))
                        next_report += args.report_seconds
                    else:
                        main_mb, _, workers_mb = rss_mb(pid)
                        samples.append(main_mb + workers_mb)

            before = sender.acked
            rss_start = report("start")
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sender.run(args.clients, args.minutes * 60, target)
            elapsed = time.monotonic() - t0
            stop.set()
            sampler.join()
            rss_end = report("end")
            drained_in = drain(proc, sender.acked)
            count, unique = stored(proc)
        finally:
            proc.stop()

    sent = sender.acked - before
    peak = max([rss_start, rss_end, *samples])
    print(f"achieved rate:  {sent / elapsed:,.0f} spans/s over {elapsed:.0f} s ({sender.refused} refusals retried)")
    print(f"RSS start:      {rss_start:,.0f} MiB")
    print(f"RSS end:        {rss_end:,.0f} MiB")
    print(f"RSS peak:       {peak:,.0f} MiB")
    print(f"acknowledged:   {sender.acked:,} spans (probe included)")
    print(f"stored:         {count:,} ({unique:,} distinct; drained {drained_in:.1f} s after the load stopped)")
    print(f"lost:           {sender.acked - unique:,}")
    print(f"doubled:        {count - unique:,}")


if __name__ == "__main__":
    main()
