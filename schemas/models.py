"""Pydantic models of the query API (`/api/…`): requests, responses and query-parameter groups.

The dashboard, the CLI and users read spanscope only through this API, so these models are its
contract; `/openapi.json` is generated from them. Times are UTC datetimes (ISO-8601 in JSON),
durations milliseconds, money US dollars, rates fractions in [0, 1] (None when undefined).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from spanscope.schemas.metrics import Dimension, Metric

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")

# The name of a score or an alert rule: surrounding blanks dropped, then 1 to 200 characters.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

MetricValues = dict[Metric, float | None]


class ApiModel(BaseModel):
    model_config = ConfigDict(use_enum_values=False)


# --------------------------------------------------------------------------- query parameter groups


class SpanFilterParams(BaseModel):
    """Span-level filters of the metric endpoints; repeat a parameter to match any of several values."""

    service: list[str] = Field(default_factory=list, description="service.name")
    environment: list[str] = Field(default_factory=list, description="deployment environment")
    kind: list[str] = Field(default_factory=list, description="span kind: generation, retrieval, guardrail…")
    name: list[str] = Field(default_factory=list, description="span name")
    model: list[str] = Field(default_factory=list, description="served model")
    provider: list[str] = Field(default_factory=list, description="model provider")
    prompt_name: list[str] = Field(default_factory=list)
    prompt_version: list[str] = Field(default_factory=list)
    user_id: list[str] = Field(default_factory=list, description="needs raw spans (slower on long ranges)")
    session_id: list[str] = Field(default_factory=list, description="needs raw spans")
    tag: list[str] = Field(
        default_factory=list, description="spans carrying any of these tags; needs raw spans"
    )
    source: Literal["auto", "rollup", "spans"] = Field(
        "auto", description="auto: rollups unless a filter needs raw spans; spans: always raw spans"
    )


class TraceSearchParams(BaseModel):
    """Filters of `GET /api/traces`. Root-span filters: service, environment, name, duration.
    Trace-level filters (any span of the trace): model, kind, status, cost, fallback, guardrail,
    session, user, tag, prompt, text."""

    service: list[str] = Field(default_factory=list, description="service of the root span")
    environment: list[str] = Field(default_factory=list, description="environment of the root span")
    name: list[str] = Field(default_factory=list, description="name of the root span (the trace name)")
    model: list[str] = Field(default_factory=list, description="a span of the trace used one of these models")
    kind: list[str] = Field(default_factory=list, description="the trace has a span of one of these kinds")
    status: Literal["ok", "error"] | None = Field(
        None, description="error: some span has status ERROR; ok: no span has"
    )
    min_duration_ms: float | None = Field(None, ge=0, description="trace latency (root span duration) ≥")
    max_duration_ms: float | None = Field(None, ge=0, description="trace latency ≤")
    min_cost: float | None = Field(None, ge=0, description="total trace cost (USD) ≥")
    max_cost: float | None = Field(None, ge=0, description="total trace cost (USD) ≤")
    score_name: str | None = Field(None, max_length=200, description="the trace has a score of this name")
    min_score: float | None = Field(None, description="…with a value ≥ (needs score_name)")
    max_score: float | None = Field(None, description="…with a value ≤ (needs score_name)")
    score_value: str | None = Field(
        None, max_length=10_000, description="…with this string value: a categorical label, or true/false"
    )
    score_source: Literal["sdk", "api", "human", "evaluator"] | None = Field(None, description="…from this source")
    has_fallback: bool | None = Field(None, description="some LLM call was served by a fallback")
    guardrail_blocked: bool | None = Field(None, description="some guardrail blocked or modified")
    session_id: str | None = Field(None, max_length=500)
    user_id: str | None = Field(None, max_length=500)
    tag: list[str] = Field(default_factory=list, description="some span carries one of these tags")
    prompt_name: str | None = Field(None, max_length=500)
    prompt_version: str | None = Field(None, max_length=200)
    q: str | None = Field(
        None, min_length=1, max_length=500, description="case-insensitive text in any span's input or output"
    )
    sort: Literal["start_time", "duration", "cost"] = "start_time"
    order: Literal["desc", "asc"] = "desc"
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page")
    preview_chars: int = Field(300, ge=0, le=100_000, description="length of the input/output previews")
    with_total: bool = Field(False, description="also count all matching traces (one more query)")

    @model_validator(mode="after")
    def _check(self) -> TraceSearchParams:
        if (self.min_score is not None or self.max_score is not None) and not self.score_name:
            raise ValueError("min_score/max_score need score_name")
        if (self.score_value is not None or self.score_source is not None) and not self.score_name:
            raise ValueError("score_value/score_source need score_name")
        for lo, hi, what in (
            (self.min_duration_ms, self.max_duration_ms, "duration"),
            (self.min_cost, self.max_cost, "cost"),
            (self.min_score, self.max_score, "score"),
        ):
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"min {what} is above max {what}")
        return self


# --------------------------------------------------------------------------- metrics


class MetricInfo(ApiModel):
    metric: Metric
    label: str
    unit: Literal["count", "ms", "usd", "tokens", "ratio"]
    kind: Literal["additive", "ratio", "quantile", "other"]
    description: str


class MetricDefinitions(ApiModel):
    metrics: list[MetricInfo]
    dimensions: list[Dimension]
    raw_only_dimensions: list[Dimension]


class RangeInfo(ApiModel):
    start: datetime = Field(description="effective start (rollup reads are widened to whole minutes)")
    end: datetime = Field(description="effective end, exclusive")
    source: Literal["rollup", "spans"] = Field(description="rollup tables or raw spans")


class SummaryResponse(RangeInfo):
    values: MetricValues
    previous_start: datetime | None = None
    previous_end: datetime | None = None
    previous: MetricValues | None = Field(None, description="the period of equal length before start")
    change: MetricValues | None = Field(
        None, description="relative change (current − previous) / previous; None when previous is 0 or None"
    )


class Series(ApiModel):
    group: str | None = Field(
        description='group value ("" = not set, "__other__" = groups beyond the top N); None without group_by'
    )
    values: dict[Metric, list[float | None]] = Field(
        description="one value per timestamp; counts are 0 for empty buckets, rates/percentiles None"
    )


class TimeseriesResponse(RangeInfo):
    interval_s: int
    group_by: Dimension | None = None
    metrics: list[Metric]
    timestamps: list[datetime] = Field(description="bucket starts, every bucket of the range present")
    series: list[Series]


class BreakdownRow(ApiModel):
    group: str
    values: MetricValues


class BreakdownResponse(RangeInfo):
    dimension: Dimension
    metrics: list[Metric]
    rows: list[BreakdownRow]


# --------------------------------------------------------------------------- traces and spans


class TraceSummary(ApiModel):
    trace_id: str
    root_span_id: str
    name: str
    kind: str
    service: str
    environment: str
    release: str
    start_time: datetime
    end_time: datetime
    duration_ms: float = Field(description="trace latency: root span duration")
    status: str = Field(description="root span status")
    status_message: str
    error: bool = Field(description="some span has status ERROR")
    error_count: int
    span_count: int
    llm_calls: int
    cost_usd: float
    input_tokens: int
    output_tokens: int
    total_tokens: int
    models: list[str]
    has_fallback: bool
    guardrail_blocked: bool
    off_format: bool = Field(description="some validated output failed validation")
    session_id: str
    user_id: str
    tags: list[str]
    prompts: list[str] = Field(description="prompt versions used, as name@version")
    input: str = Field(description="root span input (truncated to preview_chars)")
    output: str = Field(description="root span output (truncated to preview_chars)")
    scores: dict[str, float] = Field(default_factory=dict, description="mean numeric value per score name")


class TraceSearchResponse(ApiModel):
    start: datetime
    end: datetime
    sort: str
    order: str
    items: list[TraceSummary]
    next_cursor: str | None = Field(
        None, description="pass as cursor for the next page; None on the last page"
    )
    total: int | None = Field(None, description="matching traces in the range (with_total=true)")


class SpanNode(ApiModel):
    span_id: str
    parent_span_id: str
    trace_id: str
    name: str
    kind: str
    service: str
    environment: str
    release: str
    scope: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    offset_ms: float = Field(description="start relative to the trace start (for waterfalls)")
    depth: int
    status: str
    status_message: str
    error_type: str
    operation: str
    model: str
    request_model: str
    provider: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    cost_source: str
    input: str
    output: str
    documents: str
    finish_reasons: list[str]
    ttft_ms: float
    session_id: str
    user_id: str
    prompt_name: str
    prompt_version: str
    tags: list[str]
    is_llm_call: bool
    fallback_attempt: int
    fallback_attempts: int
    fallback_used: bool
    fallback_degraded: bool
    guardrail_name: str
    guardrail_verdict: str
    guardrail_reason: str
    guardrail_policy: str
    guardrail_stage: str
    output_validated: bool
    output_valid: bool
    output_attempts: int
    events: Any = Field(description="span events (parsed JSON array)")
    attributes: dict[str, str]
    resource_attributes: dict[str, str]
    children: list[SpanNode] = Field(default_factory=list)


class Score(ApiModel):
    score_id: str
    trace_id: str
    span_id: str | None
    name: str
    value: float | None
    string_value: str | None
    data_type: Literal["numeric", "categorical", "boolean"]
    source: str
    comment: str | None
    author: str | None
    timestamp: datetime
    created_at: datetime | None = None


class TraceDetail(ApiModel):
    trace: TraceSummary
    spans: list[SpanNode] = Field(description="the span tree: root spans (usually one) with nested children")
    scores: list[Score]


class ScoreList(ApiModel):
    trace_id: str
    scores: list[Score]


# --------------------------------------------------------------------------- scores in


class ScoreIn(BaseModel):
    """One score as the SDK sends it. Numeric scores need a finite value; booleans 0/1 (or true/false
    in string_value); categorical scores a string_value (or a value, stored as its text)."""

    model_config = ConfigDict(extra="ignore")

    trace_id: str = Field(description="32 lowercase hex digits")
    span_id: str | None = Field(None, description="16 hex digits, or null for a trace-level score")
    name: Name
    value: float | None = None
    string_value: str | None = Field(None, max_length=10_000)
    data_type: Literal["numeric", "categorical", "boolean"] = "numeric"
    source: Literal["sdk", "api", "human", "evaluator"] = "api"
    comment: str | None = Field(None, max_length=10_000)
    author: str | None = Field(None, max_length=500)
    timestamp: datetime | None = Field(None, description="ISO-8601; default now")
    score_id: str | None = Field(None, max_length=100, description="default: a new UUID")

    @field_validator("trace_id")
    @classmethod
    def _trace_id(cls, v: str) -> str:
        v = v.strip().lower()
        if not _HEX32.match(v) or v == "0" * 32:
            raise ValueError("trace_id must be 32 hex digits (not all zero)")
        return v

    @field_validator("span_id")
    @classmethod
    def _span_id(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.strip().lower()
        if not _HEX16.match(v) or v == "0" * 16:
            raise ValueError("span_id must be 16 hex digits (not all zero) or null")
        return v

    @model_validator(mode="after")
    def _typed(self) -> ScoreIn:
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        if self.data_type == "numeric":
            if self.value is None:
                raise ValueError("a numeric score needs a value")
        elif self.data_type == "boolean":
            if self.value is None and self.string_value is not None:
                text = self.string_value.strip().lower()
                if text not in ("true", "false", "1", "0"):
                    raise ValueError("a boolean score's string_value must be true or false")
                self.value = 1.0 if text in ("true", "1") else 0.0
            if self.value not in (0.0, 1.0):
                raise ValueError("a boolean score's value must be 0 or 1")
            self.string_value = "true" if self.value == 1.0 else "false"
        else:
            if self.string_value is None:
                if self.value is None:
                    raise ValueError("a categorical score needs a string_value")
                self.string_value = format(self.value, "g")
        return self


class ScoresIn(BaseModel):
    scores: list[ScoreIn] = Field(min_length=1, max_length=10_000)


class ScoresAccepted(ApiModel):
    accepted: int
    score_ids: list[str]


# --------------------------------------------------------------------------- sessions


class SessionSummary(ApiModel):
    session_id: str
    trace_count: int
    span_count: int
    first_seen: datetime
    last_seen: datetime
    duration_ms: float = Field(description="from the first span's start to the last span's end")
    cost_usd: float
    total_tokens: int
    error_count: int
    users: list[str]
    services: list[str]


class SessionList(ApiModel):
    start: datetime
    end: datetime
    items: list[SessionSummary]
    next_cursor: str | None = None


class SessionDetail(ApiModel):
    session: SessionSummary
    traces: list[TraceSummary] = Field(description="the session's traces, oldest first")


# --------------------------------------------------------------------------- filters


class PromptRef(ApiModel):
    prompt_name: str
    prompt_version: str


class FilterOptions(ApiModel):
    start: datetime
    end: datetime
    services: list[str]
    environments: list[str]
    kinds: list[str]
    names: list[str]
    models: list[str]
    providers: list[str]
    prompt_names: list[str]
    prompt_versions: list[PromptRef]
    score_names: list[str]
    tags: list[str]
    releases: list[str]


# --------------------------------------------------------------------------- prompts


class ScoreStat(ApiModel):
    mean: float | None
    count: int


class PromptVersionStats(ApiModel):
    version: str
    calls: int = Field(description="sample size: spans with this prompt version")
    first_seen: datetime
    last_seen: datetime
    latency_p50: float | None
    latency_p95: float | None
    cost_per_call: float | None
    mean_input_tokens: float | None
    mean_output_tokens: float | None
    error_rate: float | None
    fallback_rate: float | None
    off_format_rate: float | None
    scores: dict[str, ScoreStat] = Field(description="scores of the traces that used this version")


class SignificanceTest(ApiModel):
    metric: str
    test: Literal["mann-whitney-u", "chi-square", "fisher-exact"]
    baseline: float | None
    candidate: float | None
    difference: float | None = Field(
        description="candidate − baseline (medians for Mann-Whitney, rates otherwise)"
    )
    p_value: float | None
    significant: bool
    n_baseline: int
    n_candidate: int


class VersionComparison(ApiModel):
    baseline: str
    candidate: str
    alpha: float
    method: str
    tests: list[SignificanceTest]


class PromptVersionsResponse(ApiModel):
    prompt_name: str
    start: datetime
    end: datetime
    versions: list[PromptVersionStats]
    comparison: VersionComparison | None = Field(
        None, description="baseline vs candidate (default: the two most recently introduced versions)"
    )


class PromptSummary(ApiModel):
    prompt_name: str
    versions: list[str]
    calls: int
    cost_usd: float
    last_seen: datetime


class PromptList(ApiModel):
    start: datetime
    end: datetime
    prompts: list[PromptSummary]


# --------------------------------------------------------------------------- cost


class CostRow(ApiModel):
    key: str
    cost_usd: float
    share: float | None = Field(description="fraction of the range's total cost")
    llm_calls: int
    requests: int
    input_tokens: int
    output_tokens: int


class ExpensiveTrace(ApiModel):
    trace_id: str
    name: str
    service: str
    start_time: datetime
    cost_usd: float
    total_tokens: int
    llm_calls: int


class DailyCost(ApiModel):
    day: datetime
    cost_usd: float


class CostResponse(ApiModel):
    start: datetime
    end: datetime
    total_usd: float
    by_model: list[CostRow]
    by_service: list[CostRow]
    by_prompt_version: list[CostRow]
    by_user: list[CostRow] = Field(description="from raw spans (rollups carry no user)")
    top_traces: list[ExpensiveTrace]
    month_start: datetime
    month_to_date_usd: float
    projected_month_end_usd: float
    projection_method: str
    daily: list[DailyCost] = Field(description="cost per UTC day of the current month")


def error_detail(body: str, limit: int = 500) -> str:
    """One readable line from an error answer of the API: FastAPI's `detail`, validation errors as
    `field: message`, or the start of a body that is not JSON."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:300]
    detail = parsed.get("detail") if isinstance(parsed, dict) else parsed
    if isinstance(detail, list):
        parts = []
        for d in detail:
            if isinstance(d, dict):
                where = ".".join(str(x) for x in d.get("loc", [])[1:])
                parts.append(f"{where}: {d.get('msg')}" if where else str(d.get("msg")))
            else:
                parts.append(str(d))
        detail = "; ".join(parts)
    return str(detail)[:limit]
