"""Cost: totals against the previous period, cost over time by model, breakdowns by model, service,
user and prompt version, the most expensive traces, and the month-end projection.

Breakdowns read `/api/metrics/breakdown`; the projection comes from `/api/cost`. Both honour the
sidebar's filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, charts, filters, fmt, ui
from spanscope.schemas.metrics import Metric

ROW_METRICS = [Metric.COST, Metric.LLM_CALLS, Metric.REQUESTS, Metric.INPUT_TOKENS, Metric.OUTPUT_TOKENS]
DIMENSIONS = [("model", "Model"), ("service", "Service"), ("user", "User"), ("prompt_version", "Prompt version")]


@dataclass(frozen=True)
class Projection:
    month_start: datetime
    month_end: datetime
    month_to_date: float
    projected: float
    days: list[datetime]
    daily: list[float]
    method: str


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def projection(ctx: filters.Context) -> Projection:
    """The month-end projection of `/api/cost`, which honours the sidebar's filters."""
    c = api.cost(ctx.window, ctx.scope, limit=1, top_traces=0)
    return Projection(
        c.month_start,
        _month_bounds(c.month_start)[1],
        c.month_to_date_usd,
        c.projected_month_end_usd,
        [d.day for d in c.daily],
        [d.cost_usd for d in c.daily],
        c.projection_method + (" (filtered)" if ctx.scope.active else ""),
    )


def render() -> None:
    ctx = filters.context()
    model_scoped = bool(ctx.scope.model)
    ui.page_title(
        "Cost",
        f"{ctx.range_label}, compared with the period of equal length before it · "
        "the projection is for the current calendar month (UTC)",
    )
    summary = api.summary(
        ctx.window,
        ctx.scope,
        [Metric.COST, Metric.COST_PER_REQUEST, Metric.REQUESTS, Metric.LLM_CALLS, Metric.TOTAL_TOKENS],
    )
    now, before = summary.values, summary.previous or {}
    proj = projection(ctx)
    total = now.get(Metric.COST) or 0.0
    per_call_now = _per(now.get(Metric.COST), now.get(Metric.LLM_CALLS))
    per_call_before = _per(before.get(Metric.COST), before.get(Metric.LLM_CALLS))
    ui.kpi_row(
        [
            ui.Kpi(
                "Cost",
                total,
                before.get(Metric.COST),
                "usd",
                "inverse",
                help=f"{fmt.count(now.get(Metric.TOTAL_TOKENS))} tokens",
            ),
            ui.Kpi("Cost per LLM call", per_call_now, per_call_before, "usd", "inverse")
            if model_scoped
            else ui.Kpi(
                "Cost per request",
                now.get(Metric.COST_PER_REQUEST),
                before.get(Metric.COST_PER_REQUEST),
                "usd",
                "inverse",
                help=f"{fmt.count(now.get(Metric.REQUESTS))} requests",
            ),
            ui.Kpi("Month to date", proj.month_to_date, None, "usd", help=f"since {proj.month_start:%d %b %Y} (UTC)"),
            ui.Kpi(
                "Projected for the month",
                proj.projected,
                None,
                "usd",
                help=f"{proj.method}; end of month {proj.month_end:%d %b %Y}",
            ),
        ],
        "Previous period",
    )

    left, right = st.columns(2)
    with left:
        ts = api.timeseries(ctx.window, ctx.scope, [Metric.COST], group_by="model", top=6)
        lines = [
            charts.Line(s.group if s.group != "__other__" else "other", s.values.get(Metric.COST, []))
            for s in ts.series
        ]
        st.plotly_chart(
            charts.time_figure(
                "Cost over time by model",
                ts.timestamps,
                lines,
                "usd",
                ctx.tz,
                (ts.start, ts.end),
                bars=True,
                stacked=True,
            ),
            width="stretch",
            config=charts.CONFIG,
        )
    with right:
        st.plotly_chart(
            charts.cumulative_projection(
                f"{proj.month_start:%B %Y}: daily cost and projection",
                proj.days,
                proj.daily,
                proj.month_end,
                proj.projected,
                ctx.tz,
            ),
            width="stretch",
            config=charts.CONFIG,
        )

    st.subheader("Where the money goes")
    tabs = st.tabs([f"By {label.lower()}" for _, label in DIMENSIONS])
    for tab, (dimension, label) in zip(tabs, DIMENSIONS, strict=True):
        with tab:
            _breakdown(ctx, dimension, label, total)

    st.subheader("Most expensive traces")
    _top_traces(ctx)


