"""Prompt versions: the versions of one prompt side by side, with sample sizes and significance tests,
so an A/B test between two versions can be read (and not over-read).

The collector compares versions over logical LLM calls (`/api/prompts/{name}/versions`). When it
has none for the prompt (the prompt is recorded only on the attempt spans, say), the page falls
back to span-level metrics per version from `/api/metrics/breakdown`, without a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, charts, filters, fmt, ui
from spanscope.schemas.metrics import Metric
from spanscope.schemas.models import PromptVersionsResponse, SignificanceTest

AUTO = "(automatic)"
ALPHAS = [0.01, 0.05, 0.1]
SMALL_SAMPLE = 30
TEST_LABELS = {
    "latency_ms": ("Latency (median)", "ms", "lower"),
    "cost_per_call_usd": ("Cost per call (median)", "usd", "lower"),
    "error_rate": ("Error rate", "ratio", "lower"),
    "fallback_rate": ("Fallback rate", "ratio", "lower"),
    "off_format_rate": ("Off-format rate", "ratio", "lower"),
}


@dataclass
class VersionRow:
    """One version's numbers, whichever endpoint they came from."""

    version: str
    n: int
    p50: float | None
    p95: float | None
    cost_per_call: float | None
    error_rate: float | None
    fallback_rate: float | None
    off_format_rate: float | None
    in_tokens: float | None = None
    out_tokens: float | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    scores: dict[str, tuple[float | None, int]] = field(default_factory=dict)


def render() -> None:
    ctx = filters.context()
    ui.page_title(
        "Prompt versions",
        f"{ctx.range_label} · compare the versions of a prompt, with sample sizes and significance tests",
    )
    listing = api.prompts(ctx.window, ctx.scope)
    names = [p.prompt_name for p in listing.prompts]
    requested = filters.url_value("prompt")
    if requested:
        st.session_state["pv_prompt"] = requested
    current = st.session_state.get("pv_prompt")
    options = sorted(set(names) | ({str(current)} if current else set()))
    if not options:
        st.info(
            "No prompt versions in this range. Record the prompt on your LLM calls, e.g. "
            '`spanscope.update_current_span(prompt_name="support-answer", prompt_version="v4")` '
            "(or the OTel attributes `gen_ai.prompt.name` / `gen_ai.prompt.version`).",
            icon=":material/info:",
        )
        return
    if current not in options:
        st.session_state["pv_prompt"] = options[0]
    top = st.columns([3, 2, 2, 1])
    prompt = str(top[0].selectbox("Prompt", options, key="pv_prompt"))
    summary = next((p for p in listing.prompts if p.prompt_name == prompt), None)
    versions = list(summary.versions) if summary else []
    baseline = top[1].selectbox(
        "Baseline",
        [AUTO, *versions],
        key=f"pv_base_{prompt}",
        help="Default: the second most recently introduced version",
    )
    candidate = top[2].selectbox(
        "Candidate", [AUTO, *versions], key=f"pv_cand_{prompt}", help="Default: the most recently introduced version"
    )
    alpha = float(top[3].selectbox("α", ALPHAS, index=1, key="pv_alpha", help="significance level"))
    filters.page_param("prompt", prompt)
    if (baseline == AUTO) != (candidate == AUTO):
        st.warning("Choose both a baseline and a candidate, or leave both automatic.")
        return
    if baseline != AUTO and baseline == candidate:
        st.warning("Baseline and candidate are the same version; pick two different ones.")
        return

    resp = api.prompt_versions(
        ctx.window,
        prompt,
        None if baseline == AUTO else str(baseline),
        None if candidate == AUTO else str(candidate),
        alpha,
        ctx.scope,
    )
    if resp is not None:
        rows = _from_api(resp)
        n_label = "LLM calls"
    else:
        rows = _from_breakdown(ctx, prompt)
        n_label = "spans"
        if not rows:
            st.info(f"No calls of prompt `{prompt}` in this range.", icon=":material/info:")
            return
        st.warning(
            f"The collector has no logical LLM calls tagged with prompt `{prompt}` in this range, so there is no "
            "significance test. Shown instead: metrics of the spans that carry each version (attempt spans "
            "when the prompt is recorded on each attempt).",
            icon=":material/warning:",
        )

    _side_by_side(rows, n_label, ctx)
    _charts(rows)
    if resp is not None:
        _significance(resp, rows)


