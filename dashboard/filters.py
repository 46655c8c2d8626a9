"""Global filters (time range, service, environment, model) in the sidebar, mirrored in the URL.

The URL is the source of truth when a session starts (a shared link reproduces the view); after
that the widgets are, and every run writes them back with `st.query_params`. Streamlit drops the
query string when the user switches pages, so writing on every run is what keeps it. Pages add
their own parameters (the open trace, the chosen prompt) with `page_param`; those are dropped when
the user leaves the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import streamlit as st
from spanscope.dashboard import api, fmt
from spanscope.schemas.models import FilterOptions

PRESETS: dict[str, str] = {
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom dates",
}
DEFAULT_PRESET = "24h"
# URL parameter → widget key. Lists (multiselects) repeat the parameter: ?service=a&service=b.
GLOBAL_LISTS = {"service": "f_service", "env": "f_env", "model": "f_model"}
_SEEDED = "_url_seeded"
_PAGE_PARAMS = "_url_page_params"
_CONTEXT = "_spanscope_context"


@dataclass(frozen=True)
class Context:
    """What every page needs: the range and scope to query, the viewer's time zone, the filter options
    of the range (None when the collector could not be reached) and the error if it could not."""

    window: api.TimeWindow
    scope: api.Scope
    tz: tzinfo
    range_label: str
    options: FilterOptions | None
    error: api.ApiError | None

    @property
    def has_data(self) -> bool:
        """Anything at all in the range (ignoring the scope): the empty state shows when not."""
        return self.options is not None and bool(self.options.services or self.options.kinds)


# --------------------------------------------------------------------------- URL ↔ session state


def seed_from_url() -> None:
    """Once per session: copy the URL's parameters into the widgets' state before they render."""
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    qp = st.query_params
    preset = qp.get("range")
    if preset in PRESETS:
        st.session_state["f_range"] = preset
    elif "from" in qp:
        st.session_state["f_range"] = "custom"
    start, end = _parse_date(qp.get("from")), _parse_date(qp.get("to"))
    if start:
        st.session_state["f_dates"] = (start, end or start) if not end or end >= start else (start, start)
    for param, key in GLOBAL_LISTS.items():
        values = [v for v in qp.get_all(param) if v]
        if values:
            st.session_state[key] = list(dict.fromkeys(values))
    # Page parameters are kept until the page that owns one reads it with `url_value`.
    for param in qp:
        if param not in ("range", "from", "to", *GLOBAL_LISTS):
            st.session_state[f"url_{param}"] = qp.get(param)


def page_param(name: str, value: str | None) -> None:
    """Keep a page's own parameter in the URL for this run (the app writes the URL after the page)."""
    params: dict[str, str] = st.session_state.setdefault(_PAGE_PARAMS, {})
    if value:
        params[name] = value
    else:
        params.pop(name, None)


def url_value(name: str) -> str | None:
    """A page parameter as it came in the URL when the session started (consumed once)."""
    value = st.session_state.pop(f"url_{name}", None)
    return str(value) if value else None


def start_run() -> None:
    st.session_state[_PAGE_PARAMS] = {}


def write_url() -> None:
    """Mirror the filters (non-default values only, so links stay short) and the page's parameters."""
    wanted: dict[str, list[str]] = {}
    preset = st.session_state.get("f_range", DEFAULT_PRESET)
    if preset == "custom":
        start, end = _dates()
        wanted["from"] = [start.isoformat()]
        wanted["to"] = [end.isoformat()]
    elif preset != DEFAULT_PRESET:
        wanted["range"] = [preset]
    for param, key in GLOBAL_LISTS.items():
        values = st.session_state.get(key) or []
        if values:
            wanted[param] = [str(v) for v in values]
    for name in list(st.session_state.keys()):
        if isinstance(name, str) and name.startswith("url_") and st.session_state[name]:
            wanted[name[4:]] = [str(st.session_state[name])]  # not consumed yet (the page did not run)
    for name, value in st.session_state.get(_PAGE_PARAMS, {}).items():
        wanted[name] = [value]
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict({k: v if len(v) > 1 else v[0] for k, v in wanted.items()})


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _dates() -> tuple[date, date]:
    today = datetime.now(UTC).date()
    value = st.session_state.get("f_dates")
    if isinstance(value, list | tuple) and value:
        start = value[0]
        end = value[1] if len(value) > 1 else value[0]
        return start, end
    return today - timedelta(days=6), today


# --------------------------------------------------------------------------- sidebar


def _window(tz: tzinfo) -> tuple[api.TimeWindow, str]:
    preset = st.session_state.get("f_range", DEFAULT_PRESET)
    if preset != "custom":
        return api.TimeWindow(preset=preset), PRESETS.get(preset, preset)
    start, end = _dates()
    lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    label = f"{start:%d %b %Y} – {end:%d %b %Y}" if start != end else f"{start:%d %b %Y}"
    return api.TimeWindow(preset=None, start=_iso(lo), end=_iso(hi)), label


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _choices(key: str, available: Sequence[str]) -> list[str]:
    """The options of a filter: what the range has, plus what is already chosen (so a link to a value
    absent from the current range keeps it instead of failing)."""
    chosen = [str(v) for v in st.session_state.get(key) or []]
    return sorted(set(available) | set(chosen))


def sidebar() -> Context:
    """Render the global filters; returns the context the pages query with.

    The widgets live in app.py, which runs on every page, so Streamlit keeps their state across
    page switches; their keys are set from the URL once per session (`seed_from_url`)."""
    tz = fmt.zone(st.context.timezone)
    with st.sidebar:
        st.session_state.setdefault("f_range", DEFAULT_PRESET)
        st.selectbox("Time range", list(PRESETS), format_func=PRESETS.__getitem__, key="f_range")
        if st.session_state["f_range"] == "custom":
            st.session_state.setdefault("f_dates", _dates())
            st.date_input(
                "Dates",
                key="f_dates",
                help=f"Whole days in your time zone ({fmt.zone_label(tz)})",
            )
        window, label = _window(tz)
        options: FilterOptions | None = None
        error: api.ApiError | None = None
        try:
            options = api.filter_options(window)
        except api.ApiError as exc:
            error = exc
        for key, label_text, available in (
            ("f_service", "Service", options.services if options else []),
            ("f_env", "Environment", options.environments if options else []),
            ("f_model", "Model", options.models if options else []),
        ):
            st.multiselect(label_text, _choices(key, available), key=key, placeholder="All")
        st.button(
            "Refresh",
            icon=":material/refresh:",
            on_click=api.clear_cache,
            width="stretch",
            help=f"Fetch fresh data from the collector (results are cached for {api.CACHE_TTL_S} s)",
        )
        st.caption(f"Collector: `{api.base_url()}`  \nTimes in {fmt.zone_label(tz)}")
    scope = api.Scope(
        service=tuple(st.session_state.get("f_service") or ()),
        environment=tuple(st.session_state.get("f_env") or ()),
        model=tuple(st.session_state.get("f_model") or ()),
    )
    ctx = Context(window=window, scope=scope, tz=tz, range_label=label, options=options, error=error)
    st.session_state[_CONTEXT] = ctx
    return ctx


def context() -> Context:
    """The context `sidebar()` built in this run (pages call this)."""
    ctx: Any = st.session_state.get(_CONTEXT)
    if not isinstance(ctx, Context):
        raise RuntimeError("open the dashboard through app.py, which builds the context")
    return ctx