def _per(cost: float | None, n: float | None) -> float | None:
    return cost / n if cost is not None and n else None


def _breakdown(ctx: filters.Context, dimension: str, label: str, total: float) -> None:
    data = api.breakdown(ctx.window, ctx.scope, dimension, ROW_METRICS, sort_by="cost", limit=20)
    rows = [r for r in data.rows if (r.values.get(Metric.COST) or 0) > 0]
    if not rows:
        st.info(f"No costed spans carry a {label.lower()} in this range.", icon=":material/info:")
        return
    costs = [r.values.get(Metric.COST) or 0.0 for r in rows]
    chart, table = st.columns(2)
    with chart:
        texts = [f"{fmt.usd(c)} ({fmt.pct(c / total) if total else '–'})" for c in costs]
        st.plotly_chart(
            charts.bar_h(f"Cost by {label.lower()}", [r.group for r in rows], costs, "usd", texts),
            width="stretch",
            config=charts.CONFIG,
        )
    with table:
        frame = pd.DataFrame(
            [
                {
                    label: r.group,
                    "Cost": r.values.get(Metric.COST),
                    "Share": (r.values.get(Metric.COST) or 0.0) / total if total else None,
                    "LLM calls": r.values.get(Metric.LLM_CALLS),
                    "Cost per call": _per(r.values.get(Metric.COST), r.values.get(Metric.LLM_CALLS)),
                    "Requests": r.values.get(Metric.REQUESTS),
                    "Input tokens": r.values.get(Metric.INPUT_TOKENS),
                    "Output tokens": r.values.get(Metric.OUTPUT_TOKENS),
                }
                for r in rows
            ]
        )
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            column_config={
                "Cost": st.column_config.NumberColumn(format="$%.6f"),
                "Share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
                "LLM calls": st.column_config.NumberColumn(format="%,d"),
                "Cost per call": st.column_config.NumberColumn(format="$%.6f"),
                "Requests": st.column_config.NumberColumn(format="%,d"),
                "Input tokens": st.column_config.NumberColumn(format="%,d"),
                "Output tokens": st.column_config.NumberColumn(format="%,d"),
            },
        )
        if dimension == "model":
            st.caption("Requests count traces, whose root spans carry no model; LLM calls are the model's.")


def _top_traces(ctx: filters.Context) -> None:
    result = api.traces(ctx.window, ctx.scope, api.TraceQuery(sort="cost", order="desc", limit=10))
    items = [t for t in result.items if t.cost_usd > 0]
    if not items:
        st.info("No costed traces in this range.", icon=":material/info:")
        return
    frame = pd.DataFrame(
        [
            {
                "Cost": t.cost_usd,
                "Open": f"traces?trace={t.trace_id}",
                "Name": t.name,
                "Time": fmt.when(t.start_time, ctx.tz),
                "Service": t.service,
                "Models": ", ".join(t.models),
                "LLM calls": t.llm_calls,
                "Tokens": t.total_tokens,
                "Latency": t.duration_ms,
                "User": t.user_id,
                "Input": t.input,
            }
            for t in items
        ]
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="top_traces",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Cost": st.column_config.NumberColumn(format="$%.6f"),
            "LLM calls": st.column_config.NumberColumn(format="%d"),
            "Tokens": st.column_config.NumberColumn(format="%,d"),
            "Latency": st.column_config.NumberColumn(format="%,.1f ms"),
            "Open": st.column_config.LinkColumn("Open", display_text="open ↗", width="small"),
        },
    )
    st.caption("Select a row to open the trace here, or use the link to open it in a new tab.")
    rows = list(event.selection.rows)
    if rows:
        st.session_state["trace_id"] = items[rows[0]].trace_id
        st.switch_page("views/traces.py")


if __name__ == "__main__":
    render()
