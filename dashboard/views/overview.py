"""Overview: KPIs against the previous period, their time series, and a breakdown by model and prompt.

With a model filter the metrics describe that model's spans, which are never trace roots: volume
becomes LLM calls and latency the span latency, instead of a request count of zero.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, charts, filters, fmt, ui
from spanscope.schemas.metrics import Metric

BREAKDOWN_METRICS = [
    Metric.LLM_CALLS,
    Metric.SPANS,
    Metric.LATENCY_P50,
    Metric.LATENCY_P95,
    Metric.COST,
    Metric.TOTAL_TOKENS,
    Metric.ERROR_RATE,
    Metric.FALLBACK_RATE,
    Metric.OFF_FORMAT_RATE,
]


def _metrics(model_scoped: bool) -> tuple[Metric, Metric, Metric, Metric]:
    """(volume, p50, p95, p99) for the scope."""
    if model_scoped:
        return Metric.LLM_CALLS, Metric.LATENCY_P50, Metric.LATENCY_P95, Metric.LATENCY_P99
    return Metric.REQUESTS, Metric.TRACE_LATENCY_P50, Metric.TRACE_LATENCY_P95, Metric.TRACE_LATENCY_P99


def render() -> None:
    ctx = filters.context()
    model_scoped = bool(ctx.scope.model)
    volume, p50, p95, p99 = _metrics(model_scoped)
    subtitle = f"{ctx.range_label}, compared with the period of equal length before it"
    if model_scoped:
        subtitle += " · model filter: volume is LLM calls and latency is the latency of those calls"
    ui.page_title("Overview", subtitle)

    rates = [Metric.ERROR_RATE, Metric.FALLBACK_RATE, Metric.GUARDRAIL_BLOCK_RATE, Metric.OFF_FORMAT_RATE]
    summary = api.summary(
        ctx.window,
        ctx.scope,
        [
            volume,
            p50,
            p95,
            p99,
            Metric.COST,
            Metric.TOTAL_TOKENS,
            Metric.SPANS,
            Metric.LLM_CALLS,
            Metric.FALLBACKS,
            Metric.GUARDRAIL_BLOCKS,
            Metric.OFF_FORMAT,
            Metric.ERRORS,
            *rates,
        ],
    )
    now, before = summary.values, summary.previous or {}
    if not now.get(Metric.SPANS):
        st.info(
            "No spans match the filters in this range. Clear a filter in the sidebar or widen the range.",
            icon=":material/filter_alt_off:",
        )
        return
    prev_label = "Previous period"
    if summary.previous_start and summary.previous_end:
        prev_label += (
            f" ({fmt.when(summary.previous_start, ctx.tz, seconds=False)} – "
            f"{fmt.when(summary.previous_end, ctx.tz, seconds=False)})"
        )
    ui.kpi_row(
        [
            ui.Kpi(
                "LLM calls" if model_scoped else "Requests",
                now.get(volume),
                before.get(volume),
                "count",
                help="logical LLM calls" if model_scoped else "traces (root spans)",
            ),
            ui.Kpi(
                "Latency p95",
                now.get(p95),
                before.get(p95),
                "ms",
                "inverse",
                help=f"p50 {fmt.ms(now.get(p50))} · p99 {fmt.ms(now.get(p99))}",
            ),
            ui.Kpi("Cost", now.get(Metric.COST), before.get(Metric.COST), "usd", "inverse"),
            ui.Kpi("Tokens", now.get(Metric.TOTAL_TOKENS), before.get(Metric.TOTAL_TOKENS), "tokens", "off"),
        ],
        prev_label,
    )
    ui.kpi_row(
        [
            ui.Kpi(
                "Error rate",
                now.get(Metric.ERROR_RATE),
                before.get(Metric.ERROR_RATE),
                "ratio",
                "inverse",
                help=f"{fmt.count(now.get(Metric.ERRORS))} spans with status ERROR",
            ),
            ui.Kpi(
                "Fallback rate",
                now.get(Metric.FALLBACK_RATE),
                before.get(Metric.FALLBACK_RATE),
                "ratio",
                "inverse",
                help=f"{fmt.count(now.get(Metric.FALLBACKS))} LLM calls served by a fallback",
            ),
            ui.Kpi(
                "Guardrail block rate",
                now.get(Metric.GUARDRAIL_BLOCK_RATE),
                before.get(Metric.GUARDRAIL_BLOCK_RATE),
                "ratio",
                "off",
                help=f"{fmt.count(now.get(Metric.GUARDRAIL_BLOCKS))} guardrail checks blocked or modified",
            ),
            ui.Kpi(
                "Off-format rate",
                now.get(Metric.OFF_FORMAT_RATE),
                before.get(Metric.OFF_FORMAT_RATE),
                "ratio",
                "inverse",
                help=f"{fmt.count(now.get(Metric.OFF_FORMAT))} outputs failed validation",
            ),
        ],
        prev_label,
    )

    series_metrics = [volume, p50, p95, p99, Metric.COST, Metric.INPUT_TOKENS, Metric.OUTPUT_TOKENS, *rates]
    ts = api.timeseries(ctx.window, ctx.scope, series_metrics)
    values = ts.series[0].values if ts.series else {}

    def line(metric: Metric, name: str, color: str | None = None) -> charts.Line:
        return charts.Line(name, values.get(metric, []), color)

    x_range = (ts.start, ts.end)
    grid = [st.columns(2), st.columns(2), st.columns(2)]
    figures = [
        charts.time_figure(
            f"{'LLM calls' if model_scoped else 'Requests'} per {_bucket(ts.interval_s)}",
            ts.timestamps,
            [line(volume, "requests")],
            "count",
            ctx.tz,
            x_range,
            bars=True,
        ),
        charts.time_figure(
            "Latency percentiles",
            ts.timestamps,
            [line(p50, "p50"), line(p95, "p95"), line(p99, "p99", charts.PALETTE[7])],
            "ms",
            ctx.tz,
            x_range,
        ),
        charts.time_figure(
            f"Cost per {_bucket(ts.interval_s)}",
            ts.timestamps,
            [line(Metric.COST, "cost")],
            "usd",
            ctx.tz,
            x_range,
            bars=True,
        ),
        charts.time_figure(
            f"Tokens per {_bucket(ts.interval_s)}",
            ts.timestamps,
            [line(Metric.INPUT_TOKENS, "input"), line(Metric.OUTPUT_TOKENS, "output")],
            "tokens",
            ctx.tz,
            x_range,
            bars=True,
            stacked=True,
        ),
        charts.time_figure(
            "Error and fallback rates",
            ts.timestamps,
            [
                line(Metric.ERROR_RATE, "error rate", charts.ERROR_COLOR),
                line(Metric.FALLBACK_RATE, "fallback rate", charts.PALETTE[1]),
            ],
            "ratio",
            ctx.tz,
            x_range,
        ),
        charts.time_figure(
            "Guardrail-block and off-format rates",
            ts.timestamps,
            [
                line(Metric.GUARDRAIL_BLOCK_RATE, "guardrail blocks", charts.PALETTE[2]),
                line(Metric.OFF_FORMAT_RATE, "off-format", charts.PALETTE[3]),
            ],
            "ratio",
            ctx.tz,
            x_range,
        ),
    ]
    for i, fig in enumerate(figures):
        with grid[i // 2][i % 2]:
            st.plotly_chart(fig, width="stretch", config=charts.CONFIG)
    st.caption(
        f"One point per {_bucket(ts.interval_s)} ({fmt.zone_label(ctx.tz)}); rates have no point where "
        "there was nothing to count."
    )

    st.subheader("Breakdown")
    by_model, by_prompt = st.tabs(["By model", "By prompt version"])
    with by_model:
        _breakdown(ctx, "model", "Model")
    with by_prompt:
        _breakdown(ctx, "prompt_version", "Prompt version")


def _bucket(seconds: int) -> str:
    names = {60: "minute", 3600: "hour", 86400: "day"}
    if seconds in names:
        return names[seconds]
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return f"{seconds // 60} minutes"


def _breakdown(ctx: filters.Context, dimension: str, label: str) -> None:
    data = api.breakdown(ctx.window, ctx.scope, dimension, BREAKDOWN_METRICS, sort_by="spans", limit=30)
    if not data.rows:
        st.info(f"No spans carry a {label.lower()} in this range.", icon=":material/info:")
        return
    groups = [r.group for r in data.rows]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.bar_h(
                f"Cost by {label.lower()}", groups, [r.values.get(Metric.COST) or 0.0 for r in data.rows], "usd"
            ),
            width="stretch",
            config=charts.CONFIG,
        )
    with right:
        st.plotly_chart(
            charts.bar_h(
                f"Latency p95 by {label.lower()}",
                groups,
                [r.values.get(Metric.LATENCY_P95) or 0.0 for r in data.rows],
                "ms",
                color=charts.PALETTE[2],
            ),
            width="stretch",
            config=charts.CONFIG,
        )
    frame = pd.DataFrame(
        [
            {
                label: r.group,
                "LLM calls": r.values.get(Metric.LLM_CALLS),
                "Spans": r.values.get(Metric.SPANS),
                "Latency p50": r.values.get(Metric.LATENCY_P50),
                "Latency p95": r.values.get(Metric.LATENCY_P95),
                "Cost": r.values.get(Metric.COST),
                "Tokens": r.values.get(Metric.TOTAL_TOKENS),
                "Error rate": r.values.get(Metric.ERROR_RATE),
                "Fallback rate": r.values.get(Metric.FALLBACK_RATE),
                "Off-format rate": r.values.get(Metric.OFF_FORMAT_RATE),
            }
            for r in data.rows
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "LLM calls": st.column_config.NumberColumn(format="%,d"),
            "Spans": st.column_config.NumberColumn(format="%,d"),
            "Latency p50": st.column_config.NumberColumn(format="%,.1f ms"),
            "Latency p95": st.column_config.NumberColumn(format="%,.1f ms"),
            "Cost": st.column_config.NumberColumn(format="$%.6f"),
            "Tokens": st.column_config.NumberColumn(format="%,d"),
            "Error rate": st.column_config.NumberColumn(format="percent"),
            "Fallback rate": st.column_config.NumberColumn(format="percent"),
            "Off-format rate": st.column_config.NumberColumn(format="percent"),
        },
    )
    if dimension == "prompt_version":
        st.caption(
            "Spans that carry the prompt version; compare versions with a significance test on "
            "the Prompt versions page."
        )


if __name__ == "__main__":
    render()
