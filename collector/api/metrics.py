"""Metrics: KPI summaries, time series and breakdowns (DESIGN §6 definitions, `schemas/metrics.py`).

Reads the rollup tables (whole hours from `rollup_hour`, the edges from `rollup_minute`) unless a
filter or grouping needs raw spans (user, session, tag).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from spanscope.collector.api.deps import blocking, parse_duration_s, project_of, storage_of, time_range
from spanscope.collector.api.querying import (
    Params,
    QueryError,
    SpanFilters,
    TimeRange,
    and_all,
    choose_interval,
    choose_source,
    dimension_sql,
    from_us,
    metrics_sql,
)
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import (
    DEFAULT_SUMMARY,
    DEFAULT_TIMESERIES,
    METRICS,
    RAW_ONLY_DIMENSIONS,
    Dimension,
    Metric,
    Source,
    alias,
    metric_value,
)
from spanscope.schemas.models import (
    BreakdownResponse,
    BreakdownRow,
    MetricDefinitions,
    MetricInfo,
    Series,
    SpanFilterParams,
    SummaryResponse,
    TimeseriesResponse,
)

router = APIRouter(prefix="/api/metrics", tags=["metrics"])

OTHER = "__other__"
DEFAULT_BREAKDOWN: tuple[Metric, ...] = (
    Metric.REQUESTS,
    Metric.SPANS,
    Metric.LATENCY_P50,
    Metric.LATENCY_P95,
    Metric.LATENCY_P99,
    Metric.ERROR_RATE,
    Metric.COST,
    Metric.TOTAL_TOKENS,
    Metric.LLM_CALLS,
    Metric.FALLBACK_RATE,
    Metric.GUARDRAIL_BLOCK_RATE,
    Metric.OFF_FORMAT_RATE,
)

MetricsParam = Annotated[
    list[Metric], Query(description="metrics to compute (repeat the parameter); default: see the endpoint")
]


def span_filters(f: SpanFilterParams) -> SpanFilters:
    return SpanFilters.of(f)


def _values(row: dict[str, Any], metrics: list[Metric] | tuple[Metric, ...]) -> dict[Metric, float | None]:
    out: dict[Metric, float | None] = {}
    for m in metrics:
        v = metric_value(m, row.get(alias(m)))
        if v is None and METRICS[m].kind == "additive":
            v = 0.0
        out[m] = v
    return out


def _change(cur: dict[Metric, float | None], prev: dict[Metric, float | None]) -> dict[Metric, float | None]:
    out: dict[Metric, float | None] = {}
    for m, c in cur.items():
        p = prev.get(m)
        out[m] = None if c is None or p is None or p == 0 else (c - p) / abs(p)
    return out


def summary_values(
    storage: Storage,
    project: str,
    tr: TimeRange,
    metrics: list[Metric] | tuple[Metric, ...],
    filters: SpanFilters,
    source: Source,
    compare: bool = True,
) -> SummaryResponse:
    """KPIs over a range (and the period before it). Importable by alerts."""
    p = Params(project)
    cur_sql, start_us, end_us = metrics_sql(storage.database, p, tr, metrics, filters, source)
    sql = f"SELECT 0 AS period, * FROM ({cur_sql})"
    prev_tr = tr.previous()
    if compare:
        prev_sql, pstart_us, pend_us = metrics_sql(storage.database, p, prev_tr, metrics, filters, source)
        sql += f" UNION ALL SELECT 1 AS period, * FROM ({prev_sql})"
    rows = {int(r["period"]): r for r in storage.query_dicts(sql, p.values)}
    values = _values(rows.get(0, {}), metrics)
    resp = SummaryResponse(start=from_us(start_us), end=from_us(end_us), source=source, values=values)
    if compare:
        previous = _values(rows.get(1, {}), metrics)
        resp.previous_start, resp.previous_end = from_us(pstart_us), from_us(pend_us)
        resp.previous = previous
        resp.change = _change(values, previous)
    return resp


@router.get("/definitions", summary="Metric and dimension definitions (labels, units, meaning)")
async def definitions() -> MetricDefinitions:
    return MetricDefinitions(
        metrics=[
            MetricInfo(metric=d.metric, label=d.label, unit=d.unit, kind=d.kind, description=d.description)
            for d in METRICS.values()
        ],
        dimensions=list(Dimension),
        raw_only_dimensions=sorted(RAW_ONLY_DIMENSIONS),
    )


@router.get(
    "/summary",
    summary="KPIs for a range and the previous period of equal length",
    description="Default metrics: all but the span latency percentiles (latency_p50/p95/p99 mix every span "
    "kind; ask for them with a kind, name or model filter). `change` is relative: (current − previous) / previous.",
)
async def summary(
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    metrics: MetricsParam = [],  # noqa: B006 - FastAPI copies defaults
    compare: Annotated[bool, Query(description="also compute the previous period")] = True,
) -> SummaryResponse:
    f = span_filters(filters)
    chosen = list(dict.fromkeys(metrics)) or list(DEFAULT_SUMMARY)

    def run() -> SummaryResponse:
        source = choose_source(f, filters.source)
        return summary_values(storage, project, tr, chosen, f, source, compare)

    return await blocking(run)


@router.get(
    "/timeseries",
    summary="Metrics per time bucket, optionally per group (top N groups + __other__)",
    description="Interval: given (`5m`, `1h`, seconds…) or chosen from the range for at most 200 points "
    "(1h→1m, 6h→2m, 24h→10m, 7d→1h, 30d→6h). Default metrics: requests, error_rate, trace latency "
    "p50/p95, cost, total_tokens.",
)
async def timeseries(
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    metrics: MetricsParam = [],  # noqa: B006
    interval: Annotated[str | None, Query(description="bucket width: 1m, 5m, 1h, 1d or seconds")] = None,
    group_by: Annotated[Dimension | None, Query(description="split into one series per value")] = None,
    top: Annotated[int, Query(ge=1, le=50, description="number of groups kept (by rank_by)")] = 5,
    rank_by: Annotated[Metric, Query(description="additive metric ranking the groups")] = Metric.SPANS,
    other: Annotated[bool, Query(description="add a __other__ series for the remaining groups")] = True,
    include_empty: Annotated[bool, Query(description="keep spans whose group value is empty")] = False,
) -> TimeseriesResponse:
    f = span_filters(filters)
    chosen = list(dict.fromkeys(metrics)) or list(DEFAULT_TIMESERIES)
    requested_s = parse_duration_s(interval, "interval") if interval else None

    def run() -> TimeseriesResponse:
        step = choose_interval(tr.seconds, requested_s)
        source = choose_source(f, filters.source, group_by)
        db = storage.database
        p = Params(project)
        group_expr: str | None = None
        extra = None
        groups: list[str] = []
        if group_by is not None:
            base = dimension_sql(group_by)
            extra = None if include_empty else f"{base} != ''"
            if METRICS[rank_by].kind != "additive":
                raise QueryError("rank_by must be an additive metric (requests, spans, cost, tokens…)")
            rank_sql, _, _ = metrics_sql(db, p, tr, [rank_by], f, source, group=base, where=extra)
            rank_rows = storage.query_dicts(
                f"SELECT grp, {alias(rank_by)} FROM ({rank_sql}) ORDER BY {alias(rank_by)} DESC, grp LIMIT {top + 1}",
                p.values,
            )
            groups = [str(r["grp"]) for r in rank_rows[:top]]
            group_expr = f"if({base} IN {p.bind(groups, 'Array(String)')}, {base}, {p.bind(OTHER, 'String')})"
            if len(rank_rows) > top:
                if other:
                    groups.append(OTHER)
                else:
                    extra = and_all([extra, f"{base} IN {p.bind(groups, 'Array(String)')}"])
        sql, start_us, end_us = metrics_sql(db, p, tr, chosen, f, source, step_s=step, group=group_expr, where=extra)
        rows = storage.query_dicts(sql, p.values)
        first = (start_us // 1_000_000) // step * step
        buckets = list(range(first, -(-end_us // 1_000_000), step))
        index = {b: i for i, b in enumerate(buckets)}
        keys: list[str | None] = list(groups) if group_by is not None else [None]
        series: dict[str | None, dict[Metric, list[float | None]]] = {}
        for key in keys:
            series[key] = {m: [0.0 if METRICS[m].kind == "additive" else None] * len(buckets) for m in chosen}
        for r in rows:
            key = str(r["grp"]) if group_by is not None else None
            i = index.get(int(r["bucket"]))
            if i is None or key not in series:
                continue
            vals = _values(r, chosen)
            for m in chosen:
                series[key][m][i] = vals[m]
        return TimeseriesResponse(
            start=from_us(start_us),
            end=from_us(end_us),
            source=source,
            interval_s=step,
            group_by=group_by,
            metrics=chosen,
            timestamps=[from_us(b * 1_000_000) for b in buckets],
            series=[Series(group=k, values=v) for k, v in series.items()],
        )

    return await blocking(run)


@router.get(
    "/breakdown",
    summary="A table of metrics per value of one dimension",
    description="dimension=user or session reads raw spans (rollups carry neither). "
    "Default metrics: requests, "
    "spans, latency p50/p95/p99, error rate, cost, tokens, LLM calls, fallback/block/off-format rates.",
)
async def breakdown(
    dimension: Annotated[Dimension, Query(description="the grouping")],
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    metrics: MetricsParam = [],  # noqa: B006
    sort_by: Annotated[Metric, Query(description="metric to sort the rows by")] = Metric.SPANS,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    include_empty: Annotated[bool, Query(description="keep the row of spans whose value is empty")] = False,
) -> BreakdownResponse:
    f = span_filters(filters)
    chosen = list(dict.fromkeys(metrics)) or list(DEFAULT_BREAKDOWN)
    if sort_by not in chosen:
        chosen.append(sort_by)

    def run() -> BreakdownResponse:
        source = choose_source(f, filters.source, dimension)
        p = Params(project)
        base = dimension_sql(dimension)
        extra = None if include_empty else f"{base} != ''"
        sql, start_us, end_us = metrics_sql(storage.database, p, tr, chosen, f, source, group=base, where=extra)
        direction = "DESC" if order == "desc" else "ASC"
        rows = storage.query_dicts(
            f"SELECT * FROM ({sql}) ORDER BY {alias(sort_by)} {direction} NULLS LAST, grp LIMIT {int(limit)}",
            p.values,
        )
        return BreakdownResponse(
            start=from_us(start_us),
            end=from_us(end_us),
            source=source,
            dimension=dimension,
            metrics=chosen,
            rows=[BreakdownRow(group=str(r["grp"]), values=_values(r, chosen)) for r in rows],
        )

    return await blocking(run)
