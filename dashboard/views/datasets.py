"""Datasets: golden datasets and their versions, items with editable expected outputs, exports of any
version, and the eval runs that replayed them with their regressions."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, datasets_api, ui
from spanscope.dashboard.datasets_api import value_text
from spanscope.schemas.datasets import EXPORT_FORMATS, DatasetItem

EXPORT_LABELS = {"jsonl": "JSONL", "promptfoo": "promptfoo (YAML)", "openai_evals": "OpenAI Evals", "csv": "CSV"}
EXPORT_SUFFIX = {"jsonl": "jsonl", "promptfoo": "promptfoo.yaml", "openai_evals": "openai-evals.jsonl", "csv": "csv"}


def render() -> None:
    ui.page_title("Datasets", "golden datasets from production traces · every change is a new version")
    listing = datasets_api.datasets().datasets
    with st.expander("New dataset", expanded=not listing), st.form("create-dataset", clear_on_submit=True):
        st.text_input("Name", placeholder="support-golden", key="new_ds_name")
        st.text_input("Description", key="new_ds_description")
        st.form_submit_button("Create", type="primary", on_click=_create)
    _show_outcome()
    listing = datasets_api.datasets().datasets
    if not listing:
        st.info("No datasets yet. Create one, then add traces from the Hard examples page.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Dataset": d.name,
                    "Version": d.latest_version,
                    "Items": d.item_count,
                    "Updated": d.updated_at.strftime("%Y-%m-%d %H:%M"),
                    "Description": d.description,
                }
                for d in listing
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    name = st.selectbox("Dataset", [d.name for d in listing])
    detail = datasets_api.dataset(name)
    versions = [v.version for v in detail.versions]
    version = st.selectbox(
        "Version",
        versions,
        format_func=lambda v: next(
            f"v{x.version} · {x.message} · {x.item_count} items" for x in detail.versions if x.version == v
        ),
    )
    data = datasets_api.items(name, version)
    _exports(name, version)
    tab_items, tab_runs = st.tabs(["Items", "Eval runs"])
    with tab_items:
        _items(name, data.items, latest=version == detail.dataset.latest_version)
    with tab_runs:
        _runs(name)


def _exports(name: str, version: int) -> None:
    cols = st.columns(len(EXPORT_FORMATS))
    for col, fmt in zip(cols, EXPORT_FORMATS, strict=True):
        col.download_button(
            f"Export {EXPORT_LABELS[fmt]}",
            data=lambda fmt=fmt: datasets_api.export(name, fmt, version),  # type: ignore[misc]
            file_name=f"{name}-v{version}.{EXPORT_SUFFIX[fmt]}",
            width="stretch",
            on_click="ignore",
        )


def _items(name: str, items: list[DatasetItem], latest: bool) -> None:
    if not items:
        st.info("This version has no items.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Item": i.item_id,
                    "Input": value_text(i.input)[:160],
                    "Expected output": value_text(i.expected_output)[:160],
                    "Tags": ", ".join(i.tags),
                    "Source trace": i.source_trace_id or "",
                    "Changed in": f"v{i.version}",
                }
                for i in items
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if not latest:
        st.caption("Older versions are read-only; choose the latest version to edit.")
        return
    choice = st.selectbox("Edit item", range(len(items)), format_func=lambda n: value_text(items[n].input)[:90])
    item = items[choice]
    st.code(value_text(item.input), wrap_lines=True)
    st.text_area("Expected output", value=value_text(item.expected_output), key=f"exp-{name}-{item.item_id}")
    save, remove = st.columns(2)
    save.button(
        "Save expected output (new version)",
        type="primary",
        width="stretch",
        on_click=_edit,
        args=(name, item.item_id, f"exp-{name}-{item.item_id}"),
    )
    remove.button("Remove item (new version)", width="stretch", on_click=_remove, args=(name, item.item_id))


# Buttons act in callbacks: they run before the script, so their outcome survives the app's reruns.
_OUTCOME = "datasets_outcome"


def _show_outcome() -> None:
    kind, text = st.session_state.pop(_OUTCOME, (None, ""))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def _create() -> None:
    name = str(st.session_state.get("new_ds_name") or "").strip()
    if not name:
        st.session_state[_OUTCOME] = ("error", "Give the dataset a name.")
        return
    try:
        res = datasets_api.create(name, str(st.session_state.get("new_ds_description") or ""))
    except api.ApiError as exc:
        st.session_state[_OUTCOME] = ("error", str(exc))
        return
    st.session_state[_OUTCOME] = ("success", f"Created {res.name} (version {res.version}).")


def _edit(name: str, item_id: str, text_key: str) -> None:
    try:
        res = datasets_api.edit_item(name, item_id, datasets_api.typed_value(str(st.session_state.get(text_key) or "")))
    except api.ApiError as exc:
        st.session_state[_OUTCOME] = ("error", str(exc))
        return
    message = f"Saved as version {res.version}." if res.created_version else "Nothing changed."
    st.session_state[_OUTCOME] = ("success", message)


def _remove(name: str, item_id: str) -> None:
    try:
        res = datasets_api.remove_item(name, item_id)
    except api.ApiError as exc:
        st.session_state[_OUTCOME] = ("error", str(exc))
        return
    st.session_state[_OUTCOME] = ("success", f"Removed in version {res.version}.")


def _runs(name: str) -> None:
    runs = datasets_api.runs(name).runs
    if not runs:
        st.info(f"No runs yet. In CI: `spanscope eval run {name} --target my_app:answer`")
        return
    names = sorted({k for r in runs for k in r.scores})
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Run": r.run_id[:12],
                    "When": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "Version": r.dataset_version,
                    "Target": r.target,
                    "Items": r.item_count,
                    "Failed": r.error_count,
                    **{k: (r.scores[k].mean if k in r.scores else None) for k in names},
                }
                for r in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    pick = st.selectbox("Compare run", [r.run_id for r in runs], format_func=lambda i: i[:12])
    comp = datasets_api.comparison(pick)
    verdict = "passes" if comp.passed else "regressed"
    st.markdown(f"Against {comp.baseline_run_id[:12] if comp.baseline_run_id else 'no earlier run'}: **{verdict}**")
    st.dataframe(
        pd.DataFrame(
            [
                {"Score": s.name, "Baseline": s.baseline, "Current": s.current, "Delta": s.delta, "Status": s.status}
                for s in comp.scores
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if comp.items:
        detail = {i.item_id: i for i in datasets_api.run(pick).items}
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Item": c.item_id,
                        "Score": c.score,
                        "Before": c.baseline,
                        "Now": c.current,
                        "Change": c.direction,
                        "Output": value_text(detail[c.item_id].output)[:120] if c.item_id in detail else "",
                    }
                    for c in comp.items
                ]
            ),
            hide_index=True,
            width="stretch",
        )


if __name__ == "__main__":
    render()