def _from_api(resp: PromptVersionsResponse) -> list[VersionRow]:
    return [
        VersionRow(
            version=v.version,
            n=v.calls,
            p50=v.latency_p50,
            p95=v.latency_p95,
            cost_per_call=v.cost_per_call,
            error_rate=v.error_rate,
            fallback_rate=v.fallback_rate,
            off_format_rate=v.off_format_rate,
            in_tokens=v.mean_input_tokens,
            out_tokens=v.mean_output_tokens,
            first_seen=v.first_seen,
            last_seen=v.last_seen,
            scores={k: (s.mean, s.count) for k, s in v.scores.items()},
        )
        for v in resp.versions
    ]


def _from_breakdown(ctx: filters.Context, prompt: str) -> list[VersionRow]:
    data = api.breakdown(
        ctx.window,
        api.Scope(),
        "prompt_version",
        [
            Metric.SPANS,
            Metric.LATENCY_P50,
            Metric.LATENCY_P95,
            Metric.COST,
            Metric.ERROR_RATE,
            Metric.FALLBACK_RATE,
            Metric.OFF_FORMAT_RATE,
            Metric.INPUT_TOKENS,
            Metric.OUTPUT_TOKENS,
        ],
        sort_by="spans",
        limit=50,
        extra=[("prompt_name", prompt)],
    )
    rows = []
    for r in data.rows:
        n = int(r.values.get(Metric.SPANS) or 0)
        version = r.group.split("@", 1)[1] if r.group.startswith(prompt + "@") else r.group
        rows.append(
            VersionRow(
                version=version,
                n=n,
                p50=r.values.get(Metric.LATENCY_P50),
                p95=r.values.get(Metric.LATENCY_P95),
                cost_per_call=(r.values.get(Metric.COST) or 0.0) / n if n else None,
                error_rate=r.values.get(Metric.ERROR_RATE),
                fallback_rate=r.values.get(Metric.FALLBACK_RATE),
                off_format_rate=r.values.get(Metric.OFF_FORMAT_RATE),
                in_tokens=(r.values.get(Metric.INPUT_TOKENS) or 0.0) / n if n else None,
                out_tokens=(r.values.get(Metric.OUTPUT_TOKENS) or 0.0) / n if n else None,
            )
        )
    return sorted(rows, key=lambda v: v.version)


def _side_by_side(rows: list[VersionRow], n_label: str, ctx: filters.Context) -> None:
    """Metrics as rows, versions as columns: reads like an A/B report."""
    st.subheader("Side by side")
    table: dict[str, list[str]] = {"": []}

    def add(label: str, values: list[str]) -> None:
        table[""].append(label)
        for row, value in zip(rows, values, strict=True):
            table.setdefault(row.version, []).append(value)

    add(f"Sample size ({n_label})", [f"{r.n:,}" for r in rows])
    if any(r.first_seen for r in rows):
        add("First seen", [fmt.when(r.first_seen, ctx.tz, seconds=False) if r.first_seen else "–" for r in rows])
        add("Last seen", [fmt.when(r.last_seen, ctx.tz, seconds=False) if r.last_seen else "–" for r in rows])
    add("Latency p50", [fmt.ms(r.p50) for r in rows])
    add("Latency p95", [fmt.ms(r.p95) for r in rows])
    add("Cost per call", [fmt.usd(r.cost_per_call) for r in rows])
    add("Mean input tokens", [fmt.count(round(r.in_tokens, 1)) if r.in_tokens is not None else "–" for r in rows])
    add("Mean output tokens", [fmt.count(round(r.out_tokens, 1)) if r.out_tokens is not None else "–" for r in rows])
    add("Error rate", [fmt.pct(r.error_rate) for r in rows])
    add("Fallback rate", [fmt.pct(r.fallback_rate) for r in rows])
    add("Off-format rate", [fmt.pct(r.off_format_rate) for r in rows])
    for name in sorted({k for r in rows for k in r.scores}):
        add(
            f"Score: {name} (mean, n)",
            [
                f"{r.scores[name][0]:.3g} (n={r.scores[name][1]})"
                if name in r.scores and r.scores[name][0] is not None
                else "–"
                for r in rows
            ],
        )
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", height=38 + 35 * len(table[""]))
    small = [r.version for r in rows if r.n < SMALL_SAMPLE]
    if small:
        st.caption(f"Fewer than {SMALL_SAMPLE} {n_label} for {', '.join(small)}: treat differences as indicative.")


