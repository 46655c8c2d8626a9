"""Rate signals: error, fallback, guardrail block and off-format rates, two-proportion z-tests.

Numerators and denominators are the `schemas.metrics` definitions, so a drifting "fallback rate" is
the fallback rate the dashboard and alerts show. They are read as the dashboard reads them: whole
days, hours and minutes of a window from the rollup tables (a few thousand rows instead of millions
of spans), and only the partial minutes at its edges from raw spans, so the counts are exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from spanscope.collector.api.querying import ROLLUP_LEVELS, Params, rollup_cover, span_time
from spanscope.collector.drift import stats
from spanscope.collector.drift.scope import BASELINE, CURRENT, Windows, span_scope
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftRequest, DriftSignal, DriftSignalName, DriftThresholds
from spanscope.schemas.metrics import METRICS, Metric, Source


@dataclass(frozen=True)
class RateDef:
    name: DriftSignalName
    label: str
    events: Metric
    total: Metric


RATES = (
    RateDef(DriftSignalName.ERROR_RATE, "Error rate", Metric.ERRORS, Metric.SPANS),
    RateDef(DriftSignalName.FALLBACK_RATE, "Fallback rate", Metric.FALLBACKS, Metric.LLM_CALLS),
    RateDef(
        DriftSignalName.GUARDRAIL_BLOCK_RATE, "Guardrail block rate", Metric.GUARDRAIL_BLOCKS, Metric.GUARDRAIL_CHECKS
    ),
    RateDef(DriftSignalName.OFF_FORMAT_RATE, "Off-format rate", Metric.OFF_FORMAT, Metric.VALIDATED),
)

Counts = dict[int, dict[str, tuple[int, int]]]
# The rollup levels in microseconds, then raw spans for what no whole minute covers.
LEVELS_US = (
    *((table, column, grain * 1_000_000, units) for table, column, grain, units in ROLLUP_LEVELS),
    ("spans", "start_time", 1, 1),
)


def definitions(req: DriftRequest) -> list[RateDef]:
    return [d for d in RATES if req.wants(d.name.value)]


def counts(storage: Storage, project: str, req: DriftRequest, windows: Windows, defs: list[RateDef]) -> Counts:
    """{window: {signal: (events, total)}} in one query."""
    if not defs:
        return defaultdict(dict)
    if windows.bucket_us:
        # Every bucket's edges would need arms of their own (hundreds for a history); one scan is cheaper.
        return _from_spans(storage, project, req, windows, defs)
    return _from_rollups(storage, project, req, windows, defs)


def _from_rollups(storage: Storage, project: str, req: DriftRequest, windows: Windows, defs: list[RateDef]) -> Counts:
    out: Counts = defaultdict(dict)
    p = Params(project)
    ranges = [(BASELINE, windows.base_lo, windows.base_hi)]
    ranges += [(i, *windows.bucket(i)) for i in range(CURRENT, CURRENT + windows.buckets)]
    branches = []
    for w, lo, hi in ranges:
        for table, column, a, b in rollup_cover(lo, hi, LEVELS_US):
            source: Source = "spans" if table == "spans" else "rollup"
            cols = ", ".join(
                f"{METRICS[d.events].sql(source)} AS e{i}, {METRICS[d.total].sql(source)} AS t{i}"
                for i, d in enumerate(defs)
            )
            if source == "spans":
                when = span_time(p, a, b)
            else:
                when = f"{column} >= {p.seconds(a // 1_000_000)} AND {column} < {p.seconds(b // 1_000_000)}"
            branches.append(
                f"SELECT toInt64({w}) AS w, {cols} FROM {storage.table(table)} WHERE {span_scope(p, req)} AND {when}"
            )
    for w, *values in storage.query(" UNION ALL ".join(branches), p.values):
        _add(out, [int(w)], defs, values)
    return out


def _from_spans(storage: Storage, project: str, req: DriftRequest, windows: Windows, defs: list[RateDef]) -> Counts:
    out: Counts = defaultdict(dict)
    p = Params(project)
    cols = ", ".join(
        f"{METRICS[d.events].sql('spans')} AS e{i}, {METRICS[d.total].sql('spans')} AS t{i}" for i, d in enumerate(defs)
    )
    sql = (
        f"SELECT {windows.current(p)} AS cw, {windows.in_baseline(p)} AS base, {cols} FROM {storage.table('spans')} "
        f"WHERE {span_scope(p, req)} AND {windows.where(p)} GROUP BY cw, base"
    )
    for cw, base, *values in storage.query(sql, p.values):
        # A row in both windows (a fixed baseline overlapping the current range) counts in both.
        _add(out, ([BASELINE] if base else []) + ([int(cw)] if cw else []), defs, values)
    return out


def _add(out: Counts, windows: list[int], defs: list[RateDef], values: list[int]) -> None:
    for w in windows:
        for i, d in enumerate(defs):
            e, t = out[w].get(d.name.value, (0, 0))
            out[w][d.name.value] = (e + int(values[2 * i]), t + int(values[2 * i + 1]))


def compare(d: RateDef, base: tuple[int, int], cur: tuple[int, int], th: DriftThresholds) -> DriftSignal:
    (k1, n1), (k2, n2) = base, cur
    signal = DriftSignal(
        name=d.name.value,
        label=d.label,
        type="rate",
        statistic="diff",
        test="two_proportion_z",
        n_baseline=n1,
        n_current=n2,
        baseline_summary=k1 / n1 if n1 else None,
        current_summary=k2 / n2 if n2 else None,
        categories=["yes", "no"],
        baseline_counts=[k1, n1 - k1],
        current_counts=[k2, n2 - k2],
        baseline=[k1 / n1, 1 - k1 / n1] if n1 else [],
        current=[k2 / n2, 1 - k2 / n2] if n2 else [],
    )
    if n1 and n2:
        test = stats.two_proportions(k1, n1, k2, n2)
        signal.value = k2 / n2 - k1 / n1
        signal.test_statistic, signal.p_value = test.statistic, test.p_value
    signal.status, signal.detail = stats.grade(
        signal.value, signal.p_value, n1, n2, th.rate_moderate, th.rate_significant, th, "rate change"
    )
    return signal
