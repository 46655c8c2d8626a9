"""Hard examples: production traces with low scores, negative feedback, failed evaluators, guardrail
blocks, fallbacks or errors. Review one, write the answer it should have given, add it to a dataset,
or add everything the filter finds at once."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, datasets_api, filters, ui
from spanscope.dashboard.datasets_api import value_text
from spanscope.schemas.datasets import HARD_EXAMPLE_REASONS, HardExample

LABELS = {
    "low_score": "Low score",
    "negative_feedback": "Negative feedback",
    "evaluator_failure": "Evaluator failed",
    "guardrail_block": "Guardrail block",
    "fallback": "Fallback",
    "error": "Error",
}


def _filter_params(
    reasons: list[str], score_name: str, max_score: float, span: str, limit: int
) -> list[tuple[str, Any]]:
    return [
        ("reasons", ",".join(reasons)),
        ("score_name", score_name or None),
        ("max_score", max_score),
        ("span", span),
        ("limit", limit),
    ]


def render() -> None:
    ctx = filters.context()
    ui.page_title("Hard examples", f"{ctx.range_label} · traces worth turning into regression tests")
    known = [d.name for d in datasets_api.datasets().datasets]
    c1, c2, c3, c4 = st.columns([3, 1.2, 1, 1])
    reasons = c1.multiselect(
        "Reasons", list(HARD_EXAMPLE_REASONS), default=list(HARD_EXAMPLE_REASONS), format_func=LABELS.__getitem__
    )
    score_name = c2.text_input("Score name (low score)", placeholder="any score")
    max_score = c3.number_input("Score at most", value=0.5, step=0.1)
    span = c4.radio("Input/output of", ["root", "generation"], horizontal=True)
    target = st.selectbox(
        "Dataset", known, index=None, placeholder="choose a dataset (create one on the Datasets page)"
    )
    if not reasons:
        st.info("Choose at least one reason.")
        return
    params = _filter_params(reasons, score_name, float(max_score), span, 200)
    found = datasets_api.hard_examples(ctx.window, [*params, ("dataset", target)])
    if not found.items:
        st.success("No hard examples in this range.", icon=":material/check_circle:")
        return
    frame = pd.DataFrame(
        [
            {
                "Time": h.start_time.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M:%S"),
                "Reasons": ", ".join(LABELS[r] for r in h.reasons),
                "Why": "; ".join(h.details),
                "Input": value_text(h.input, indent=2)[:120],
                "Output": value_text(h.output, indent=2)[:120],
                "In dataset": "" if h.in_dataset is None else ("yes" if h.in_dataset else "no"),
                "Trace": h.trace_id,
            }
            for h in found.items
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    if target:
        new = sum(1 for h in found.items if not h.in_dataset)
        body: dict[str, Any] = dict(p for p in params if p[1] is not None)
        body.update(reasons=reasons, **dict(ctx.window.params()))
        st.button(
            f"Add all {new} new inputs to {target}",
            disabled=new == 0,
            type="primary",
            on_click=_bulk_add,
            args=(target, body),
        )
    _show_outcome()
    st.subheader("Review")
    _review(found.items, target)


def _review(examples: list[HardExample], target: str | None) -> None:
    choice = st.selectbox(
        "Example",
        range(len(examples)),
        format_func=lambda i: f"{value_text(examples[i].input, indent=2)[:80]}  ·  {', '.join(examples[i].reasons)}",
    )
    h = examples[choice]
    left, right = st.columns(2)
    left.markdown("**Input**")
    left.code(value_text(h.input, indent=2), language="json" if not isinstance(h.input, str) else None, wrap_lines=True)
    left.markdown("**Why it is here**")
    left.write("\n".join(f"- {d}" for d in h.details))
    left.page_link("views/traces.py", label=f"Trace {h.trace_id[:12]}…", query_params={"trace": h.trace_id})
    right.markdown("**What the app answered**")
    right.code(value_text(h.output, indent=2), wrap_lines=True)
    right.text_area(
        "Expected output (what it should have answered)",
        value=value_text(h.output, indent=2),
        key=f"expected-{h.trace_id}",
        height=160,
    )
    if h.in_dataset:
        st.info(f"This input is already in {target}; edit its expected output on the Datasets page.")
        return
    st.button(
        "Add to dataset",
        key=f"add-{h.trace_id}",
        disabled=not target,
        type="primary",
        on_click=_add_one,
        args=(target, h, f"expected-{h.trace_id}"),
    )


# Buttons act in callbacks: they run before the script, so their outcome survives the app's reruns.
_OUTCOME = "hard_examples_outcome"


def _remember(kind: str, text: str) -> None:
    st.session_state[_OUTCOME] = (kind, text)


def _show_outcome() -> None:
    kind, text = st.session_state.pop(_OUTCOME, (None, ""))
    if kind == "success":
        st.success(text)
    elif kind == "info":
        st.info(text)
    elif kind == "error":
        st.error(text)


def _bulk_add(target: str, body: dict[str, Any]) -> None:
    try:
        res = datasets_api.add_from_filter(target, body)
    except api.ApiError as exc:
        _remember("error", str(exc))
        return
    _remember(
        "success",
        f"{target}: added {res.added}, skipped {res.skipped_duplicates} already there (version {res.version})",
    )


def _add_one(target: str, h: HardExample, text_key: str) -> None:
    expected = str(st.session_state.get(text_key) or "")
    item = {
        "input": h.input,
        "expected_output": datasets_api.typed_value(expected),
        "metadata": {"reasons": h.reasons, "details": h.details, "trace_name": h.name, "service": h.service},
        "tags": ["hard-example", *h.reasons],
        "source_trace_id": h.trace_id,
        "source_span_id": h.span_id,
    }
    try:
        res = datasets_api.add_items(target, [item], message=f"reviewed {h.trace_id[:12]}")
    except api.ApiError as exc:
        _remember("error", str(exc))
        return
    if res.created_version:
        _remember("success", f"Added to {target} (version {res.version}).")
    else:
        _remember("info", f"{target} already has this input.")


if __name__ == "__main__":
    render()
