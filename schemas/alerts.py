"""Alert rules, their state and history, and the webhook payload (`/api/alerts/…`).

A rule watches one metric of DESIGN §6 (or one drift signal) over a trailing window, optionally one
state per value of a dimension (`group_by: model`). Rules are written by the API, the CLI and the
alerts file in the same shape, so the YAML file is these fields.
"""

from __future__ import annotations

import math
import operator as op
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from spanscope.schemas.drift import SCORE_PREFIX, DriftSignalName
from spanscope.schemas.metrics import RAW_ONLY_DIMENSIONS, Dimension, Metric
from spanscope.schemas.models import Name

Operator = Literal[">", ">=", "<", "<=", "==", "!="]
OPERATOR_ALIASES: dict[str, str] = {
    "gt": ">",
    "gte": ">=",
    "ge": ">=",
    "lt": "<",
    "lte": "<=",
    "le": "<=",
    "eq": "==",
    "=": "==",
    "ne": "!=",
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": op.gt,
    ">=": op.ge,
    "<": op.lt,
    "<=": op.le,
    "==": op.eq,
    "!=": op.ne,
}
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_WINDOW_S = 60
MAX_WINDOW_S = 31 * 86400
MAX_COOLDOWN_S = 30 * 86400
NUMERIC_SIGNALS = frozenset(
    s.value
    for s in (
        DriftSignalName.LATENCY_MS,
        DriftSignalName.INPUT_TOKENS,
        DriftSignalName.OUTPUT_TOKENS,
        DriftSignalName.COST_USD,
        DriftSignalName.OUTPUT_LENGTH,
    )
)

AlertState = Literal["ok", "firing"]
NotificationStatus = Literal["firing", "resolved", "test"]
EventType = Literal["firing", "resolved", "delivered", "delivery_failed"]
DeliveryState = Literal["queued", "suppressed", "no_webhooks", "dropped", "delivered", "failed", "disabled"]
DriftLevel = Literal["moderate", "significant"]


def parse_duration(text: str | int | float) -> int:
    """'30s', '5m', '1h', '1d', '2w' or plain seconds → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return int(text)
    raw = str(text).strip().lower()
    if raw.isdigit():
        return int(raw)
    m = _DURATION.match(raw)
    if not m:
        raise ValueError(f"durations look like 30s, 5m, 1h, 1d or 2w, got {text!r}")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


def compare(value: float, operator: str, threshold: float) -> bool:
    return _COMPARE[operator](value, threshold)


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class AlertFilters(BaseModel):
    """Which spans the metric is computed over; a list matches any of its values."""

    model_config = ConfigDict(extra="forbid")

    service: list[str] = Field(default_factory=list)
    environment: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    name: list[str] = Field(default_factory=list)
    model: list[str] = Field(default_factory=list)
    provider: list[str] = Field(default_factory=list)
    prompt_name: list[str] = Field(default_factory=list)
    prompt_version: list[str] = Field(default_factory=list)

    @field_validator("*", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _as_list(v)

    def describe(self) -> str:
        parts = [f"{k}={','.join(v)}" for k, v in self.model_dump().items() if v]
        return " ".join(parts)


class DriftCondition(BaseModel):
    """Fires when a drift signal reaches `min_status`, or (numeric signals) when its PSI exceeds
    `psi_above`. The rule's `window` is the current window, `baseline` the one right before it."""

    model_config = ConfigDict(extra="forbid")

    signal: str = Field(
        min_length=1, max_length=200, description="a drift signal: latency_ms, model_mix, score:<name>…"
    )
    min_status: DriftLevel = "significant"
    psi_above: float | None = Field(None, gt=0, description="fire when the signal's PSI is above this instead")
    baseline: str = Field("7d", description="trailing baseline window before the current window")
    min_samples: int = Field(100, ge=1, description="values needed in each window before drift can fire")

    @field_validator("signal")
    @classmethod
    def _signal(cls, v: str) -> str:
        v = v.strip()
        if v not in {s.value for s in DriftSignalName} and not (
            v.startswith(SCORE_PREFIX) and len(v) > len(SCORE_PREFIX)
        ):
            names = ", ".join(s.value for s in DriftSignalName)
            raise ValueError(f"unknown drift signal {v!r}; known: {names}, score:<name>")
        return v

    @model_validator(mode="after")
    def _psi(self) -> DriftCondition:
        if (
            self.psi_above is not None
            and self.signal not in NUMERIC_SIGNALS
            and not self.signal.startswith(SCORE_PREFIX)
        ):
            raise ValueError(f"psi_above needs a numeric signal ({', '.join(sorted(NUMERIC_SIGNALS))}, score:<name>)")
        return self

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, v: str) -> str:
        s = parse_duration(v)
        if not MIN_WINDOW_S <= s <= MAX_WINDOW_S:
            raise ValueError("baseline must be between 1m and 31d")
        return v.strip()


