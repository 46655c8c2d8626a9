"""Drift: did latency, cost, outputs, failure rates, the model mix or what users ask change, against a
baseline? A signal is flagged only when the change is both large and statistically significant.

Data: `/api/drift` (every signal of the scope) and `/api/drift/history` (one signal per time bucket).
The sidebar's service, environment and model narrow the scope when exactly one of each is chosen.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pydantic import BaseModel, ValidationError
from spanscope.dashboard import api, charts, filters, fmt, ui
from spanscope.schemas.drift import DriftHistory, DriftReport, DriftSignal

CURRENT = {"1h": "Last hour", "6h": "Last 6 hours", "24h": "Last 24 hours", "7d": "Last 7 days"}
BASELINE = {"24h": "24 hours before", "7d": "7 days before", "14d": "14 days before", "30d": "30 days before"}
KINDS = ["(any)", "generation", "chain", "agent", "retrieval", "tool", "guardrail", "embedding"]
STATUS_COLORS = {
    "significant": "#f8d7da",
    "moderate": "#fff3cd",
    "stable": "#d1e7dd",
    "insufficient_data": "#e9ecef",
}
STATUS_LABELS = {
    "significant": "significant",
    "moderate": "moderate",
    "stable": "stable",
    "insufficient_data": "too few data",
}
MARKER_COLORS = {
    "significant": charts.ERROR_COLOR,
    "moderate": "#f39c12",
    "stable": "#2e9e5b",
    "insufficient_data": charts.OTHER_COLOR,
}
BASE_COLOR, CUR_COLOR = charts.PALETTE[0], charts.PALETTE[1]
M = TypeVar("M", bound=BaseModel)


def _load(model: type[M], path: str, params: list[tuple[str, Any]]) -> M:
    data = api.get_json(path, params)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise api.ApiError(f"{path} answered in an unexpected shape: {exc.errors()[0].get('msg')}", 200) from exc


def _scope_params(ctx: filters.Context, kind: str, span_name: str, prompt: str, version: str) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = []
    sidebar = (("service", ctx.scope.service), ("environment", ctx.scope.environment), ("model", ctx.scope.model))
    for key, chosen in sidebar:
        if len(chosen) == 1:
            params.append((key, chosen[0]))
        elif len(chosen) > 1:
            st.warning(f"Drift compares one {key} at a time; choose a single {key} in the sidebar to narrow it.")
    if kind != KINDS[0]:
        params.append(("kind", kind))
    params += [("span_name", span_name.strip()), ("prompt_name", prompt.strip()), ("prompt_version", version.strip())]
    return params


def render() -> None:
    ctx = filters.context()
    ui.page_title("Drift", "current window against a baseline · PSI, KS, z-test, Jensen–Shannon, centroid distance")
    top = st.columns([2, 2, 2, 3])
    current = str(top[0].selectbox("Current window", list(CURRENT), index=2, format_func=CURRENT.__getitem__))
    baseline = str(top[1].selectbox("Baseline", list(BASELINE), index=1, format_func=BASELINE.__getitem__))
    kind = str(top[2].selectbox("Span kind", KINDS, help="default: requests (root spans) and LLM calls"))
    span_name = str(top[3].text_input("Span name", placeholder="any"))
    with st.expander("Prompt and thresholds"):
        row = st.columns(5)
        prompt = str(row[0].text_input("Prompt name", placeholder="any"))
        version = str(row[1].text_input("Prompt version", placeholder="any"))
        min_samples = int(row[2].number_input("Minimum samples", min_value=1, value=100, step=50))
        psi_sig = float(row[3].number_input("PSI significant", min_value=0.01, value=0.2, step=0.05))
        p_value = float(row[4].selectbox("p-value below", [0.001, 0.01, 0.05], index=1))
    params = [
        *_scope_params(ctx, kind, span_name, prompt, version),
        ("current", current),
        ("baseline", baseline),
        ("min_samples", min_samples),
        ("psi_significant", psi_sig),
        ("psi_moderate", min(0.1, psi_sig)),
        ("p_value", p_value),
    ]
    with st.spinner("Comparing windows…"):
        report = _load(DriftReport, "/api/drift", params)
    _headline(report)
    _table(report.signals)
    names = [s.name for s in report.signals]
    if not names:
        return
    flagged = [s.name for s in report.signals if s.status in ("significant", "moderate")]
    chosen = st.selectbox(
        "Signal",
        names,
        key="drift_signal",
        index=names.index(flagged[0]) if flagged else 0,
        format_func=lambda n: next(s.label for s in report.signals if s.name == n),
    )
    filters.page_param("signal", chosen)
    signal = next(s for s in report.signals if s.name == chosen)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(distribution_figure(signal), config=charts.CONFIG, width="stretch")
    with right:
        if signal.type == "semantic" or signal.name == "output_language_mix":
            st.caption("History is not available for sampled signals (input topics, output language).")
        else:
            history = _load(DriftHistory, "/api/drift/history", [*params, ("signal", chosen)])
            st.plotly_chart(history_figure(history, report, ctx), config=charts.CONFIG, width="stretch")
    if signal.type == "semantic" and report.semantic is not None:
        _movers(report)


def _headline(report: DriftReport) -> None:
    counts = {k: sum(s.status == k for s in report.signals) for k in STATUS_COLORS}
    tz = filters.context().tz
    st.markdown(
        f"**{counts['significant']} significant**, {counts['moderate']} moderate, {counts['stable']} stable, "
        f"{counts['insufficient_data']} with too few data · current {fmt.when(report.current.start, tz, False)} – "
        f"{fmt.when(report.current.end, tz, False)} against {fmt.when(report.baseline.start, tz, False)} – "
        f"{fmt.when(report.baseline.end, tz, False)}"
    )


def _summary(s: DriftSignal, v: float | None) -> str:
    if v is None:
        return "–"
    if s.type == "rate":
        return fmt.pct(v)
    if s.name == "latency_ms":
        return fmt.ms(v)
    if s.name == "cost_usd":
        return fmt.usd(v)
    return f"{v:,.4g}"


def _change(s: DriftSignal) -> str:
    if s.value is None:
        return "–"
    return f"{s.statistic} {s.value:+.3f}" if s.type == "rate" else f"{s.statistic} {s.value:.3f}"


def _table(signals: list[DriftSignal]) -> None:
    frame = pd.DataFrame(
        [
            {
                "Signal": s.label,
                "Status": STATUS_LABELS[s.status],
                "Change": _change(s),
                "p-value": "–" if s.p_value is None else f"{s.p_value:.2g}",
                "Test": s.test or "–",
                "Baseline": _summary(s, s.baseline_summary),
                "Current": _summary(s, s.current_summary),
                "n baseline": s.n_baseline,
                "n current": s.n_current,
                "Why": s.detail,
            }
            for s in signals
        ]
    )
    colors = [STATUS_COLORS[s.status] for s in signals]
    st.dataframe(
        frame.style.apply(lambda row: [f"background-color: {colors[row.name]}"] * len(row), axis=1),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Baseline/Current: median for numeric signals, rate for rates. Numeric: PSI on baseline deciles and a "
        "two-sample KS test; rates: two-proportion z-test; mixes: Jensen–Shannon distance and chi-square; "
        "input topics: centroid cosine distance with a permutation test."
    )


def distribution_figure(s: DriftSignal) -> go.Figure:
    """Baseline and current distributions of one signal, overlaid."""
    if s.type == "numeric" and s.bin_edges:
        e = s.bin_edges
        labels = [f"{e[i]:,.4g} – {e[i + 1]:,.4g}" for i in range(len(e) - 1)]
        title = f"{s.label}: share per baseline decile"
    else:
        labels = list(s.categories or [])
        title = f"{s.label}: share of inputs with the term" if s.type == "semantic" else f"{s.label}: share"
    fig = go.Figure()
    for name, values, color in (("baseline", s.baseline, BASE_COLOR), ("current", s.current, CUR_COLOR)):
        fig.add_bar(x=labels, y=values, name=name, marker_color=color, opacity=0.75, hovertemplate="%{y:.1%}")
    fig.update_layout(barmode="group", yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return charts_layout(fig, title)


def history_figure(h: DriftHistory, report: DriftReport, ctx: filters.Context) -> go.Figure:
    """The signal's effect size per bucket, with the request's thresholds."""
    th = report.request.thresholds
    lines = {"psi": (th.psi_moderate, th.psi_significant), "js_distance": (th.js_moderate, th.js_significant)}
    lines["diff"] = (th.rate_moderate, th.rate_significant)
    xs = [p.start.astimezone(ctx.tz) for p in h.points]
    fig = go.Figure()
    fig.add_scatter(
        x=xs,
        y=[p.value for p in h.points],
        mode="lines+markers",
        name=h.statistic,
        line={"color": CUR_COLOR},
        marker={"color": [MARKER_COLORS[p.status] for p in h.points], "size": 9},
        customdata=[[p.n, STATUS_LABELS[p.status]] for p in h.points],
        hovertemplate="%{y:.3f} · n %{customdata[0]} · %{customdata[1]}<extra></extra>",
    )
    moderate, significant = lines.get(h.statistic, (None, None))
    for level, dash in ((moderate, "dot"), (significant, "dash")):
        if level is not None:
            fig.add_hline(y=level, line_dash=dash, line_color="#888")
            if h.statistic == "diff":
                fig.add_hline(y=-level, line_dash=dash, line_color="#888")
    return charts_layout(fig, f"{h.statistic} per {_interval(h.interval_s)} against the baseline", legend=False)


def charts_layout(fig: go.Figure, title: str, legend: bool = True) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
        height=charts.HEIGHT + 40,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    return fig


def _interval(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _movers(report: DriftReport) -> None:
    sem = report.semantic
    assert sem is not None
    st.markdown(
        f"**Terms gaining:** {', '.join(sem.current_terms) or '–'}  \n"
        f"**Terms losing:** {', '.join(sem.baseline_terms) or '–'}  \n"
        f"Sampled {sem.sampled_baseline:,} of {sem.n_baseline:,} baseline and {sem.sampled_current:,} of "
        f"{sem.n_current:,} current inputs."
    )
    if sem.top_movers:
        st.markdown("**Inputs that moved the centroid most**")
        st.dataframe(
            pd.DataFrame(
                [
                    {"Input": m.text, "Share of shift": m.contribution, "Trace": f"traces?trace={m.trace_id}"}
                    for m in sem.top_movers
                ]
            ),
            column_config={
                "Share of shift": st.column_config.NumberColumn(format="percent"),
                "Trace": st.column_config.LinkColumn(display_text="open trace"),
            },
            hide_index=True,
            width="stretch",
        )


if __name__ == "__main__":
    render()
