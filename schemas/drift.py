"""Pydantic models of drift reports (`/api/drift`): a current window against a baseline (DESIGN §6).

A `DriftReport` holds one `DriftSignal` per signal. Every signal carries an effect size (`value`:
PSI, Jensen–Shannon distance, rate difference or centroid cosine distance), a hypothesis test with
its p-value, both sample sizes, a status, and the distributions behind it so they can be plotted.
Status needs both a large enough effect and a significant test: with millions of spans every tiny
difference is "significant", and with a few hundred a large-looking effect can be noise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_WINDOW_S = 400 * 86400


class DriftSignalName(StrEnum):
    """Signals a report can include. Scores add one numeric signal per name: `score:<name>`."""

    LATENCY_MS = "latency_ms"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    COST_USD = "cost_usd"
    OUTPUT_LENGTH = "output_length"
    ERROR_RATE = "error_rate"
    FALLBACK_RATE = "fallback_rate"
    GUARDRAIL_BLOCK_RATE = "guardrail_block_rate"
    OFF_FORMAT_RATE = "off_format_rate"
    MODEL_MIX = "model_mix"
    FINISH_REASON_MIX = "finish_reason_mix"
    OUTPUT_LANGUAGE_MIX = "output_language_mix"
    INPUT_SEMANTIC = "input_semantic"


SCORE_PREFIX = "score:"
SCORES = "scores"  # selects every `score:<name>` signal

SignalType = Literal["numeric", "rate", "categorical", "semantic"]
DriftStatus = Literal["stable", "moderate", "significant", "insufficient_data"]
STATUS_ORDER: dict[str, int] = {"insufficient_data": 0, "stable": 1, "moderate": 2, "significant": 3}


class DriftThresholds(BaseModel):
    """Where an effect becomes moderate or significant. A signal is flagged only when its test's
    p-value is below `p_value` too, and only with `min_samples` values in both windows."""

    model_config = ConfigDict(extra="forbid")

    psi_moderate: float = Field(default=0.1, ge=0, description="PSI ≥ this (and p < p_value): moderate")
    psi_significant: float = Field(default=0.2, ge=0, description="PSI ≥ this (and p < p_value): significant")
    js_moderate: float = Field(default=0.1, ge=0, le=1, description="Jensen–Shannon distance (base 2) for moderate")
    js_significant: float = Field(default=0.2, ge=0, le=1, description="Jensen–Shannon distance for significant")
    rate_moderate: float = Field(default=0.01, ge=0, le=1, description="absolute rate difference for moderate")
    rate_significant: float = Field(default=0.03, ge=0, le=1, description="absolute rate difference for significant")
    semantic_moderate: float = Field(default=0.02, ge=0, le=2, description="centroid cosine distance for moderate")
    semantic_significant: float = Field(
        default=0.05, ge=0, le=2, description="centroid cosine distance for significant"
    )
    p_value: float = Field(default=0.01, gt=0, lt=1, description="the test must reject at this level")
    min_samples: int = Field(default=100, ge=1, description="values needed in each window before drift is raised")

    @model_validator(mode="after")
    def _ordered(self) -> DriftThresholds:
        for low, high in (
            ("psi_moderate", "psi_significant"),
            ("js_moderate", "js_significant"),
            ("rate_moderate", "rate_significant"),
            ("semantic_moderate", "semantic_significant"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self


class DriftWindow(BaseModel):
    """[start, end) in UTC."""

    start: datetime
    end: datetime


class DriftRequest(BaseModel):
    """What to compare. Scope filters are exact matches (None: any). The current window is
    `current_start`..`current_end` (default: the `current_s` seconds before now); the baseline is
    `baseline_start`..`baseline_end`, or else the `baseline_s` seconds right before the current window
    (trailing: the previous 7 days against the last 24 hours by default)."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(default=None, max_length=500)
    span_name: str | None = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=500)
    prompt_name: str | None = Field(default=None, max_length=500)
    prompt_version: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=50)
    environment: str | None = Field(default=None, max_length=200)

    current_start: datetime | None = None
    current_end: datetime | None = None
    current_s: int = Field(default=86400, gt=0, le=MAX_WINDOW_S, description="length of a trailing current window")
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    baseline_s: int = Field(default=7 * 86400, gt=0, le=MAX_WINDOW_S, description="length of a trailing baseline")

    signals: list[str] | None = Field(
        default=None, description="signal names (DriftSignalName, `score:<name>`, or `scores`); default: all"
    )
    thresholds: DriftThresholds = DriftThresholds()
    semantic_top: int = Field(default=10, ge=0, le=100, description="inputs listed as moving the centroid most")

    @field_validator("current_start", "current_end", "baseline_start", "baseline_end")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @field_validator("signals")
    @classmethod
    def _known(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        names = {s.value for s in DriftSignalName}
        for s in v:
            if s not in names and s != SCORES and not (s.startswith(SCORE_PREFIX) and len(s) > len(SCORE_PREFIX)):
                raise ValueError(f"unknown signal {s!r}; known: {sorted(names)}, scores, score:<name>")
        return v

    @model_validator(mode="after")
    def _windows_valid(self) -> DriftRequest:
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("give both baseline_start and baseline_end, or neither (trailing baseline)")
        self.windows(datetime.now(UTC))
        return self

    def windows(self, now: datetime) -> tuple[DriftWindow, DriftWindow]:
        """(baseline, current) resolved against `now`; ValueError when they make no sense."""
        cur_end = self.current_end or now
        cur_start = self.current_start or cur_end - timedelta(seconds=self.current_s)
        if cur_end <= cur_start:
            raise ValueError("current window: end must be after start")
        if self.baseline_start is not None and self.baseline_end is not None:
            base_start, base_end = self.baseline_start, self.baseline_end
        else:
            base_end = cur_start
            base_start = base_end - timedelta(seconds=self.baseline_s)
        if base_end <= base_start:
            raise ValueError("baseline window: end must be after start")
        for w, (s, e) in (("current", (cur_start, cur_end)), ("baseline", (base_start, base_end))):
            if (e - s).total_seconds() > MAX_WINDOW_S:
                raise ValueError(f"{w} window longer than {MAX_WINDOW_S // 86400} days")
        return DriftWindow(start=base_start, end=base_end), DriftWindow(start=cur_start, end=cur_end)

    def wants(self, name: str) -> bool:
        if self.signals is None:
            return True
        if name.startswith(SCORE_PREFIX) and SCORES in self.signals:
            return True
        return name in self.signals


class DriftSignal(BaseModel):
    """One signal: effect size, test, sizes, status and what to plot.

    numeric: `statistic` "psi" on baseline-decile bins, test "ks"; `bin_edges` has len(baseline)+1
      edges (the outer ones are the observed min/max) and `baseline`/`current` are bin proportions.
    rate: `statistic` "diff" (current − baseline rate), test "two_proportion_z"; `categories` is
      ["yes", "no"] and the counts are events/non-events.
    categorical: `statistic` "js_distance" (base 2, 0..1), test "chi2"; proportions per category.
    semantic: `statistic` "cosine_distance" between input centroids, test "permutation".
    """

    name: str
    label: str
    type: SignalType
    statistic: str
    value: float | None = None
    test: str | None = None
    test_statistic: float | None = None
    p_value: float | None = None
    n_baseline: int = 0
    n_current: int = 0
    baseline_summary: float | None = Field(default=None, description="median (numeric), rate, or None")
    current_summary: float | None = None
    status: DriftStatus = "insufficient_data"
    detail: str = Field(default="", description="why this status, in one line")
    bin_edges: list[float] | None = None
    categories: list[str] | None = None
    baseline: list[float] = Field(default_factory=list, description="proportions per bin or category")
    current: list[float] = Field(default_factory=list)
    baseline_counts: list[int] = Field(default_factory=list)
    current_counts: list[int] = Field(default_factory=list)


class SemanticMover(BaseModel):
    """A current input that pulled the current centroid away from the baseline one."""

    trace_id: str
    span_id: str
    text: str = Field(description="the input, truncated")
    contribution: float = Field(description="share of the centroid shift along its direction")


class SemanticDrift(BaseModel):
    """Centroid cosine distance of hashed word/bigram vectors of inputs, with a permutation p-value."""

    distance: float | None = None
    p_value: float | None = None
    n_baseline: int = 0
    n_current: int = 0
    sampled_baseline: int = 0
    sampled_current: int = 0
    dimensions: int = 0
    top_movers: list[SemanticMover] = Field(default_factory=list)
    baseline_terms: list[str] = Field(default_factory=list, description="terms most over-represented in baseline")
    current_terms: list[str] = Field(default_factory=list, description="terms most over-represented now")


class DriftReport(BaseModel):
    request: DriftRequest
    baseline: DriftWindow
    current: DriftWindow
    signals: list[DriftSignal]
    semantic: SemanticDrift | None = None
    status: DriftStatus = Field(default="insufficient_data", description="the worst status among signals")
    elapsed_ms: float = 0.0


class DriftHistoryPoint(BaseModel):
    start: datetime
    end: datetime
    value: float | None
    p_value: float | None
    n: int
    status: DriftStatus


class DriftHistory(BaseModel):
    """A signal's effect size per bucket of the current range, each bucket against the baseline."""

    signal: str
    statistic: str
    baseline: DriftWindow
    interval_s: int
    points: list[DriftHistoryPoint]
