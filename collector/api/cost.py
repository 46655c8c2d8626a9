"""Cost: totals and breakdowns, the most expensive traces, month-to-date and month-end projection.

Projection: month-to-date cost + (cost of the trailing 7 days ÷ the days of data in them) × the days
left in the UTC month. Breakdowns by model, service and prompt version read the rollups; by user and
the most expensive traces read raw spans.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from spanscope.collector.api.deps import blocking, project_of, storage_of, time_range
from spanscope.collector.api.metrics import span_filters
from spanscope.collector.api.querying import (
    PROJECT,
    Params,
    SpanFilters,
    TimeRange,
    choose_source,
    dimension_sql,
    from_us,
    metrics_sql,
    span_time,
    to_us,
)
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import Dimension, Metric, Source, alias
from spanscope.schemas.models import CostResponse, CostRow, DailyCost, ExpensiveTrace, SpanFilterParams

router = APIRouter(prefix="/api", tags=["cost"])

_ROW_METRICS = (Metric.COST, Metric.LLM_CALLS, Metric.REQUESTS, Metric.INPUT_TOKENS, Metric.OUTPUT_TOKENS)
PROJECTION = "month-to-date + trailing 7-day daily average × days left in the UTC month"


def _num(v: Any) -> float:
    return float(v) if v is not None else 0.0


def cost_by(
    storage: Storage,
    project: str,
    tr: TimeRange,
    dimension: Dimension,
    source: Source,
    limit: int,
    total: float,
    filters: SpanFilters | None = None,
) -> list[CostRow]:
    p = Params(project)
    base = dimension_sql(dimension)
    sql, _, _ = metrics_sql(
        storage.database, p, tr, _ROW_METRICS, filters or SpanFilters(), source, group=base, where=f"{base} != ''"
    )
    rows = storage.query_dicts(
        f"SELECT * FROM ({sql}) WHERE {alias(Metric.COST)} > 0 ORDER BY {alias(Metric.COST)} DESC, grp "
        f"LIMIT {int(limit)}",
        p.values,
    )
    return [
        CostRow(
            key=str(r["grp"]),
            cost_usd=_num(r[alias(Metric.COST)]),
            share=_num(r[alias(Metric.COST)]) / total if total > 0 else None,
            llm_calls=int(_num(r[alias(Metric.LLM_CALLS)])),
            requests=int(_num(r[alias(Metric.REQUESTS)])),
            input_tokens=int(_num(r[alias(Metric.INPUT_TOKENS)])),
            output_tokens=int(_num(r[alias(Metric.OUTPUT_TOKENS)])),
        )
        for r in rows
    ]


def total_cost(
    storage: Storage, project: str, tr: TimeRange, filters: SpanFilters | None = None, source: Source = "rollup"
) -> float:
    p = Params(project)
    sql, _, _ = metrics_sql(storage.database, p, tr, [Metric.COST], filters or SpanFilters(), source)
    rows = storage.query_dicts(sql, p.values)
    return _num(rows[0][alias(Metric.COST)]) if rows else 0.0


def top_traces(
    storage: Storage, project: str, tr: TimeRange, limit: int, filters: SpanFilters | None = None
) -> list[ExpensiveTrace]:
    """The traces that spent most in the range (cost of their matching spans starting in it)."""
    p = Params(project)
    db = storage.database
    matching = (filters or SpanFilters()).sql(p, "spans")
    page = storage.query_dicts(
        "SELECT any(trace_id) AS tid, sum(cost_usd) AS cost "
        f"FROM {db}.spans WHERE {PROJECT} AND {span_time(p, tr.start_us, tr.end_us)} AND cost_usd > 0 "
        f"AND {matching} "
        f"GROUP BY cityHash64(trace_id) ORDER BY cost DESC, tid LIMIT {int(limit)}",
        p.values,
    )
    if not page:
        return []
    ids = [r["tid"] for r in page]
    info = {
        r["trace_id"]: r
        for r in storage.query_dicts(
            "SELECT trace_id, max(root_name) AS name, max(root_service) AS service, "
            "toUnixTimestamp64Micro(min(start_time)) AS start_us, sum(total_tokens) AS tokens, "
            f"sum(llm_calls) AS calls FROM {db}.trace_summary WHERE {PROJECT} "
            f"AND trace_id IN {p.bind(ids, 'Array(String)')} GROUP BY trace_id",
            p.values,
        )
    }
    out = []
    for r in page:
        t = info.get(r["tid"], {})
        out.append(
            ExpensiveTrace(
                trace_id=r["tid"],
                name=t.get("name", ""),
                service=t.get("service", ""),
                start_time=from_us(int(t.get("start_us", tr.start_us))),
                cost_usd=_num(r["cost"]),
                total_tokens=int(t.get("tokens", 0)),
                llm_calls=int(t.get("calls", 0)),
            )
        )
    return out


def month_projection(
    storage: Storage, project: str, now_us: int, filters: SpanFilters | None = None, source: Source = "rollup"
) -> tuple[datetime, float, float, list[DailyCost]]:
    """(month start, month-to-date cost, projected month-end cost, cost per day of the month)."""
    f = filters or SpanFilters()
    now = from_us(now_us)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    next_month = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    ms_us = to_us(month_start)
    p = Params(project)
    daily_sql, _, _ = metrics_sql(
        storage.database,
        p,
        TimeRange(ms_us, max(now_us, ms_us + 1)),
        [Metric.COST],
        f,
        source,
        step_s=86400,
    )
    daily_rows = {int(r["bucket"]): _num(r[alias(Metric.COST)]) for r in storage.query_dicts(daily_sql, p.values)}
    mtd = sum(daily_rows.values())
    days = []
    day_s = ms_us // 1_000_000
    while day_s * 1_000_000 < now_us:
        days.append(DailyCost(day=from_us(day_s * 1_000_000), cost_usd=daily_rows.get(day_s, 0.0)))
        day_s += 86400
    week = TimeRange(now_us - 7 * 86400 * 1_000_000, now_us)
    p2 = Params(project)
    sql, _, _ = metrics_sql(storage.database, p2, week, [Metric.COST], f, source, step_s=3600)
    hours = storage.query_dicts(
        f"SELECT min(bucket) AS first, sum({alias(Metric.COST)}) AS cost FROM ({sql})", p2.values
    )
    projected = mtd
    if hours and hours[0]["cost"]:
        first_s = int(hours[0]["first"])
        span_days = max((now_us / 1e6 - first_s) / 86400, 1 / 24)
        rate = _num(hours[0]["cost"]) / span_days
        projected = mtd + rate * max((to_us(next_month) - now_us) / 1e6 / 86400, 0.0)
    return month_start, mtd, projected, days


@router.get(
    "/cost",
    summary="Cost by model, service, prompt version and user; most expensive traces; month-end projection",
    description=__doc__ or "",
)
async def cost(
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    limit: Annotated[int, Query(ge=1, le=500, description="rows per breakdown")] = 20,
    traces: Annotated[int, Query(ge=0, le=100, description="most expensive traces to list (0: none)")] = 10,
) -> CostResponse:
    f = span_filters(filters)

    def run() -> CostResponse:
        source = choose_source(f, filters.source)
        total = total_cost(storage, project, tr, f, source)
        now_us = int(time.time() * 1_000_000)
        month_start, mtd, projected, days = month_projection(storage, project, now_us, f, source)
        return CostResponse(
            start=tr.start,
            end=tr.end,
            total_usd=total,
            by_model=cost_by(storage, project, tr, Dimension.MODEL, source, limit, total, f),
            by_service=cost_by(storage, project, tr, Dimension.SERVICE, source, limit, total, f),
            by_prompt_version=cost_by(storage, project, tr, Dimension.PROMPT_VERSION, source, limit, total, f),
            by_user=cost_by(storage, project, tr, Dimension.USER, "spans", limit, total, f),
            top_traces=top_traces(storage, project, tr, traces, f) if traces else [],
            month_start=month_start,
            month_to_date_usd=mtd,
            projected_month_end_usd=projected,
            projection_method=PROJECTION,
            daily=days,
        )

    return await blocking(run)
