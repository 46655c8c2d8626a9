"""Bounded, deterministic samples of span texts per window, for what SQL cannot aggregate.

Per window, the rows with the smallest `cityHash64(span_id)`: the same data always gives the same
sample, and span ids are random, so the sample is uniform. A first pass counts the rows, so the
hash can be pre-filtered to about four times the sample size, which keeps the sort and the reads
of the large text column small.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanscope.collector.api.querying import Params
from spanscope.collector.drift.scope import Windows, span_scope
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftRequest

MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class SampledText:
    window: int
    text: str
    trace_id: str
    span_id: str


def sample_texts(
    storage: Storage,
    project: str,
    req: DriftRequest,
    windows: Windows,
    column: str,
    rows: str,
    per_window: int,
) -> tuple[dict[int, int], list[SampledText]]:
    """({window: rows in scope}, up to `per_window` sampled texts per window, truncated)."""
    p = Params(project)
    where = f"{span_scope(p, req)} AND {windows.where(p)} AND ({rows})"
    sizes = {
        int(w): int(n)
        for w, n in storage.query(
            f"SELECT w, count() FROM {storage.table('spans')} ARRAY JOIN {windows.index(p)} AS w "
            f"WHERE {where} GROUP BY w",
            p.values,
        )
    }
    if not sizes or per_window <= 0:
        return sizes, []
    caps = {w: min(2**64 - 1, int(min(1.0, 4.0 * per_window / n) * 2**64)) for w, n in sizes.items()}
    ws, cs = sorted(caps), [caps[w] for w in sorted(caps)]
    sql = (
        f"SELECT w, substringUTF8({column}, 1, {MAX_TEXT_CHARS}), trace_id, span_id "
        f"FROM {storage.table('spans')} ARRAY JOIN {windows.index(p)} AS w "
        f"WHERE {where} AND cityHash64(span_id) <= {p.bind(max(cs), 'UInt64')} "
        f"AND cityHash64(span_id) <= transform(w, {p.bind(ws, 'Array(Int64)')}, {p.bind(cs, 'Array(UInt64)')}, "
        "toUInt64(0)) "
        f"ORDER BY w, cityHash64(span_id) LIMIT {int(per_window)} BY w"
    )
    return sizes, [SampledText(int(w), str(t), str(tid), str(sid)) for w, t, tid, sid in storage.query(sql, p.values)]
