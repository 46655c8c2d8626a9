"""Rate signals: error, fallback, guardrail block and off-format rates, two-proportion z-tests.

Numerators and denominators are the `schemas.metrics` definitions on raw spans, so a drifting
"fallback rate" is the fallback rate the dashboard and alerts show.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from spanscope.collector.api.querying import Params
from spanscope.collector.drift import stats
from spanscope.collector.drift.scope import Windows, span_scope
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftRequest, DriftSignal, DriftSignalName, DriftThresholds
from spanscope.schemas.metrics import METRICS, Metric


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


def definitions(req: DriftRequest) -> list[RateDef]:
    return [d for d in RATES if req.wants(d.name.value)]


def counts(storage: Storage, project: str, req: DriftRequest, windows: Windows, defs: list[RateDef]) -> Counts:
    """{window: {signal: (events, total)}} in one scan."""
    out: Counts = defaultdict(dict)
    if not defs:
        return out
    p = Params(project)
    cols = ", ".join(
        f"{METRICS[d.events].sql('spans')} AS e{i}, {METRICS[d.total].sql('spans')} AS t{i}" for i, d in enumerate(defs)
    )
    sql = (
        f"SELECT w, {cols} FROM {storage.table('spans')} ARRAY JOIN {windows.index(p)} AS w "
        f"WHERE {span_scope(p, req)} AND {windows.where(p)} GROUP BY w"
    )
    for row in storage.query(sql, p.values):
        for i, d in enumerate(defs):
            out[int(row[0])][d.name.value] = (int(row[1 + 2 * i]), int(row[2 + 2 * i]))
    return out


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
