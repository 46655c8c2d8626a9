"""A drift report: every signal of a scope, current window against baseline (DESIGN §6).

Aggregation happens in ClickHouse: one scan for the numeric histograms, one for the rates, one for the
category mixes, one over scores; plus bounded samples of outputs (language) and inputs (semantic).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from spanscope.collector.drift import categorical, numeric, rates, semantic
from spanscope.collector.drift.scope import BASELINE, CURRENT, Windows
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import (
    SCORE_PREFIX,
    STATUS_ORDER,
    DriftReport,
    DriftRequest,
    DriftSignal,
    DriftSignalName,
    DriftStatus,
)


def drift_report(storage: Storage, project: str, req: DriftRequest) -> DriftReport:
    """All requested signals of `project` in the request's scope, graded by the request's thresholds."""
    started = time.perf_counter()
    baseline, current = req.windows(datetime.now(UTC))
    windows = Windows.of(baseline, current)
    th = req.thresholds
    signals: list[DriftSignal] = []

    num_defs = numeric.definitions(req)
    hists = numeric.span_histograms(storage, project, req, windows, num_defs)
    for d in num_defs:
        base, cur = numeric.window_pair(hists, d.name.value, CURRENT)
        signals.append(numeric.compare(d.name.value, d.label, base, cur, th))
    scores = numeric.score_histograms(storage, project, req, windows)
    for name in sorted({sig for sig, _ in scores}):
        base, cur = numeric.window_pair(scores, name, CURRENT)
        signals.append(numeric.compare(name, f"Score {name.removeprefix(SCORE_PREFIX)}", base, cur, th))

    rate_defs = rates.definitions(req)
    rate_counts = rates.counts(storage, project, req, windows, rate_defs)
    for rd in rate_defs:
        zero = (0, 0)
        signals.append(
            rates.compare(
                rd, rate_counts[BASELINE].get(rd.name.value, zero), rate_counts[CURRENT].get(rd.name.value, zero), th
            )
        )

    mix_defs = categorical.definitions(req)
    mixes = categorical.mixes(storage, project, req, windows, mix_defs)
    for md in mix_defs:
        signals.append(
            categorical.compare(
                md.name.value, md.label, mixes[(md.name.value, BASELINE)], mixes[(md.name.value, CURRENT)], th
            )
        )
    if req.wants(DriftSignalName.OUTPUT_LANGUAGE_MIX.value):
        lang = categorical.language_mix(storage, project, req, windows)
        key = DriftSignalName.OUTPUT_LANGUAGE_MIX.value
        signals.append(
            categorical.compare(
                key, categorical.LANGUAGE_LABEL, lang[(key, BASELINE)], lang[(key, CURRENT)], th, sampled=True
            )
        )

    sem = None
    if req.wants(DriftSignalName.INPUT_SEMANTIC.value):
        sem, sem_signal = semantic.semantic_drift(storage, project, req, windows)
        signals.append(sem_signal)

    return DriftReport(
        request=req,
        baseline=baseline,
        current=current,
        signals=signals,
        semantic=sem,
        status=worst(signals),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def worst(signals: list[DriftSignal]) -> DriftStatus:
    status: DriftStatus = "insufficient_data"
    for s in signals:
        if STATUS_ORDER[s.status] > STATUS_ORDER[status]:
            status = s.status
    return status
