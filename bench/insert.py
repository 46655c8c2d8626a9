"""CPU of the embedded insert alone: the bench's spans as finished JSONEachRow rows into a fresh data dir.

    python bench/insert.py --rows 50000 --batch 10000 --repeat 6 [--drop trace_summary_mv,...]

Rows are built as the collector builds them (decode, normalise, redact, orjson) from bench/ingest.py's
batches, then inserted through `Storage.insert_json_rows` in inserts of `--batch` rows. Prints the
process CPU (user + system, every engine thread included) per row for each repetition and the median
of all but the first two (warm-up). Merges are stopped so that only the insert and its materialized
views are timed. `--drop` removes views first, to see what each one costs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import make_batch


def rows(n: int, spread_s: int) -> list[bytes]:
    import orjson
    from spanscope.collector import otlp
    from spanscope.collector.normalize import NormalizeContext, normalize
    from spanscope.collector.pricing import PriceTable
    from spanscope.collector.security.redaction import PolicySet, redact_rows

    ctx = NormalizeContext(project_id="bench", retention_days=30, prices=PriceTable.load())
    rng = random.Random(7)
    out: list[bytes] = []
    while len(out) < n:
        raw = gzip.decompress(make_batch(1000, rng, spread_s))
        batch: list[dict[str, Any]] = normalize(otlp.decode_traces(raw, otlp.PROTOBUF, otlp.Limits()).spans, ctx)
        redact_rows(batch, PolicySet())
        out += [orjson.dumps(r) for r in batch]
    return out[:n]


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--drop", default="", help="comma-separated materialized views to drop first")
    ap.add_argument("--spread", type=int, default=3600, help="spans start within this many seconds (as ingest.py)")
    args = ap.parse_args()

    from spanscope.collector.storage import Storage

    lines = rows(args.rows, args.spread)
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(None, Path(tmp))
        storage.migrate()
        storage.command("SYSTEM STOP MERGES")
        for view in filter(None, args.drop.split(",")):
            storage.command(f"DROP VIEW {storage.table(view)}")
        storage.insert_json_rows("spans", b"\n".join(lines[:1000]), "warm-up")
        per_row: list[float] = []
        for rep in range(args.repeat):
            t0 = cpu_s()
            for i in range(0, len(lines), args.batch):
                storage.insert_json_rows("spans", b"\n".join(lines[i : i + args.batch]), f"{rep}:{i}")
            per_row.append((cpu_s() - t0) / len(lines) * 1e6)
        stored = storage.query(f"SELECT count() FROM {storage.table('spans')}")[0][0]
        storage.close()
    assert stored == 1000 + args.repeat * len(lines), stored
    settled = per_row[2:] or per_row
    print(f"inserts of {args.batch:,} rows started within {args.spread} s, views dropped: {args.drop or 'none'}")
    print("µs of CPU per row: " + " ".join(f"{v:.1f}" for v in per_row) + f"; median {statistics.median(settled):.1f}")
    print(f"load average (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
