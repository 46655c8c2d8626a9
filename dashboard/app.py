"""spanscope dashboard entry point: `streamlit run app.py` (what `spanscope dashboard` does).

Runs on every page: the sidebar's global filters, the URL, the collector check and the empty
state, then the chosen page. Data comes only from the collector's HTTP API (`SPANSCOPE_API_URL`).
"""

from __future__ import annotations

import streamlit as st
from spanscope.dashboard import api, filters, login, ui

st.set_page_config(page_title="spanscope", page_icon=":material/troubleshoot:", layout="wide")
st.set_option("client.toolbarMode", "minimal")
login.require_login()

# One line per page; the first is the home page. A page script ends with
# `if __name__ == "__main__": render()`. (The folder is `views/`, not `pages/`: Streamlit would treat
# a `pages/` folder next to this script as its older file-based navigation.)
PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page("views/traces.py", title="Traces", icon=":material/account_tree:"),
    st.Page("views/cost.py", title="Cost", icon=":material/payments:"),
    st.Page("views/prompts.py", title="Prompt versions", icon=":material/compare_arrows:"),
    st.Page("views/hard_examples.py", title="Hard examples", icon=":material/report:"),
    st.Page("views/datasets.py", title="Datasets", icon=":material/dataset:"),
    st.Page("views/drift.py", title="Drift", icon=":material/query_stats:"),
    st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("views/projects.py", title="Project", icon=":material/database:"),
]

page = st.navigation(PAGES)
filters.seed_from_url()
filters.start_run()
st.logo(
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='160' height='32'>"
    "<text x='0' y='24' font-family='sans-serif' font-size='22' font-weight='700' fill='%235b6ee1'>"
    "spanscope</text></svg>",
    size="large",
)
ctx = filters.sidebar()
if ctx.error is not None:
    st.title(page.title)
    ui.error_box(ctx.error)
elif not ctx.has_data:
    st.title(page.title)
    ui.empty_state(ctx.range_label)
else:
    try:
        page.run()
    except api.ApiError as exc:
        ui.error_box(exc)
filters.write_url()
