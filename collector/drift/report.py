"""A drift report: every signal of a scope, current window against baseline (DESIGN §6).

Aggregation happens in ClickHouse: one query for the numeric histograms and category mixes (`scan`),
one for the rates, one over scores; plus bounded samples of outputs (language) and inputs (semantic).
The sampled signals spend most of their time in Python (language detection, vectorising, the
permutation test), so they run on a worker thread while ClickHouse aggregates on the caller's: each
thread has its own client (`Storage`), and chDB runs queries of several clients of one engine.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from spanscope.collector.drift import categorical, numeric, rates, sample, scan, semantic
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
    SemanticDrift,
)


def drift_report(storage: Storage, project: str, req: DriftRequest) -> DriftReport:
    """All requested signals of `project` in the request's scope, graded by the request's thresholds."""
    started = time.perf_counter()
    baseline, current = req.windows(datetime.now(UTC))
    windows = Windows.of(baseline, current)
    th = req.thresholds
    signals: list[DriftSignal] = []
    sampled = _SAMPLER.submit(_sampled_signals, storage, project, req, windows) if _wants_samples(req) else None

    num_defs = numeric.definitions(req)
    mix_defs = categorical.definitions(req)
    hists, mixes = scan.span_signals(storage, project, req, windows, num_defs, mix_defs)
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

    for md in mix_defs:
        signals.append(
            categorical.compare(
                md.name.value, md.label, mixes[(md.name.value, BASELINE)], mixes[(md.name.value, CURRENT)], th
            )
        )
    sem = None
    if sampled is not None:
        language, sem, sem_signal = sampled.result()
        signals += [x for x in (language, sem_signal) if x is not None]

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


# Long-lived workers: each keeps its storage client across reports instead of opening one per call.
_SAMPLER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drift-sample")
_SAMPLED = (DriftSignalName.OUTPUT_LANGUAGE_MIX.value, DriftSignalName.INPUT_SEMANTIC.value)


def _wants_samples(req: DriftRequest) -> bool:
    return any(req.wants(name) for name in _SAMPLED)


def _sampled_signals(
    storage: Storage, project: str, req: DriftRequest, windows: Windows
) -> tuple[DriftSignal | None, SemanticDrift | None, DriftSignal | None]:
    """(output language signal, semantic drift, its signal), each None when not requested; one narrow
    query counts the rows per hour that both samples are drawn from."""
    want_lang, want_sem = (req.wants(name) for name in _SAMPLED)
    conditions = ([categorical.LLM_OUTPUT] if want_lang else []) + ([semantic.rows(req)] if want_sem else [])
    hours = sample.hour_counts(storage, project, req, windows, conditions)
    language = sem = sem_signal = None
    if want_lang:
        key = DriftSignalName.OUTPUT_LANGUAGE_MIX.value
        lang = categorical.language_mix(storage, project, req, windows, hours[0])
        language = categorical.compare(
            key, categorical.LANGUAGE_LABEL, lang[(key, BASELINE)], lang[(key, CURRENT)], req.thresholds, sampled=True
        )
    if want_sem:
        sem, sem_signal = semantic.semantic_drift(storage, project, req, windows, hours[-1])
    return language, sem, sem_signal