def _charts(rows: list[VersionRow]) -> None:
    versions = [r.version for r in rows]
    left, mid, right = st.columns(3)
    with left:
        st.plotly_chart(
            charts.grouped_bars(
                "Latency by version",
                versions,
                [
                    charts.Line("p50", [r.p50 for r in rows]),
                    charts.Line("p95", [r.p95 for r in rows], charts.PALETTE[1]),
                ],
                "ms",
            ),
            width="stretch",
            config=charts.CONFIG,
        )
    with mid:
        st.plotly_chart(
            charts.grouped_bars(
                "Cost per call by version",
                versions,
                [charts.Line("cost per call", [r.cost_per_call for r in rows], charts.PALETTE[4])],
                "usd",
            ),
            width="stretch",
            config=charts.CONFIG,
        )
    with right:
        st.plotly_chart(
            charts.grouped_bars(
                "Rates by version",
                versions,
                [
                    charts.Line("error", [r.error_rate for r in rows], charts.ERROR_COLOR),
                    charts.Line("fallback", [r.fallback_rate for r in rows], charts.PALETTE[1]),
                    charts.Line("off-format", [r.off_format_rate for r in rows], charts.PALETTE[3]),
                ],
                "ratio",
            ),
            width="stretch",
            config=charts.CONFIG,
        )


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _describe(test: SignificanceTest) -> tuple[str, fmt.Unit, str]:
    if test.metric.startswith("score:"):
        return f"Score: {test.metric[6:]} (median)", "count", "higher"
    return TEST_LABELS.get(test.metric, (test.metric, "count", "lower"))


def _difference(test: SignificanceTest, unit: fmt.Unit) -> str:
    if test.difference is None:
        return "–"
    if unit == "ratio":
        return f"{test.difference * 100:+.2f} pp"
    sign = "+" if test.difference >= 0 else "-"
    text = fmt.value(abs(test.difference), unit) if unit != "count" else f"{abs(test.difference):.3g}"
    return sign + text


def _significance(resp: PromptVersionsResponse, rows: list[VersionRow]) -> None:
    st.subheader("Significance")
    comp = resp.comparison
    if comp is None:
        st.info("Only one version in this range: nothing to compare yet.", icon=":material/info:")
        return
    st.markdown(f"Candidate **{comp.candidate}** against baseline **{comp.baseline}**, α = {comp.alpha:g}.")
    verdicts = []
    table = []
    for test in comp.tests:
        label, unit, better = _describe(test)
        table.append(
            {
                "Metric": label,
                comp.baseline: fmt.value(test.baseline, unit) if unit != "count" else _num(test.baseline),
                comp.candidate: fmt.value(test.candidate, unit) if unit != "count" else _num(test.candidate),
                "Difference": _difference(test, unit),
                "p-value": _p(test.p_value),
                "Significant": "yes" if test.significant else "no",
                "n (baseline / candidate)": f"{test.n_baseline:,} / {test.n_candidate:,}",
                "Test": test.test,
            }
        )
        if test.significant and test.difference:
            p_text = _p(test.p_value) if _p(test.p_value).startswith("<") else "= " + _p(test.p_value)
            improved = (test.difference < 0) == (better == "lower")
            verdicts.append(
                f"- {':green' if improved else ':red'}[**{label}**: {comp.candidate} is "
                f"{'better' if improved else 'worse'} ({_difference(test, unit)}, p {p_text})]"
            )
    if verdicts:
        st.markdown("\n".join(verdicts))
    else:
        n = {r.version: r.n for r in rows}
        st.markdown(
            f"No significant difference at α = {comp.alpha:g} "
            f"(n = {n.get(comp.baseline, 0):,} and {n.get(comp.candidate, 0):,} calls)."
        )
    frame = pd.DataFrame(table)
    st.dataframe(
        frame.style.apply(lambda col: ["font-weight: 600" if v == "yes" else "" for v in col], subset=["Significant"]),
        hide_index=True,
        width="stretch",
    )
    st.caption(f"Method: {comp.method}.")


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.3g}"


if __name__ == "__main__":
    render()
