"""A signal's drift over time: each bucket of the current range against the whole baseline.

The same scans as a report, with the current range cut into buckets in SQL, so a day of hourly
PSI costs one query. Sampled signals (output language, semantic) have no history: a bounded
sample per bucket would be too small to mean anything.
"""

from __future__ import annotations

from datetime import UTC, datetime

from spanscope.collector.api.querying import QueryError, from_us
from spanscope.collector.drift import categorical, numeric, rates, scan
from spanscope.collector.drift.scope import BASELINE, CURRENT, Windows
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import (
    SCORE_PREFIX,
    DriftHistory,
    DriftHistoryPoint,
    DriftRequest,
    DriftSignal,
    DriftSignalName,
)

MAX_BUCKETS = 500
AUTO_INTERVALS_S = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
AUTO_POINTS = 48
HISTORY_SIGNALS = frozenset(s.value for s in DriftSignalName) - {
    DriftSignalName.OUTPUT_LANGUAGE_MIX.value,
    DriftSignalName.INPUT_SEMANTIC.value,
}


def auto_interval(seconds: float) -> int:
    """The smallest interval giving at most AUTO_POINTS buckets."""
    for step in AUTO_INTERVALS_S:
        if seconds / step <= AUTO_POINTS:
            return step
    return AUTO_INTERVALS_S[-1]


def drift_history(
    storage: Storage, project: str, req: DriftRequest, signal: str, interval_s: int | None = None
) -> DriftHistory:
    if signal not in HISTORY_SIGNALS and not signal.startswith(SCORE_PREFIX):
        raise QueryError(f"no history for {signal!r}; known: {sorted(HISTORY_SIGNALS)} or score:<name>")
    baseline, current = req.windows(datetime.now(UTC))
    span_s = (current.end - current.start).total_seconds()
    step = interval_s or auto_interval(span_s)
    if span_s / step > MAX_BUCKETS:
        raise QueryError(f"interval {step}s gives more than {MAX_BUCKETS} points; choose a longer one")
    windows = Windows.of(baseline, current, step)
    signals = _per_bucket(storage, project, req.model_copy(update={"signals": [signal]}), windows, signal)
    points = []
    for i, s in signals.items():
        lo, hi = windows.bucket(i)
        points.append(
            DriftHistoryPoint(
                start=from_us(lo), end=from_us(hi), value=s.value, p_value=s.p_value, n=s.n_current, status=s.status
            )
        )
    return DriftHistory(
        signal=signal, statistic=signals[CURRENT].statistic, baseline=baseline, interval_s=step, points=points
    )


def _per_bucket(
    storage: Storage, project: str, req: DriftRequest, windows: Windows, signal: str
) -> dict[int, DriftSignal]:
    th = req.thresholds
    buckets = range(CURRENT, CURRENT + windows.buckets)
    if signal.startswith(SCORE_PREFIX):
        scores = numeric.score_histograms(storage, project, req, windows)
        label = f"Score {signal.removeprefix(SCORE_PREFIX)}"
        return {i: numeric.compare(signal, label, *numeric.window_pair(scores, signal, i), th) for i in buckets}
    for nd in numeric.definitions(req):
        hists, _ = scan.span_signals(storage, project, req, windows, [nd], [])
        return {i: numeric.compare(signal, nd.label, *numeric.window_pair(hists, signal, i), th) for i in buckets}
    for rd in rates.definitions(req):
        counts = rates.counts(storage, project, req, windows, [rd])
        base = counts[BASELINE].get(signal, (0, 0))
        return {i: rates.compare(rd, base, counts[i].get(signal, (0, 0)), th) for i in buckets}
    for md in categorical.definitions(req):
        _, mixes = scan.span_signals(storage, project, req, windows, [], [md])
        return {
            i: categorical.compare(signal, md.label, mixes[(signal, BASELINE)], mixes[(signal, i)], th) for i in buckets
        }
    raise QueryError(f"no history for {signal!r}")
