"""Project: how long its traces are kept and how much storage they use (`/api/project/usage`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, ui
from spanscope.schemas.security import ProjectUsage


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def render() -> None:
    usage = ProjectUsage.model_validate(api.get_json("/api/project/usage"))
    ui.page_title(f"Project {usage.project}", "Retention and the storage this project's telemetry uses.")
    a, b, c = st.columns(3)
    a.metric("Retention", f"{usage.retention_days} days", border=True)
    b.metric("Rows stored", f"{usage.rows:,}", border=True)
    c.metric("Storage (estimate)", size(usage.bytes_on_disk), border=True)
    st.caption(
        "Spans and scores expire this many days after they started. Bytes are compressed size on disk, "
        "estimated from each table's size and this project's share of its rows. Change retention with "
        f"`spanscope projects retention {usage.project} DAYS` (an admin key)."
    )
    if usage.tables:
        frame = pd.DataFrame(
            [{"table": t.table, "rows": t.rows, "storage": size(t.bytes_on_disk)} for t in usage.tables]
        )
        st.dataframe(frame, hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
