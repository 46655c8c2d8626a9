"""Drift rules: one drift signal of the rule's scope, current window against a trailing baseline."""

from __future__ import annotations

from spanscope.collector.alerts.evaluate import Evaluation, rule_window
from spanscope.collector.api.querying import TimeRange, to_us
from spanscope.collector.drift.report import drift_report
from spanscope.collector.storage import Storage
from spanscope.schemas.alerts import AlertRule, GroupEvaluation, parse_duration
from spanscope.schemas.drift import STATUS_ORDER, DriftRequest, DriftSignal, DriftThresholds


def drift_request(rule: AlertRule, now: float | None = None) -> DriftRequest:
    assert rule.drift is not None
    f = rule.filters
    window = rule_window(rule, now)

    def one(values: list[str]) -> str | None:
        return values[0] if values else None

    return DriftRequest(
        service=one(f.service),
        span_name=one(f.name),
        model=one(f.model),
        prompt_name=one(f.prompt_name),
        prompt_version=one(f.prompt_version),
        kind=one(f.kind),
        environment=one(f.environment),
        current_end=window.end,
        current_start=window.start,
        baseline_s=parse_duration(rule.drift.baseline),
        signals=[rule.drift.signal],
        thresholds=DriftThresholds(min_samples=rule.drift.min_samples),
        semantic_top=0,
    )


def drift_breached(rule: AlertRule, signal: DriftSignal) -> bool:
    assert rule.drift is not None
    if signal.status == "insufficient_data":
        return False
    if rule.drift.psi_above is not None:
        return signal.value is not None and signal.value > rule.drift.psi_above
    return STATUS_ORDER[signal.status] >= STATUS_ORDER[rule.drift.min_status]


def evaluate_drift(storage: Storage, rule: AlertRule, now: float | None = None) -> Evaluation:
    assert rule.drift is not None
    req = drift_request(rule, now)
    report = drift_report(storage, rule.project_id, req)
    signal = next((s for s in report.signals if s.name == rule.drift.signal), None)
    window = TimeRange(to_us(report.current.start), to_us(report.current.end))
    if signal is None:
        value, samples, hit = None, 0, False
        detail = f"{rule.name}: no drift signal {rule.drift.signal!r} in this scope over the last {rule.window}"
    else:
        value, samples, hit = signal.value, signal.n_current, drift_breached(rule, signal)
        effect = f"{signal.statistic} {signal.value:.3f}" if signal.value is not None else "no effect size"
        detail = (
            f"{rule.name}: {signal.label} drift is {signal.status} ({effect}, {signal.n_current} vs "
            f"{signal.n_baseline} values) over the last {rule.window} against the {rule.drift.baseline} before"
        )
    group = GroupEvaluation(group_key="", group={}, value=value, samples=samples, breached=hit, detail=detail)
    return Evaluation(window, [group])
