"""The metric definitions of DESIGN §6 as SQL, in one place.

The query API, the dashboard (through the API) and alerts/drift compute every metric from these
expressions, so a metric means the same everywhere. Each metric has two equivalent forms:

- `rollup`: over the rollup tables (`rollup_minute`, `rollup_hour`), whose columns are per-bucket
  sums and TDigest states;
- `spans`: over raw `spans` rows, for filters the rollups cannot answer (user, session, tag).

Both are aggregate expressions, to be used in a `SELECT … GROUP BY …`. Rates are NULL when their
denominator is zero; percentiles are NaN when there is no value (`metric_value` maps NaN to None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Source = Literal["rollup", "spans"]

# Row predicates on raw spans. The rollup materialized view (migration 0003) counts the same rows.
IS_ROOT = "parent_span_id = ''"
IS_ERROR = "status = 'ERROR'"
GUARDRAIL_CHECKED = "kind = 'guardrail' AND guardrail_verdict != ''"
GUARDRAIL_BLOCKED = "kind = 'guardrail' AND guardrail_verdict IN ('block', 'modify')"
OFF_FORMAT = "output_validated = 1 AND output_valid = 0"
USED_FALLBACK = "fallback_used = 1"


def row_is_error(row: dict[str, object]) -> bool:
    """IS_ERROR on one span row (a dict of spans columns); the Python twins keep one meaning."""
    return row.get("status") == "ERROR"


def row_guardrail_blocked(row: dict[str, object]) -> bool:
    return row.get("kind") == "guardrail" and row.get("guardrail_verdict") in ("block", "modify")


def row_off_format(row: dict[str, object]) -> bool:
    return bool(row.get("output_validated")) and not row.get("output_valid")


def row_used_fallback(row: dict[str, object]) -> bool:
    return bool(row.get("fallback_used"))


QUANTILES = (0.5, 0.95, 0.99)
_Q = ", ".join(str(q) for q in QUANTILES)


class Metric(StrEnum):
    """Metric names accepted by `metrics=` parameters and used as keys in responses."""

    REQUESTS = "requests"
    SPANS = "spans"
    ERRORS = "errors"
    ERROR_RATE = "error_rate"
    LATENCY_P50 = "latency_p50"
    LATENCY_P95 = "latency_p95"
    LATENCY_P99 = "latency_p99"
    LATENCY_AVG = "latency_avg"
    LATENCY_MAX = "latency_max"
    TRACE_LATENCY_P50 = "trace_latency_p50"
    TRACE_LATENCY_P95 = "trace_latency_p95"
    TRACE_LATENCY_P99 = "trace_latency_p99"
    COST = "cost"
    COST_PER_REQUEST = "cost_per_request"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    TOTAL_TOKENS = "total_tokens"
    LLM_CALLS = "llm_calls"
    FALLBACKS = "fallbacks"
    FALLBACK_RATE = "fallback_rate"
    GUARDRAIL_CHECKS = "guardrail_checks"
    GUARDRAIL_BLOCKS = "guardrail_blocks"
    GUARDRAIL_BLOCK_RATE = "guardrail_block_rate"
    VALIDATED = "validated"
    OFF_FORMAT = "off_format"
    OFF_FORMAT_RATE = "off_format_rate"


Unit = Literal["count", "ms", "usd", "tokens", "ratio"]
Kind = Literal["additive", "ratio", "quantile", "other"]


@dataclass(frozen=True)
class MetricDef:
    metric: Metric
    label: str
    unit: Unit
    kind: Kind
    rollup: str
    spans: str
    description: str

    def sql(self, source: Source) -> str:
        return self.rollup if source == "rollup" else self.spans


# Additive components: (rollup expression, raw spans expression).
_SUM: dict[str, tuple[str, str]] = {
    "spans": ("sum(spans)", "count()"),
    "roots": ("sum(roots)", f"countIf({IS_ROOT})"),
    "errors": ("sum(errors)", f"countIf({IS_ERROR})"),
    "cost": ("sum(cost_usd)", "sum(cost_usd)"),
    "input_tokens": ("sum(input_tokens)", "sum(input_tokens)"),
    "output_tokens": ("sum(output_tokens)", "sum(output_tokens)"),
    "total_tokens": ("sum(total_tokens)", "sum(total_tokens)"),
    "llm_calls": ("sum(llm_calls)", "sum(is_llm_call)"),
    "fallbacks": ("sum(fallbacks)", f"countIf({USED_FALLBACK})"),
    "guardrail_checks": ("sum(guardrail_checks)", f"countIf({GUARDRAIL_CHECKED})"),
    "guardrail_blocks": ("sum(guardrail_blocks)", f"countIf({GUARDRAIL_BLOCKED})"),
    "validated": ("sum(validated)", "countIf(output_validated = 1)"),
    "invalid": ("sum(invalid)", f"countIf({OFF_FORMAT})"),
    "duration_sum": ("sum(duration_sum)", "sum(duration_ms)"),
}


def _ratio(num: str, den: str, source: Source) -> str:
    i = 0 if source == "rollup" else 1
    n, d = _SUM[num][i], _SUM[den][i]
    return f"if({d} = 0, NULL, {n} / {d})"


def _quantile(index: int, root: bool, source: Source) -> str:
    if source == "rollup":
        return f"quantilesTDigestMerge({_Q})({'root_latency' if root else 'latency'})[{index}]"
    if root:
        return f"quantilesTDigestIf({_Q})(duration_ms, {IS_ROOT})[{index}]"
    return f"quantilesTDigest({_Q})(duration_ms)[{index}]"


def _additive(metric: Metric, component: str, label: str, unit: Unit, description: str) -> MetricDef:
    rollup, spans = _SUM[component]
    return MetricDef(metric, label, unit, "additive", rollup, spans, description)


def _rate(metric: Metric, num: str, den: str, label: str, description: str) -> MetricDef:
    return MetricDef(
        metric, label, "ratio", "ratio", _ratio(num, den, "rollup"), _ratio(num, den, "spans"), description
    )


def _pct(metric: Metric, index: int, root: bool, label: str, description: str) -> MetricDef:
    return MetricDef(
        metric,
        label,
        "ms",
        "quantile",
        _quantile(index, root, "rollup"),
        _quantile(index, root, "spans"),
        description,
    )


_DEFS: list[MetricDef] = [
    _additive(Metric.REQUESTS, "roots", "Requests", "count", "traces: root spans (parent_span_id = '')"),
    _additive(Metric.SPANS, "spans", "Spans", "count", "spans of every kind"),
    _additive(Metric.ERRORS, "errors", "Errors", "count", "spans with status ERROR"),
    _rate(Metric.ERROR_RATE, "errors", "spans", "Error rate", "spans with status ERROR / all spans"),
    _pct(Metric.LATENCY_P50, 1, False, "Latency p50", "median span duration (TDigest), ms"),
    _pct(Metric.LATENCY_P95, 2, False, "Latency p95", "95th percentile of span duration (TDigest), ms"),
    _pct(Metric.LATENCY_P99, 3, False, "Latency p99", "99th percentile of span duration (TDigest), ms"),
    MetricDef(
        Metric.LATENCY_AVG,
        "Latency avg",
        "ms",
        "ratio",
        _ratio("duration_sum", "spans", "rollup"),
        _ratio("duration_sum", "spans", "spans"),
        "mean span duration, ms",
    ),
    MetricDef(
        Metric.LATENCY_MAX,
        "Latency max",
        "ms",
        "other",
        "max(duration_max)",
        "max(duration_ms)",
        "longest span, ms",
    ),
    _pct(Metric.TRACE_LATENCY_P50, 1, True, "Trace latency p50", "median root span duration, ms"),
    _pct(Metric.TRACE_LATENCY_P95, 2, True, "Trace latency p95", "95th percentile of root span duration, ms"),
    _pct(Metric.TRACE_LATENCY_P99, 3, True, "Trace latency p99", "99th percentile of root span duration, ms"),
    _additive(Metric.COST, "cost", "Cost", "usd", "sum of cost_usd"),
    MetricDef(
        Metric.COST_PER_REQUEST,
        "Cost per request",
        "usd",
        "ratio",
        _ratio("cost", "roots", "rollup"),
        _ratio("cost", "roots", "spans"),
        "cost / requests (only meaningful without span-level filters)",
    ),
    _additive(Metric.INPUT_TOKENS, "input_tokens", "Input tokens", "tokens", "sum of input_tokens"),
    _additive(Metric.OUTPUT_TOKENS, "output_tokens", "Output tokens", "tokens", "sum of output_tokens"),
    _additive(Metric.TOTAL_TOKENS, "total_tokens", "Tokens", "tokens", "sum of total_tokens"),
    _additive(Metric.LLM_CALLS, "llm_calls", "LLM calls", "count", "logical LLM calls (is_llm_call = 1)"),
    _additive(
        Metric.FALLBACKS,
        "fallbacks",
        "Fallbacks",
        "count",
        "logical LLM calls served by an attempt other than the first",
    ),
    _rate(
        Metric.FALLBACK_RATE,
        "fallbacks",
        "llm_calls",
        "Fallback rate",
        "sum(fallback_used) / sum(is_llm_call)",
    ),
    _additive(
        Metric.GUARDRAIL_CHECKS,
        "guardrail_checks",
        "Guardrail checks",
        "count",
        "guardrail spans with a verdict",
    ),
    _additive(
        Metric.GUARDRAIL_BLOCKS,
        "guardrail_blocks",
        "Guardrail blocks",
        "count",
        "guardrail spans with verdict block or modify",
    ),
    _rate(
        Metric.GUARDRAIL_BLOCK_RATE,
        "guardrail_blocks",
        "guardrail_checks",
        "Guardrail block rate",
        "guardrail spans with verdict block or modify / guardrail spans with a verdict",
    ),
    _additive(
        Metric.VALIDATED,
        "validated",
        "Validated outputs",
        "count",
        "generations whose output was validated (output_validated = 1)",
    ),
    _additive(
        Metric.OFF_FORMAT,
        "invalid",
        "Off-format outputs",
        "count",
        "validated generations whose output failed validation",
    ),
    _rate(
        Metric.OFF_FORMAT_RATE,
        "invalid",
        "validated",
        "Off-format rate",
        "generations with output_validated = 1 and output_valid = 0 / generations with output_validated = 1",
    ),
]

METRICS: dict[Metric, MetricDef] = {d.metric: d for d in _DEFS}
assert set(METRICS) == set(Metric), "every Metric needs a definition"

# Span latency percentiles over every kind at once mean little (DESIGN: per kind/name/model), and their
# TDigest merge is the costliest part of a summary: asked for explicitly, or via breakdowns.
DEFAULT_SUMMARY: tuple[Metric, ...] = tuple(
    m for m in Metric if m not in (Metric.LATENCY_P50, Metric.LATENCY_P95, Metric.LATENCY_P99)
)
DEFAULT_TIMESERIES: tuple[Metric, ...] = (
    Metric.REQUESTS,
    Metric.ERROR_RATE,
    Metric.TRACE_LATENCY_P50,
    Metric.TRACE_LATENCY_P95,
    Metric.COST,
    Metric.TOTAL_TOKENS,
)


def alias(metric: Metric) -> str:
    """Column alias for a metric in generated SQL (prefixed: rollup columns share the names)."""
    return f"m_{metric.value}"


def select_list(metrics: list[Metric] | tuple[Metric, ...], source: Source) -> str:
    """`expr AS m_name, …` for a SELECT over rollups or spans."""
    return ", ".join(f"{METRICS[m].sql(source)} AS {alias(m)}" for m in metrics)


def metric_value(metric: Metric, raw: object) -> float | None:
    """A metric as returned to users: None for no data (NULL rate, NaN percentile)."""
    if raw is None:
        return None
    value = float(raw)  # type: ignore[arg-type]
    if math.isnan(value) or math.isinf(value):
        return None
    return value


class Dimension(StrEnum):
    """What metrics can be grouped by. USER and SESSION exist only on raw spans (not in rollups)."""

    MODEL = "model"
    PROVIDER = "provider"
    KIND = "kind"
    NAME = "name"
    SERVICE = "service"
    ENVIRONMENT = "environment"
    PROMPT_NAME = "prompt_name"
    PROMPT_VERSION = "prompt_version"
    USER = "user"
    SESSION = "session"


# Group key expressions, valid over rollups and spans alike (except the raw-only ones).
# A prompt version is only meaningful with its prompt, so its key is "name@version".
DIMENSION_SQL: dict[Dimension, str] = {
    Dimension.MODEL: "model",
    Dimension.PROVIDER: "provider",
    Dimension.KIND: "kind",
    Dimension.NAME: "name",
    Dimension.SERVICE: "service",
    Dimension.ENVIRONMENT: "environment",
    Dimension.PROMPT_NAME: "prompt_name",
    Dimension.PROMPT_VERSION: "if(prompt_name = '' AND prompt_version = '', '', "
    "concat(prompt_name, '@', prompt_version))",
    Dimension.USER: "user_id",
    Dimension.SESSION: "session_id",
}
RAW_ONLY_DIMENSIONS = frozenset({Dimension.USER, Dimension.SESSION})
