"""Pydantic models of golden datasets, hard examples and eval runs (`/api/datasets`, `/api/hard-examples`,
`/api/eval-runs`).

A dataset is named per project and versioned: every change (items added, expected output edited, item
removed) makes a new immutable version, and any version can be read and exported. Item ids are derived
from the normalised input, so the same input is never in a dataset twice.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")

# Attributes on the root span of every replayed item: they tie a trace to its run and item, and keep
# replays out of the hard examples.
ATTR_EVAL_RUN_ID: Final = "spanscope.eval.run_id"
ATTR_EVAL_DATASET: Final = "spanscope.eval.dataset"
ATTR_EVAL_DATASET_VERSION: Final = "spanscope.eval.dataset_version"
ATTR_EVAL_ITEM_ID: Final = "spanscope.eval.item_id"

HardExampleReason = Literal[
    "low_score", "negative_feedback", "evaluator_failure", "guardrail_block", "fallback", "error"
]
HARD_EXAMPLE_REASONS: Final[tuple[HardExampleReason, ...]] = (
    "low_score",
    "negative_feedback",
    "evaluator_failure",
    "guardrail_block",
    "fallback",
    "error",
)
ExportFormat = Literal["jsonl", "promptfoo", "openai_evals", "csv"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("jsonl", "promptfoo", "openai_evals", "csv")


def check_dataset_name(name: str) -> str:
    if not DATASET_NAME.match(name):
        raise ValueError(
            "dataset name must be 1-100 characters of letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    return name


def _trace_id(v: str | None) -> str | None:
    if not v:
        return None
    v = v.strip().lower()
    if not _HEX32.match(v):
        raise ValueError("a trace id must be 32 hex digits")
    return v


def _span_id(v: str | None) -> str | None:
    if not v:
        return None
    v = v.strip().lower()
    if not _HEX16.match(v):
        raise ValueError("a span id must be 16 hex digits")
    return v


# --------------------------------------------------------------------------- datasets


class DatasetItemIn(BaseModel):
    """An item to add. `input` and `expected_output` are any JSON: a string, chat messages, an object."""

    input: Any = Field(description="what the app receives: text, a list of {role, content} messages or an object")
    expected_output: Any = Field(None, description="the reviewed, correct answer; null when not yet known")
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)
    source_trace_id: str | None = Field(None, description="the trace this item was curated from")
    source_span_id: str | None = Field(None, description="the span whose input/output was taken")

    @field_validator("input")
    @classmethod
    def _input(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()) or v in ([], {}):
            raise ValueError("input must not be empty")
        return v

    @field_validator("source_trace_id")
    @classmethod
    def _trace(cls, v: str | None) -> str | None:
        return _trace_id(v)

    @field_validator("source_span_id")
    @classmethod
    def _span(cls, v: str | None) -> str | None:
        return _span_id(v)


class DatasetCreate(BaseModel):
    name: str = Field(description="letters, digits, '_', '.', '-'; unique in the project")
    description: str = Field("", max_length=10_000)
    items: list[DatasetItemIn] = Field(default_factory=list, max_length=10_000)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dataset_name(v)


class ItemsIn(BaseModel):
    items: list[DatasetItemIn] = Field(min_length=1, max_length=10_000)
    message: str = Field("", max_length=1000, description="a note stored with the new version")


class ItemUpdate(BaseModel):
    """Fields to change; the ones left out keep their value."""

    expected_output: Any = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=50)
    message: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> ItemUpdate:
        if not ({"expected_output", "metadata", "tags"} & self.model_fields_set):
            raise ValueError("give at least one of expected_output, metadata, tags")
        return self


class DatasetItem(BaseModel):
    item_id: str = Field(description="hash of the normalised input: stable across versions")
    input: Any
    expected_output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    source_trace_id: str | None = None
    source_span_id: str | None = None
    version: int = Field(description="the version in which this item last changed")
    updated_at: datetime


class DatasetVersion(BaseModel):
    version: int
    created_at: datetime
    message: str
    added: int
    updated: int
    removed: int
    item_count: int


class DatasetInfo(BaseModel):
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    latest_version: int
    item_count: int


class DatasetList(BaseModel):
    datasets: list[DatasetInfo]


class DatasetDetail(BaseModel):
    dataset: DatasetInfo
    versions: list[DatasetVersion] = Field(description="newest first")


class DatasetItems(BaseModel):
    name: str
    version: int
    items: list[DatasetItem]


class ChangeResult(BaseModel):
    """What a change did. `version` is the new version, or the unchanged latest one when nothing changed."""

    name: str
    version: int
    created_version: bool
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped_duplicates: int = Field(0, description="items whose input is already in the dataset")
    item_ids: list[str] = Field(default_factory=list, description="ids of the items added or changed")


# --------------------------------------------------------------------------- hard examples


class HardExampleFilter(BaseModel):
    """Which traces count as hard examples (the time range is given apart)."""

    reasons: list[HardExampleReason] = Field(
        default_factory=lambda: list(HARD_EXAMPLE_REASONS), description="any of these makes a trace hard"
    )
    score_name: str | None = Field(None, max_length=200, description="low_score: only this score")
    max_score: float = Field(0.5, description="low_score / evaluator_failure: numeric scores at or below this")
    service: list[str] = Field(default_factory=list, description="service of the root span")
    environment: list[str] = Field(default_factory=list, description="environment of the root span")
    span: Literal["root", "generation"] = Field(
        "root", description="take input/output from the root span or from the trace's last LLM call"
    )
    limit: int = Field(100, ge=1, le=1000)

    @field_validator("reasons", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        """`reasons=low_score,error` as well as repeated `reasons=`."""
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            parts = (part for x in v for part in (x.split(",") if isinstance(x, str) else [x]))
            return [part.strip() if isinstance(part, str) else part for part in parts if part != ""]
        return v

    @field_validator("reasons")
    @classmethod
    def _some(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("give at least one reason")
        return list(dict.fromkeys(v))

    @field_validator("max_score")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("max_score must be a finite number")
        return v


class HardExample(BaseModel):
    trace_id: str
    span_id: str = Field(description="the span input and output come from")
    name: str
    service: str
    environment: str
    start_time: datetime
    status: str
    reasons: list[HardExampleReason]
    details: list[str] = Field(
        description="why, readable: 'helpfulness = 0.2 (human)', 'guardrail input_policy: block'"
    )
    scores: dict[str, float] = Field(description="mean of each numeric score of the trace")
    input: Any
    output: Any
    item_id: str = Field(description="the id this input gets in any dataset")
    in_dataset: bool | None = Field(None, description="whether the input is already in `dataset` (when given)")


class HardExampleList(BaseModel):
    start: datetime
    end: datetime
    items: list[HardExample]


class FromFilterIn(HardExampleFilter):
    """A hard-examples filter with its time range: what `items:from-filter` adds."""

    start: str | None = Field(None, description="ISO-8601 or unix seconds")
    end: str | None = None
    range: str | None = Field(None, description="15m, 24h, 7d…; default 24h")
    copy_output_as_expected: bool = Field(
        False, description="use the app's output as expected output (review it afterwards)"
    )
    message: str = Field("", max_length=1000)


# --------------------------------------------------------------------------- eval runs


class EvalItemResultIn(BaseModel):
    item_id: str = Field(max_length=64)
    output: Any = None
    error: str | None = Field(None, max_length=10_000, description="the target raised: type and message")
    latency_ms: float = Field(0.0, ge=0)
    scores: dict[str, float] = Field(default_factory=dict, description="check or evaluator name → score in [0, 1]")
    reasons: dict[str, str] = Field(default_factory=dict, description="why a score is what it is")
    trace_id: str | None = None
    span_id: str | None = None

    @field_validator("scores")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            if not math.isfinite(value):
                raise ValueError(f"score {name!r} must be a finite number")
        return v

    @field_validator("trace_id")
    @classmethod
    def _trace(cls, v: str | None) -> str | None:
        return _trace_id(v)

    @field_validator("span_id")
    @classmethod
    def _span(cls, v: str | None) -> str | None:
        return _span_id(v)


class EvalRunIn(BaseModel):
    run_id: str | None = Field(None, pattern=r"^[0-9a-f]{8,32}$", description="default: a new id")
    dataset: str
    dataset_version: int = Field(ge=1)
    target: str = Field(max_length=500, description="module:function that produced the outputs")
    metadata: dict[str, Any] = Field(default_factory=dict, description="git commit, branch, model…")
    items: list[EvalItemResultIn] = Field(max_length=100_000)


class ScoreSummary(BaseModel):
    mean: float
    count: int


class EvalRun(BaseModel):
    run_id: str
    dataset: str
    dataset_version: int
    target: str
    created_at: datetime
    metadata: dict[str, Any]
    item_count: int
    error_count: int
    scores: dict[str, ScoreSummary]


class EvalItemResult(EvalItemResultIn):
    input: Any = None
    expected_output: Any = None


class EvalRunDetail(BaseModel):
    run: EvalRun
    items: list[EvalItemResult]


class EvalRunList(BaseModel):
    runs: list[EvalRun] = Field(description="newest first")


class ScoreChange(BaseModel):
    name: str
    baseline: float | None
    current: float | None
    delta: float | None
    status: Literal["improved", "regressed", "unchanged", "new", "missing"]
    threshold: float | None = None
    below_threshold: bool = False


class ItemChange(BaseModel):
    item_id: str
    score: str
    baseline: float | None
    current: float | None
    direction: Literal["improved", "regressed"]


class RunComparison(BaseModel):
    run_id: str
    baseline_run_id: str | None
    tolerance: float
    scores: list[ScoreChange]
    items: list[ItemChange] = Field(description="items whose score moved by more than the tolerance")
    errors: int = Field(description="items on which the target raised in this run")
    passed: bool = Field(description="no score regressed beyond the tolerance and none is below its threshold")