class AlertRuleIn(BaseModel):
    """A rule as written by users (API body, CLI, one item of the alerts file)."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str | None = Field(
        None, description="letters, digits, '_', '.', '-'; default: generated (API) or from the name (file)"
    )
    name: Name
    description: str = Field("", max_length=2000)
    kind: Literal["metric", "drift"] = "metric"
    metric: Metric | None = Field(None, description="a metric of GET /api/metrics/definitions")
    filters: AlertFilters = Field(default_factory=AlertFilters)
    group_by: Dimension | None = Field(None, description="one alert state per value of this dimension")
    window: str = Field("5m", description="trailing window the metric is computed over: 5m, 1h, 1d…")
    operator: Operator = ">"
    threshold: float | None = None
    min_samples: int = Field(
        1,
        ge=0,
        description="rates and percentiles: spans (LLM calls, guardrail checks, validations for those rates) "
        "needed in the window before the rule can fire; counts and sums always evaluate",
    )
    drift: DriftCondition | None = None
    cooldown: str = Field("15m", description="no second firing notification for a rule and group within this")
    webhooks: list[str] = Field(default_factory=list, max_length=10)
    secret: str | None = Field(
        None, max_length=500, description="signs deliveries: X-Spanscope-Signature: sha256=HMAC(secret, body)"
    )
    enabled: bool = True
    notify_resolved: bool = True

    @field_validator("rule_id")
    @classmethod
    def _rule_id(cls, v: str | None) -> str | None:
        if v is not None and not _RULE_ID.match(v):
            raise ValueError(
                "id may hold letters, digits, '_', '.', '-' (at most 100, starting with a letter or digit)"
            )
        return v

    @field_validator("operator", mode="before")
    @classmethod
    def _operator(cls, v: Any) -> Any:
        return OPERATOR_ALIASES.get(str(v).strip().lower(), str(v).strip()) if v is not None else v

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        s = parse_duration(v)
        if not MIN_WINDOW_S <= s <= MAX_WINDOW_S or s % 60:
            raise ValueError("window must be whole minutes between 1m and 31d (e.g. 5m, 1h, 1d)")
        return str(v).strip()

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, v: str) -> str:
        if not 0 <= parse_duration(v) <= MAX_COOLDOWN_S:
            raise ValueError("cooldown must be between 0s and 30d")
        return str(v).strip()

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, v: Dimension | None) -> Dimension | None:
        if v in RAW_ONLY_DIMENSIONS:
            raise ValueError(f"alerts cannot group by {v.value if v else v}; use model, service, kind, name, prompt…")
        return v

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhooks_list(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, v: list[str]) -> list[str]:
        out = []
        for url in v:
            url = url.strip()
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(f"webhook must be an http:// or https:// URL with a host, got {url!r}")
            out.append(url)
        return out

    @model_validator(mode="after")
    def _complete(self) -> AlertRuleIn:
        if self.kind == "metric":
            if self.metric is None:
                raise ValueError("a metric rule needs `metric` (see GET /api/metrics/definitions)")
            if self.threshold is None or not math.isfinite(self.threshold):
                raise ValueError("a metric rule needs a finite `threshold`")
            if self.drift is not None:
                raise ValueError("`drift` belongs to rules of kind drift")
        else:
            if self.drift is None:
                raise ValueError("a drift rule needs `drift: {signal: …}`")
            if self.group_by is not None:
                raise ValueError("drift rules have no group_by")
            many = [k for k, v in self.filters.model_dump().items() if len(v) > 1]
            if many:
                raise ValueError(f"drift rules take one value per filter ({', '.join(many)} has several)")
        return self

    @property
    def window_s(self) -> int:
        return parse_duration(self.window)

    @property
    def cooldown_s(self) -> int:
        return parse_duration(self.cooldown)


class AlertGroupState(BaseModel):
    """The current state of one rule for one group value ('' when the rule has no group_by)."""

    group_key: str
    state: AlertState
    value: float | None = None
    samples: int = 0
    since: datetime | None = Field(None, description="when the current state began")
    last_notified_at: datetime | None = None


class AlertRule(AlertRuleIn):
    """A stored rule. `secret` is never returned: `signed` says whether there is one."""

    rule_id: str
    project_id: str
    source: Literal["api", "file"] = "api"
    version: int = 0
    updated_at: datetime | None = None
    signed: bool = False
    states: list[AlertGroupState] = Field(default_factory=list)
    last_evaluated_at: datetime | None = None
    last_error: str | None = None

    def spec(self) -> AlertRuleIn:
        """The user-written part (what the rules table stores)."""
        return AlertRuleIn.model_validate(self.model_dump(include=set(AlertRuleIn.model_fields)))

    def public(self) -> AlertRule:
        return self.model_copy(update={"secret": None, "signed": bool(self.secret)})


class AlertRuleList(BaseModel):
    rules: list[AlertRule]
    file: str | None = Field(None, description="the alerts file (SPANSCOPE_ALERTS_FILE) the collector loaded")
    file_error: str | None = Field(None, description="why the alerts file could not be loaded")


class AlertEvent(BaseModel):
    """One line of history: a state change, or the outcome of delivering it to one webhook."""

    event_id: str
    time: datetime
    rule_id: str
    rule_name: str
    group_key: str = ""
    event: EventType
    value: float | None = None
    threshold: float | None = None
    samples: int = 0
    message: str = ""
    dedup_key: str = ""
    delivery: DeliveryState | str = ""
    webhook_url: str = ""
    http_status: int = 0
    attempts: int = 0
    error: str = ""


class AlertEventList(BaseModel):
    events: list[AlertEvent]


class GroupEvaluation(BaseModel):
    group_key: str
    group: dict[str, str]
    value: float | None
    samples: int
    breached: bool
    detail: str = ""


class DeliveryResult(BaseModel):
    url: str
    ok: bool
    http_status: int = 0
    attempts: int = 0
    error: str = ""


class AlertTestResult(BaseModel):
    """What the rule sees now, without changing its state (and test deliveries when asked)."""

    rule_id: str
    evaluated_at: datetime
    window_start: datetime
    window_end: datetime
    groups: list[GroupEvaluation]
    deliveries: list[DeliveryResult] = Field(default_factory=list)


class NotificationRule(BaseModel):
    id: str
    name: str
    kind: str
    metric: str | None
    window: str
    operator: str
    threshold: float | None
    group_by: str | None
    filters: dict[str, list[str]]
    drift: DriftCondition | None = None


class AlertNotification(BaseModel):
    """The JSON body posted to webhooks. `dedup_key` is the same on every retry (and after a restart) of
    one notification, so a receiver can drop duplicates."""

    version: Literal[1] = 1
    status: NotificationStatus
    dedup_key: str
    project: str
    rule: NotificationRule
    group: dict[str, str]
    group_key: str
    value: float | None
    samples: int
    message: str
    started_at: datetime
    evaluated_at: datetime
