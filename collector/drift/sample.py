"""Bounded, deterministic samples of span texts per window, for what SQL cannot aggregate.

A text column is the costly part of a sample: a sample spread uniformly over a week touches nearly
every granule of it, so reading 250 outputs would decompress all of them. The sample is therefore
drawn in two stages. A narrow query counts the rows in scope per hour of each window. Then whole
hours are chosen, in a low-discrepancy order over the window (bit-reversed positions: the first
hours chosen lie far apart, and at 168 hours their hours of day spread over the whole day too),
at least `MIN_HOURS` of them and enough to hold `SPARE` times the sample; the texts are read only
from those hours, which the spans' primary key (project, hour, …) reads as a few contiguous ranges.
Within them the rows with the smallest `cityHash64(span_id)` make the sample: the same data always
gives the same sample, and span ids are random, so it is uniform within the chosen hours.
What it gives up: a topic or language confined to hours that were not chosen is under-represented;
with `MIN_HOURS` spread over the window that takes a change lasting a small part of the window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from spanscope.collector.api.querying import Params, span_time
from spanscope.collector.drift.scope import BASELINE, Windows, span_scope
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftRequest

MAX_TEXT_CHARS = 2000
MIN_HOURS = 12
SPARE = 4
# Unix seconds bound as DateTime: a set of that type is what the primary key's hour can be matched against.
HOURS_TYPE = "Array(DateTime('UTC'))"


@dataclass(frozen=True)
class SampledText:
    window: int
    text: str
    trace_id: str
    span_id: str


def spread(n: int) -> list[int]:
    """0..n-1 in bit-reversed (van der Corput) order: every prefix is spread evenly over the range."""
    bits = max(1, (n - 1).bit_length())
    order: list[int] = []
    seen: set[int] = set()
    for j in range(1 << bits):
        i = int(n * int(f"{j:0{bits}b}"[::-1], 2) / (1 << bits))
        if i not in seen:
            seen.add(i)
            order.append(i)
    return order


def choose_hours(hours: list[tuple[int, int]], per_window: int) -> list[int]:
    """Hours (unix seconds, with their row counts, in time order) to draw a sample of `per_window` rows from."""
    chosen: list[int] = []
    rows = 0
    for i in spread(len(hours)):
        if len(chosen) >= MIN_HOURS and rows >= SPARE * per_window:
            break
        chosen.append(hours[i][0])
        rows += hours[i][1]
    return sorted(chosen)


HourCounts = dict[int, list[tuple[int, int]]]  # window -> [(hour in unix seconds, rows)], in time order


def hour_counts(
    storage: Storage, project: str, req: DriftRequest, windows: Windows, conditions: list[str]
) -> list[HourCounts]:
    """Rows in scope per hour of each window, for each row condition, in one narrow query."""
    out: list[HourCounts] = [defaultdict(list) for _ in conditions]
    if not conditions:
        return out
    p = Params(project)
    counts = ", ".join(f"countIf({c})" for c in conditions)
    any_row = " OR ".join(f"({c})" for c in conditions)
    for hour, cw, base, *ns in storage.query(
        f"SELECT toUnixTimestamp(toStartOfHour(start_time)) AS hour, {windows.current(p)} AS cw, "
        f"{windows.in_baseline(p)} AS base, {counts} FROM {storage.table('spans')} "
        f"WHERE {span_scope(p, req)} AND {windows.where(p)} AND ({any_row}) GROUP BY hour, cw, base ORDER BY hour",
        p.values,
    ):
        for w in ([BASELINE] if base else []) + ([int(cw)] if cw else []):
            for hours, n in zip(out, ns, strict=True):
                if n:
                    hours[w].append((int(hour), int(n)))
    return out


def sample_texts(
    storage: Storage,
    project: str,
    req: DriftRequest,
    windows: Windows,
    column: str,
    rows: str,
    hours: HourCounts,
    per_window: int,
) -> tuple[dict[int, int], list[SampledText]]:
    """({window: rows in scope}, up to `per_window` sampled texts per window, truncated); `hours` are the
    `hour_counts` of `rows`."""
    sizes = {w: sum(n for _, n in per_hour) for w, per_hour in hours.items() if per_hour}
    if not sizes or per_window <= 0:
        return sizes, []
    p = Params(project)
    scope = f"{span_scope(p, req)} AND ({rows})"
    branches = []
    for w, per_hour in sorted(hours.items()):
        if not per_hour:
            continue
        lo, hi = (windows.base_lo, windows.base_hi) if w == BASELINE else windows.bucket(w)
        branches.append(
            f"(SELECT toInt64({w}) AS w, substringUTF8({column}, 1, {MAX_TEXT_CHARS}) AS text, trace_id, span_id "
            f"FROM {storage.table('spans')} WHERE {scope} AND {span_time(p, lo, hi)} "
            f"AND toStartOfHour(start_time) IN {p.bind(choose_hours(per_hour, per_window), HOURS_TYPE)} "
            f"ORDER BY cityHash64(span_id) LIMIT {int(per_window)})"
        )
    return sizes, [
        SampledText(int(w), str(t), str(tid), str(sid))
        for w, t, tid, sid in storage.query(  # branches of a UNION ALL arrive in any order
            f"SELECT * FROM ({' UNION ALL '.join(branches)}) ORDER BY w, cityHash64(span_id)", p.values
        )
    ]
