"""SQL building blocks for the query API: bound parameters, time predicates, rollup sources.

Every user value reaches ClickHouse as a server-side parameter (`{p3:String}`) through `Params`;
nothing user-supplied is ever formatted into SQL text. Time bounds are unix microseconds bound as
Int64. The spans order key is (project_id, toStartOfHour(start_time), …): ClickHouse does not
derive that key's range from a condition on `start_time` alone, so `span_time` adds the
`toStartOfHour` bounds that let the primary index prune.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from spanscope.schemas.metrics import (
    DIMENSION_SQL,
    RAW_ONLY_DIMENSIONS,
    Dimension,
    Metric,
    Source,
    select_list,
)

MAX_RANGE_S = 400 * 86400
MINUTE = 60
HOUR = 3600
# Auto intervals: the smallest of these giving at most MAX_POINTS buckets.
INTERVALS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
MAX_POINTS = 200
MAX_BUCKETS = 2000
# Hourly rollups are used once a range holds this many whole hours (edges come from minutes).
MIN_HOURS_FOR_HOURLY = 3
ROLLUP_COLUMNS = (
    "service, environment, kind, name, model, provider, prompt_name, prompt_version, spans, errors, roots, "
    "duration_sum, duration_max, latency, root_latency, input_tokens, output_tokens, total_tokens, cost_usd, "
    "llm_calls, fallbacks, guardrail_checks, guardrail_blocks, validated, invalid"
)


class QueryError(ValueError):
    """A request that cannot be answered as asked (the routers turn it into 400)."""


@dataclass(frozen=True)
class TimeRange:
    """[start, end) in unix microseconds, UTC."""

    start_us: int
    end_us: int

    @property
    def start(self) -> datetime:
        return from_us(self.start_us)

    @property
    def end(self) -> datetime:
        return from_us(self.end_us)

    @property
    def seconds(self) -> float:
        return (self.end_us - self.start_us) / 1e6

    def previous(self) -> TimeRange:
        """The period of equal length right before this one."""
        length = self.end_us - self.start_us
        return TimeRange(self.start_us - length, self.start_us)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def to_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1_000_000)


class Params:
    """Collects bound parameters; `bind` returns the `{name:Type}` placeholder to put in SQL."""

    def __init__(self, project: str) -> None:
        self.values: dict[str, Any] = {"project": project}
        self._n = 0

    def bind(self, value: Any, ch_type: str) -> str:
        self._n += 1
        name = f"p{self._n}"
        self.values[name] = value
        return f"{{{name}:{ch_type}}}"

    def micros(self, us: int) -> str:
        return f"fromUnixTimestamp64Micro({self.bind(int(us), 'Int64')}, 'UTC')"

    def seconds(self, s: int) -> str:
        return f"toDateTime({self.bind(int(s), 'UInt32')}, 'UTC')"


PROJECT = "project_id = {project:String}"


def span_time(p: Params, lo_us: int, hi_us: int, column: str = "start_time") -> str:
    """`lo <= start_time < hi`, plus the hour bounds the spans primary index needs."""
    lo, hi = p.micros(lo_us), p.micros(hi_us)
    return (
        f"{column} >= {lo} AND {column} < {hi} "
        f"AND toStartOfHour({column}) >= toStartOfHour({lo}) AND toStartOfHour({column}) <= "
        f"toStartOfHour({hi})"
    )


def in_values(p: Params, column: str, values: list[str] | tuple[str, ...]) -> str | None:
    """`column = v` or `column IN [..]` with bound values; None when no value is given."""
    if not values:
        return None
    if len(values) == 1:
        return f"{column} = {p.bind(values[0], 'String')}"
    return f"{column} IN {p.bind(list(values), 'Array(String)')}"


def and_all(conditions: Iterable[str | None]) -> str:
    parts = [c for c in conditions if c]
    return " AND ".join(f"({c})" for c in parts) if parts else "1"


@dataclass(frozen=True)
class SpanFilters:
    """Span-level filters of the metric endpoints. The first group exists in the rollups."""

    service: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    provider: tuple[str, ...] = ()
    prompt_name: tuple[str, ...] = ()
    prompt_version: tuple[str, ...] = ()
    # raw spans only
    user_id: tuple[str, ...] = ()
    session_id: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()

    ROLLUP_FIELDS = (
        "service",
        "environment",
        "kind",
        "name",
        "model",
        "provider",
        "prompt_name",
        "prompt_version",
    )

    @classmethod
    def of(cls, source: object) -> SpanFilters:
        """From any object with list fields of the same names (query parameters, an alert rule's
        filters); a field the source lacks stays empty."""
        return cls(**{f.name: tuple(getattr(source, f.name, ()) or ()) for f in fields(cls)})

    @property
    def needs_spans(self) -> bool:
        return bool(self.user_id or self.session_id or self.tag)

    def sql(self, p: Params, source: Source) -> str:
        conds = [in_values(p, f, getattr(self, f)) for f in self.ROLLUP_FIELDS]
        if source == "spans":
            conds.append(in_values(p, "user_id", self.user_id))
            conds.append(in_values(p, "session_id", self.session_id))
            if self.tag:
                conds.append(f"hasAny(tags, {p.bind(list(self.tag), 'Array(String)')})")
        elif self.needs_spans:
            raise QueryError("user, session and tag filters need raw spans (source=spans)")
        return and_all(conds)


def choose_source(filters: SpanFilters, requested: str, dimension: Dimension | None = None) -> Source:
    """Rollups unless a filter or grouping needs raw spans (or the caller insists)."""
    needs_spans = filters.needs_spans or (dimension in RAW_ONLY_DIMENSIONS)
    if requested == "rollup":
        if needs_spans:
            raise QueryError("user, session and tag filters and groupings need source=spans or auto")
        return "rollup"
    if requested == "spans" or needs_spans:
        return "spans"
    return "rollup"


def dimension_sql(dimension: Dimension) -> str:
    return DIMENSION_SQL[dimension]


def choose_interval(range_s: float, requested_s: int | None) -> int:
    """Bucket width: the requested one (validated) or the smallest standard one giving ≤ 200 points."""
    if requested_s is not None:
        if requested_s < MINUTE or requested_s % MINUTE:
            raise QueryError("interval must be a whole number of minutes (at least 1m)")
        if range_s / requested_s > MAX_BUCKETS:
            raise QueryError(f"interval too small for the range: more than {MAX_BUCKETS} buckets")
        return requested_s
    for step in INTERVALS_S:
        if range_s / step <= MAX_POINTS:
            return step
    return INTERVALS_S[-1]


# Rollup levels, coarsest first: (table, time column, grain in seconds, whole grains needed to use it).
ROLLUP_LEVELS = (
    ("rollup_day", "day", 86400, 1),
    ("rollup_hour", "hour", HOUR, MIN_HOURS_FOR_HOURLY),
    ("rollup_minute", "minute", MINUTE, 1),
)


@dataclass(frozen=True)
class RollupPlan:
    """Which rollup tables cover [start_s, end_s): whole days, then whole hours, then minutes at the edges."""

    start_s: int
    end_s: int
    arms: tuple[tuple[str, str, int, int], ...] = field(default=())

    @property
    def start_us(self) -> int:
        return self.start_s * 1_000_000

    @property
    def end_us(self) -> int:
        return self.end_s * 1_000_000


def rollup_cover(
    lo: int, hi: int, levels: tuple[tuple[str, str, int, int], ...]
) -> list[tuple[str, str, int, int]]:
    table, column, grain, min_units = levels[0]
    if len(levels) == 1:
        return [(table, column, lo, hi)] if lo < hi else []
    a = -(-lo // grain) * grain
    b = hi // grain * grain
    if b - a < min_units * grain:
        return rollup_cover(lo, hi, levels[1:])
    return [*rollup_cover(lo, a, levels[1:]), (table, column, a, b), *rollup_cover(b, hi, levels[1:])]


def plan_rollup(tr: TimeRange, max_grain_s: int | None = None) -> RollupPlan:
    """Minute resolution: the range is widened to whole minutes (reported back to the caller).

    `max_grain_s`: only use levels whose grain divides it (a time-series step), so that every rollup
    row falls into exactly one bucket. None: any level.
    """
    lo = math.floor(tr.start_us / 1e6 / MINUTE) * MINUTE
    hi = math.ceil(tr.end_us / 1e6 / MINUTE) * MINUTE
    levels = tuple(lv for lv in ROLLUP_LEVELS if max_grain_s is None or max_grain_s % lv[2] == 0)
    return RollupPlan(lo, hi, tuple(rollup_cover(lo, hi, levels)))


def rollup_from(db: str, p: Params, plan: RollupPlan, where: str, extra_columns: str = "") -> str:
    """A subquery over the plan's rollup tables with column `ts` (DateTime) and the rollup columns."""
    arms = []
    extra = f"{extra_columns}, " if extra_columns else ""
    for table, column, lo, hi in plan.arms:
        arms.append(
            f"SELECT {column} AS ts, {extra}{ROLLUP_COLUMNS} FROM {db}.{table} "
            f"WHERE {PROJECT} AND {column} >= {p.seconds(lo)} AND {column} < {p.seconds(hi)} AND {where}"
        )
    return "(" + " UNION ALL ".join(arms) + ")"


