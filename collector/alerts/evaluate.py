"""What a rule sees now: its metric over the trailing window, per group, and whether that breaches it.

Metric rules read the rollup tables through the shared metric SQL (`schemas/metrics.py`), so an
alert on "p95 latency" means what the dashboard shows as p95 latency. The window is widened to
whole minutes, the rollups' grain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from spanscope.collector.api.querying import Params, SpanFilters, TimeRange, dimension_sql, metrics_sql
from spanscope.collector.storage import Storage
from spanscope.schemas.alerts import AlertRule, GroupEvaluation, compare
from spanscope.schemas.metrics import METRICS, Metric, alias, metric_value

# The count a metric is measured over: a rate or percentile of too few of these is noise.
_SAMPLES: dict[Metric, Metric] = {
    Metric.TRACE_LATENCY_P50: Metric.REQUESTS,
    Metric.TRACE_LATENCY_P95: Metric.REQUESTS,
    Metric.TRACE_LATENCY_P99: Metric.REQUESTS,
    Metric.REQUESTS: Metric.REQUESTS,
    Metric.COST_PER_REQUEST: Metric.REQUESTS,
    Metric.LLM_CALLS: Metric.LLM_CALLS,
    Metric.FALLBACKS: Metric.LLM_CALLS,
    Metric.FALLBACK_RATE: Metric.LLM_CALLS,
    Metric.GUARDRAIL_CHECKS: Metric.GUARDRAIL_CHECKS,
    Metric.GUARDRAIL_BLOCKS: Metric.GUARDRAIL_CHECKS,
    Metric.GUARDRAIL_BLOCK_RATE: Metric.GUARDRAIL_CHECKS,
    Metric.VALIDATED: Metric.VALIDATED,
    Metric.OFF_FORMAT: Metric.VALIDATED,
    Metric.OFF_FORMAT_RATE: Metric.VALIDATED,
}


def sample_metric(metric: Metric) -> Metric:
    return _SAMPLES.get(metric, Metric.SPANS)


def is_additive(metric: Metric) -> bool:
    """Counts and sums are 0 without data (and can breach `requests < 10`); rates and percentiles are None."""
    return METRICS[metric].kind == "additive"


def format_value(metric: Metric | None, value: float | None) -> str:
    if value is None:
        return "no data"
    unit = METRICS[metric].unit if metric else "count"
    if unit == "ratio":
        return f"{value:.2%}"
    if unit == "usd":
        return f"${value:,.4f}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


@dataclass(frozen=True)
class Evaluation:
    window: TimeRange
    groups: list[GroupEvaluation]


def rule_window(rule: AlertRule, now: float | None = None) -> TimeRange:
    end_us = int((now if now is not None else time.time()) * 1_000_000)
    return TimeRange(end_us - rule.window_s * 1_000_000, end_us)


def _filters(rule: AlertRule) -> SpanFilters:
    return SpanFilters.of(rule.filters)


def breached(rule: AlertRule, value: float | None, samples: int) -> bool:
    if value is None or rule.threshold is None:
        return False
    if rule.metric is not None and not is_additive(rule.metric) and samples < rule.min_samples:
        return False
    return compare(value, rule.operator, rule.threshold)


def describe(rule: AlertRule, group_key: str, value: float | None) -> str:
    """One line a person reads in a chat channel: what, where, how much, against what."""
    label = METRICS[rule.metric].label if rule.metric else rule.name
    scope = " ".join(
        p for p in (rule.filters.describe(), f"{rule.group_by.value}={group_key}" if rule.group_by else "") if p
    )
    where = f" for {scope}" if scope else ""
    return (
        f"{rule.name}: {label}{where} is {format_value(rule.metric, value)} "
        f"({rule.operator} {format_value(rule.metric, rule.threshold)}) over the last {rule.window}"
    )


def evaluate_metric(storage: Storage, rule: AlertRule, now: float | None = None) -> Evaluation:
    assert rule.metric is not None
    window = rule_window(rule, now)
    samples_metric = sample_metric(rule.metric)
    metrics = [rule.metric] if samples_metric == rule.metric else [rule.metric, samples_metric]
    p = Params(rule.project_id)
    group = dimension_sql(rule.group_by) if rule.group_by else None
    sql, start_us, end_us = metrics_sql(storage.database, p, window, metrics, _filters(rule), "rollup", group=group)
    if group is not None:
        sql += " ORDER BY grp LIMIT 1000"
    groups = []
    for row in storage.query_dicts(sql, p.values):
        value = metric_value(rule.metric, row[alias(rule.metric)])
        samples = int(metric_value(samples_metric, row[alias(samples_metric)]) or 0)
        key = str(row["grp"]) if group is not None else ""
        groups.append(
            GroupEvaluation(
                group_key=key,
                group={rule.group_by.value: key} if rule.group_by else {},
                value=value,
                samples=samples,
                breached=breached(rule, value, samples),
                detail=describe(rule, key, value),
            )
        )
    return Evaluation(TimeRange(start_us, end_us), groups)


def missing_group(rule: AlertRule, group_key: str) -> GroupEvaluation:
    """A group that had a state but no rows in this window: 0 for counts and sums, no data otherwise."""
    value = 0.0 if rule.metric is not None and is_additive(rule.metric) else None
    return GroupEvaluation(
        group_key=group_key,
        group={rule.group_by.value: group_key} if rule.group_by else {},
        value=value,
        samples=0,
        breached=breached(rule, value, 0),
        detail=describe(rule, group_key, value),
    )
