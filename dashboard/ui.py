"""Pieces every page shares: the error box, the empty state and KPI tiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import streamlit as st
from spanscope.dashboard import api, fmt

DeltaColor = Literal["normal", "inverse", "off"]


def error_box(exc: api.ApiError) -> None:
    """What the user sees instead of a traceback when the collector cannot answer."""
    if exc.unreachable:
        st.error(
            f"**The collector is not reachable.** {exc}\n\n"
            "Start it with `spanscope collector` (or `spanscope up`), or point the dashboard at it with "
            "`SPANSCOPE_API_URL=http://host:4318 spanscope dashboard`. Then press **Refresh**.",
            icon=":material/cloud_off:",
        )
    elif exc.status in (401, 403):
        st.error(
            f"**The collector refused the request.** {exc}\n\nSet `SPANSCOPE_API_KEY` to a valid key.",
            icon=":material/lock:",
        )
    else:
        st.error(f"**The collector could not answer.** {exc}", icon=":material/error:")


def empty_state(range_label: str) -> None:
    """No traces in the range: show how to send the first one."""
    url = api.base_url()
    st.info(
        f"**No traces in this range ({range_label.lower()}).** Widen the time range in the sidebar, "
        "or send your first trace:",
        icon=":material/inbox:",
    )
    sdk, otel, demo = st.tabs(["Python SDK", "Any OpenTelemetry app", "Demo data"])
    with sdk:
        st.code(
            "pip install spanscope\n",
            language="bash",
        )
        st.code(
            "from spanscope.sdk import init, observe\n\n"
            f'init(endpoint="{url}", service="my-app")\n\n\n'
            '@observe(kind="generation", model="gpt-4o-mini")\n'
            "def answer(question: str) -> str:\n"
            "    ...  # call your model here\n\n\n"
            'answer("How do I reset my password?")\n',
            language="python",
        )
    with otel:
        st.markdown(
            "Point any OpenTelemetry instrumentation (OTel GenAI, OpenInference, OpenLLMetry, OpenLIT) "
            "at the collector:"
        )
        st.code(
            f"export OTEL_EXPORTER_OTLP_ENDPOINT={url}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n",
            language="bash",
        )
    with demo:
        st.markdown("Send realistic traffic from a demo RAG app (retrieval, guardrails, fallbacks):")
        st.code(f"spanscope demo --endpoint {url} --traces 200\n", language="bash")
    st.caption("Traces appear a second or two after they are sent; press **Refresh** in the sidebar.")


@dataclass(frozen=True)
class Kpi:
    label: str
    value: float | None
    previous: float | None
    unit: fmt.Unit
    good: DeltaColor = "normal"
    help: str = ""


def kpi_row(kpis: Sequence[Kpi], previous_label: str) -> None:
    """KPI tiles with the change against the previous period, coloured by whether up is good."""
    for col, k in zip(st.columns(len(kpis)), kpis, strict=True):
        prev = fmt.value(k.previous, k.unit) if k.previous is not None else "no data"
        col.metric(
            k.label,
            fmt.value(k.value, k.unit),
            delta=fmt.delta(k.value, k.previous, k.unit),
            delta_color=k.good,
            help=(k.help + "\n\n" if k.help else "") + f"{previous_label}: {prev}",
            border=True,
        )


def page_title(title: str, subtitle: str) -> None:
    st.title(title)
    st.caption(subtitle)