def metrics_sql(
    db: str,
    p: Params,
    tr: TimeRange,
    metrics: list[Metric] | tuple[Metric, ...],
    filters: SpanFilters,
    source: Source,
    *,
    step_s: int | None = None,
    group: str | None = None,
    where: str | None = None,
) -> tuple[str, int, int]:
    """SELECT [bucket,] [grp,] m_<metric>… for a range: (sql, effective start_us, effective end_us).

    `group` is a group key expression over the source's columns (e.g. from `dimension_sql`).
    Buckets are unix seconds aligned to multiples of `step_s`.
    """
    keys = []
    ts = "ts" if source == "rollup" else "start_time"
    if step_s is not None:
        keys.append(f"intDiv(toUnixTimestamp({ts}), {int(step_s)}) * {int(step_s)} AS bucket")
    if group is not None:
        keys.append(f"{group} AS grp")
    select = ", ".join([*keys, select_list(metrics, source)])
    group_by = f" GROUP BY {', '.join(k.rsplit(' AS ', 1)[1] for k in keys)}" if keys else ""
    where = and_all([filters.sql(p, source), where])
    if source == "rollup":
        plan = plan_rollup(tr, step_s)
        sql = f"SELECT {select} FROM {rollup_from(db, p, plan, where)}{group_by}"
        return sql, plan.start_us, plan.end_us
    window = span_time(p, tr.start_us, tr.end_us)
    sql = f"SELECT {select} FROM {db}.spans WHERE {PROJECT} AND {window} AND {where}{group_by}"
    return sql, tr.start_us, tr.end_us
