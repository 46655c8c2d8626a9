"""Plotly figures with units on the axes and human hover text.

The figures are built here, not in the pages, so every chart of a unit looks the same (a latency
axis always says ms, a cost axis always has $) and pages stay about what to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import plotly.graph_objects as go
from spanscope.dashboard import fmt
from spanscope.schemas.models import SpanNode

HEIGHT = 290
# One colour per span kind, the same in the waterfall and its legend everywhere.
KIND_COLORS: dict[str, str] = {
    "chain": "#5b6ee1",
    "agent": "#3f51b5",
    "generation": "#9b59b6",
    "retrieval": "#17a2b8",
    "embedding": "#20c997",
    "rerank": "#0d9488",
    "guardrail": "#f39c12",
    "tool": "#2e9e5b",
    "evaluator": "#d63384",
    "span": "#8c95a3",
}
OTHER_COLOR = "#8c95a3"
ERROR_COLOR = "#d62728"
PALETTE = ["#5b6ee1", "#f39c12", "#17a2b8", "#9b59b6", "#2e9e5b", "#d63384", "#8c95a3", "#e15759"]
# Charts are read, not edited: no mode bar (it also covered legends and titles).
CONFIG: dict[str, Any] = {"displayModeBar": False, "displaylogo": False}
AXIS_TITLE = {"ms": "ms", "usd": "USD", "ratio": "%", "tokens": "tokens", "count": "count"}


@dataclass(frozen=True)
class Line:
    name: str
    values: Sequence[float | None]
    color: str | None = None
    dash: str | None = None


def _tickformat(unit: fmt.Unit, values: Sequence[float | None]) -> dict[str, Any]:
    top = max((abs(v) for v in values if v is not None), default=0.0)
    if unit == "ratio":
        return {"tickformat": ".1~%" if top < 0.1 else ".0%", "rangemode": "tozero"}
    if unit == "usd":
        digits = 2 if top >= 1 else 4 if top >= 0.01 else 6
        return {"tickprefix": "$", "tickformat": f",.{digits}~f", "rangemode": "tozero"}
    if unit == "ms":
        return {"ticksuffix": " ms", "tickformat": ",.0f" if top >= 10 else ",.2~f", "rangemode": "tozero"}
    return {"tickformat": "~s", "rangemode": "tozero"}


def _hover(unit: fmt.Unit) -> str:
    return {
        "ratio": "%{y:.2%}",
        "usd": "$%{y:,.6~f}",
        "ms": "%{y:,.1f} ms",
        "tokens": "%{y:,.0f} tokens",
        "count": "%{y:,.0f}",
    }[unit]


def _layout(fig: go.Figure, title: str, height: int = HEIGHT, legend: bool = True) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hovermode="x unified",
    )
    return fig


def time_figure(
    title: str,
    timestamps: Sequence[datetime],
    lines: Sequence[Line],
    unit: fmt.Unit,
    tz: tzinfo,
    x_range: tuple[datetime, datetime],
    bars: bool = False,
    stacked: bool = False,
) -> go.Figure:
    """Metric per time bucket: lines (rates, percentiles) or bars (counts, money), x in local time."""
    xs = [t.astimezone(tz).replace(tzinfo=None) for t in timestamps]
    fig = go.Figure()
    for i, line in enumerate(lines):
        color = line.color or PALETTE[i % len(PALETTE)]
        if bars:
            fig.add_trace(
                go.Bar(x=xs, y=list(line.values), name=line.name, marker_color=color, hovertemplate=_hover(unit))
            )
        else:
            points = sum(1 for v in line.values if v is not None)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=list(line.values),
                    name=line.name,
                    mode="lines+markers" if points < 40 else "lines",
                    line={"color": color, "width": 2, "dash": line.dash},
                    marker={"size": 5},
                    connectgaps=False,
                    hovertemplate=_hover(unit),
                )
            )
    every = [v for line in lines for v in line.values]
    fig.update_yaxes(title_text=AXIS_TITLE[unit], **_tickformat(unit, every))
    fig.update_xaxes(
        range=[x_range[0].astimezone(tz).replace(tzinfo=None), x_range[1].astimezone(tz).replace(tzinfo=None)]
    )
    if bars:
        fig.update_layout(barmode="stack" if stacked else "group", bargap=0.1)
    return _layout(fig, title, legend=len(lines) > 1)


def bar_h(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: fmt.Unit,
    texts: Sequence[str] | None = None,
    color: str = PALETTE[0],
) -> go.Figure:
    """Horizontal bars, largest on top (costs by model, service, user…)."""
    labels, values = list(labels), list(values)
    shown = [fmt.value(v, unit) for v in values] if texts is None else list(texts)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[_clip(label, 40) for label in labels],
            orientation="h",
            marker_color=color,
            text=shown,
            textposition="outside",
            cliponaxis=False,
            constraintext="none",
            customdata=labels,
            hovertemplate="%{customdata}: " + _hover(unit).replace("y", "x") + "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    top = max(values, default=0.0)
    # Room on the right for the value labels, which sit outside the bars.
    room = 1.15 + 0.028 * max((len(t) for t in shown), default=0)
    fig.update_xaxes(
        title_text=AXIS_TITLE[unit],
        range=[0, top * room if top > 0 else 1],
        **{k: v for k, v in _tickformat(unit, values).items() if k != "rangemode"},
    )
    height = max(180, 80 + 28 * len(labels))
    fig = _layout(fig, title, height=height, legend=False)
    fig.update_layout(hovermode="closest", bargap=0.6 if len(labels) < 3 else 0.25)
    return fig


def grouped_bars(title: str, groups: Sequence[str], series: Sequence[Line], unit: fmt.Unit) -> go.Figure:
    """One bar per (group, series): versions side by side for each metric."""
    fig = go.Figure()
    for i, s in enumerate(series):
        fig.add_trace(
            go.Bar(
                x=list(groups),
                y=list(s.values),
                name=s.name,
                marker_color=s.color or PALETTE[i % len(PALETTE)],
                text=[fmt.value(v, unit) for v in s.values],
                textposition="outside",
                cliponaxis=False,
                constraintext="none",
                hovertemplate=s.name + ": " + _hover(unit) + "<extra></extra>",
            )
        )
    values = [v for s in series for v in s.values if v is not None]
    top = max(values, default=0.0)
    fig.update_yaxes(
        title_text=AXIS_TITLE[unit],
        range=[0, top * 1.25 if top > 0 else 1],
        **{k: v for k, v in _tickformat(unit, values).items() if k != "rangemode"},
    )
    fig.update_xaxes(type="category")
    fig = _layout(fig, title, legend=len(series) > 1)
    # Below the plot: narrow charts have no room for a legend beside the title.
    fig.update_layout(
        barmode="group",
        hovermode="closest",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
    )
    return fig


def cumulative_projection(
    title: str, days: Sequence[datetime], daily: Sequence[float], month_end: datetime, projected: float, tz: tzinfo
) -> go.Figure:
    """Daily cost bars of the month with the running total and a dashed line to the projected total."""
    xs = [d.astimezone(tz).date() for d in days]
    running: list[float] = []
    total = 0.0
    for v in daily:
        total += v
        running.append(total)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=xs, y=list(daily), name="Daily cost", marker_color=PALETTE[0], opacity=0.75, hovertemplate="$%{y:,.6~f}"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=running,
            name="Month to date",
            mode="lines+markers",
            line={"color": PALETTE[1], "width": 2},
            hovertemplate="$%{y:,.6~f}",
        )
    )
    if xs:
        end = month_end.astimezone(tz).date()
        fig.add_trace(
            go.Scatter(
                x=[xs[-1], end],
                y=[running[-1], projected],
                name="Projection",
                mode="lines+markers",
                line={"color": PALETTE[1], "width": 2, "dash": "dash"},
                hovertemplate="$%{y:,.6~f}",
            )
        )
    values = [*daily, *running, projected]
    fig.update_yaxes(title_text="USD", **_tickformat("usd", values))
    fig.update_xaxes(range=[xs[0] if xs else None, month_end.astimezone(tz).date()] if xs else None)
    return _layout(fig, title)


# --------------------------------------------------------------------------- trace waterfall


def flatten(spans: Sequence[SpanNode]) -> list[SpanNode]:
    """The span tree in display order: depth first, children by start time."""
    out: list[SpanNode] = []
    stack = list(reversed(spans))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def span_label(span: SpanNode, width: int = 44) -> str:
    indent = "\u00a0\u00a0\u00a0" * span.depth
    return indent + ("└ " if span.depth else "") + _clip(span.name or span.kind, width - 3 * span.depth)


def waterfall(spans: Sequence[SpanNode], selected: int | None = None) -> go.Figure:
    """One bar per span at its offset and duration, coloured by kind, indented by depth.

    Very short spans get a minimum visible width (their hover and label keep the true duration);
    errors are outlined in red; the selected span is outlined in black.
    """
    total = max((s.offset_ms + s.duration_ms for s in spans), default=1.0) or 1.0
    min_width = total / 250
    fig = go.Figure()
    by_kind: dict[str, list[int]] = {}
    for i, s in enumerate(spans):
        by_kind.setdefault(s.kind or "span", []).append(i)
    for kind, idx in by_kind.items():
        rows = [spans[i] for i in idx]
        fig.add_trace(
            go.Bar(
                y=idx,
                x=[max(s.duration_ms, min_width) for s in rows],
                base=[s.offset_ms for s in rows],
                width=[0.72] * len(rows),  # in rows; else a kind's bars are as thick as the gap between them
                orientation="h",
                name=kind,
                marker={
                    "color": KIND_COLORS.get(kind, OTHER_COLOR),
                    "line": {
                        "color": [
                            "#111111" if i == selected else ERROR_COLOR if s.status == "ERROR" else "rgba(0,0,0,0)"
                            for i, s in zip(idx, rows, strict=True)
                        ],
                        "width": [3 if i == selected else 2 for i in idx],
                    },
                },
                text=[fmt.ms(s.duration_ms) for s in rows],
                textposition="outside",
                constraintext="none",
                textfont={"size": 11},
                cliponaxis=False,
                customdata=[[s.name, kind, fmt.ms(s.duration_ms), fmt.ms(s.offset_ms), _span_facts(s)] for s in rows],
                hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
                "starts at +%{customdata[3]}, takes %{customdata[2]}<br>%{customdata[4]}<extra></extra>",
            )
        )
    labels = [span_label(s) + ("  ✕" if s.status == "ERROR" else "") for s in spans]
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(spans))),
        ticktext=labels,
        autorange="reversed",
        automargin=True,
        showgrid=False,
    )
    fig.update_xaxes(
        title_text="ms since the trace started",
        range=[0, total * 1.12],
        ticksuffix=" ms",
        tickformat=",.0f" if total >= 10 else ",.2~f",
        zeroline=True,
    )
    fig.update_layout(
        barmode="overlay",
        height=max(220, 90 + 26 * len(spans)),
        margin={"l": 10, "r": 20, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "title": ""},
        hovermode="closest",
        bargap=0.25,
        clickmode="event+select",
    )
    return fig


def _span_facts(s: SpanNode) -> str:
    facts = []
    if s.model:
        facts.append(s.model)
    if s.total_tokens:
        facts.append(f"{s.total_tokens:,} tokens")
    if s.cost_usd:
        facts.append(fmt.usd(s.cost_usd))
    if s.status == "ERROR":
        facts.append("ERROR " + _clip(s.status_message, 60))
    if s.guardrail_verdict:
        facts.append(f"guardrail: {s.guardrail_verdict}")
    if s.fallback_used:
        facts.append("served by a fallback")
    return " · ".join(facts) or s.kind


def _clip(text: str, n: int) -> str:
    n = max(n, 8)
    return text if len(text) <= n else text[: n - 1] + "…"
