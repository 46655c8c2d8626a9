"""Traces: a filterable, paginated table, and the view of one trace (waterfall and span details).

The open trace is `?trace=<id>` in the URL, so a trace can be shared as a link. Selecting a row,
clicking "Open" or typing an id opens it; the span detail follows a click on a waterfall bar or
the span picker.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pandas as pd
import streamlit as st
from spanscope.dashboard import api, charts, filters, fmt, ui
from spanscope.schemas.models import Score, SpanNode, TraceDetail, TraceSummary

SORTS = {"start_time": "Start time", "duration": "Latency", "cost": "Cost"}
ORDERS = {"desc": "Descending", "asc": "Ascending"}
TRI = {"any": "Any", "yes": "Yes", "no": "No"}
PAGE_SIZES = [25, 50, 100, 200]
MAX_WATERFALL_SPANS = 400
FEEDBACK_SCORE = "user_feedback"
# The table's filters survive a visit to another page.
KEEP: Literal["session"] = "session"


def render() -> None:
    ctx = filters.context()
    requested = filters.url_value("trace")
    if requested:
        st.session_state["trace_id"] = requested.strip().lower()
    trace_id = str(st.session_state.get("trace_id") or "").strip().lower()
    if trace_id:
        _trace_view(ctx, trace_id)
    else:
        _trace_list(ctx)
    filters.page_param("trace", str(st.session_state.get("trace_id") or "") or None)


# --------------------------------------------------------------------------- the table


def _open_typed() -> None:
    typed = str(st.session_state.get("trace_input") or "").strip().lower()
    if typed:
        st.session_state["trace_id"] = typed


def _open_selected() -> None:
    state = st.session_state.get("trace_table")
    rows = list(state.selection.rows) if state is not None else []
    ids: list[str] = st.session_state.get("_trace_ids", [])
    if rows and rows[0] < len(ids):
        st.session_state["trace_id"] = ids[rows[0]]


def _tri(value: str) -> bool | None:
    return None if value == "any" else value == "yes"


def _query(ctx: filters.Context) -> api.TraceQuery:
    """The filter widgets (kept for the session, so they survive a visit to another page)."""
    opts = ctx.options
    keep = KEEP
    top = st.columns([4, 1.4, 1.4, 1.4, 1])
    q = top[0].text_input("Search", key="tq_q", persist_state=keep, placeholder="text in any span's input or output")
    status = top[1].selectbox(
        "Status",
        ["any", "ok", "error"],
        key="tq_status",
        persist_state=keep,
        format_func={"any": "Any", "ok": "OK", "error": "Has errors"}.__getitem__,
    )
    sort = top[2].selectbox("Sort by", list(SORTS), key="tq_sort", persist_state=keep, format_func=SORTS.__getitem__)
    order = top[3].selectbox("Order", list(ORDERS), key="tq_order", persist_state=keep, format_func=ORDERS.__getitem__)
    limit = top[4].selectbox("Rows", PAGE_SIZES, index=1, key="tq_limit", persist_state=keep)
    active = sum(
        bool(st.session_state.get(k))
        for k in (
            "tq_name",
            "tq_kind",
            "tq_min_ms",
            "tq_max_ms",
            "tq_min_cost",
            "tq_max_cost",
            "tq_session",
            "tq_user",
            "tq_tag",
            "tq_score",
        )
    ) + sum(st.session_state.get(k, "any") != "any" for k in ("tq_fallback", "tq_blocked"))
    with st.expander(f"More filters ({active} active)" if active else "More filters", expanded=bool(active)):
        row = st.columns(4)
        names = row[0].multiselect(
            "Trace name", opts.names if opts else [], key="tq_name", persist_state=keep, placeholder="Any"
        )
        kinds = row[1].multiselect(
            "Has a span of kind", opts.kinds if opts else [], key="tq_kind", persist_state=keep, placeholder="Any"
        )
        fallback = row[2].selectbox(
            "Served by a fallback", list(TRI), key="tq_fallback", persist_state=keep, format_func=TRI.__getitem__
        )
        blocked = row[3].selectbox(
            "Guardrail blocked", list(TRI), key="tq_blocked", persist_state=keep, format_func=TRI.__getitem__
        )
        row = st.columns(4)
        min_ms = row[0].number_input(
            "Latency at least (ms)", min_value=0.0, value=None, step=100.0, key="tq_min_ms", persist_state=keep
        )
        max_ms = row[1].number_input(
            "Latency at most (ms)", min_value=0.0, value=None, step=100.0, key="tq_max_ms", persist_state=keep
        )
        min_cost = row[2].number_input(
            "Cost at least ($)",
            min_value=0.0,
            value=None,
            step=0.001,
            format="%.6f",
            key="tq_min_cost",
            persist_state=keep,
        )
        max_cost = row[3].number_input(
            "Cost at most ($)",
            min_value=0.0,
            value=None,
            step=0.001,
            format="%.6f",
            key="tq_max_cost",
            persist_state=keep,
        )
        row = st.columns(4)
        session = row[0].text_input("Session id", key="tq_session", persist_state=keep)
        user = row[1].text_input("User id", key="tq_user", persist_state=keep)
        tags = row[2].multiselect("Tag", opts.tags if opts else [], key="tq_tag", persist_state=keep, placeholder="Any")
        row = st.columns(4)
        score = row[0].selectbox(
            "Has a score", [None, *(opts.score_names if opts else [])], key="tq_score", persist_state=keep,
            format_func=lambda v: "Any" if v is None else str(v),
        )
        min_score = row[1].number_input(
            "Score at least", value=None, key="tq_min_score", persist_state=keep, disabled=score is None
        )
        max_score = row[2].number_input(
            "Score at most", value=None, key="tq_max_score", persist_state=keep, disabled=score is None
        )
        score_value = row[3].text_input(
            "Score label", key="tq_score_value", persist_state=keep, disabled=score is None,
            placeholder="a category, or true / false",
        )
    return api.TraceQuery(
        name=tuple(names),
        kind=tuple(kinds),
        status=None if status == "any" else status,
        min_duration_ms=min_ms,
        max_duration_ms=max_ms,
        min_cost=min_cost,
        max_cost=max_cost,
        has_fallback=_tri(fallback),
        guardrail_blocked=_tri(blocked),
        session_id=session.strip() or None,
        user_id=user.strip() or None,
        tag=tuple(tags),
        score_name=score,
        min_score=min_score,
        max_score=max_score,
        score_value=score_value.strip() or None,
        q=q.strip() or None,
        sort=sort,
        order=order,
        limit=int(limit),
    )


def _flags(t: TraceSummary) -> str:
    flags = []
    if t.error:
        flags.append(f"{t.error_count} error" + ("s" if t.error_count != 1 else ""))
    if t.has_fallback:
        flags.append("fallback")
    if t.guardrail_blocked:
        flags.append("blocked")
    if t.off_format:
        flags.append("off-format")
    return ", ".join(flags)


def _trace_list(ctx: filters.Context) -> None:
    ui.page_title("Traces", f"{ctx.range_label} · newest first unless sorted otherwise · select a row to open it")
    st.columns([2, 3])[0].text_input(
        "Open a trace by id",
        key="trace_input",
        on_change=_open_typed,
        placeholder="32 hex digits, e.g. 4bf92f3577b34da6a3ce929d0e0e4736",
    )
    query = _query(ctx)
    if (
        query.min_duration_ms is not None
        and query.max_duration_ms is not None
        and query.min_duration_ms > query.max_duration_ms
    ):
        st.warning("The minimum latency is above the maximum.")
        return
    if query.min_cost is not None and query.max_cost is not None and query.min_cost > query.max_cost:
        st.warning("The minimum cost is above the maximum.")
        return
    if query.min_score is not None and query.max_score is not None and query.min_score > query.max_score:
        st.warning("The minimum score is above the maximum.")
        return

    # Keyset pagination: remember the cursor of every page seen, start over when the query changes.
    signature = repr((ctx.window, ctx.scope, query))
    if st.session_state.get("_tq_signature") != signature:
        st.session_state["_tq_signature"] = signature
        st.session_state["_tq_cursors"] = [None]
    cursors: list[str | None] = st.session_state["_tq_cursors"]
    page = len(cursors) - 1
    result = api.traces(ctx.window, ctx.scope, query, cursors[-1])
    if not result.items:
        st.info("No traces match these filters." if page == 0 else "No more traces.", icon=":material/search_off:")
        if page:
            st.button("← Previous page", on_click=_previous_page)
        return

    st.session_state["_trace_ids"] = [t.trace_id for t in result.items]
    frame = pd.DataFrame(
        [
            {
                "Time": t.start_time.astimezone(ctx.tz).strftime("%b %d %H:%M:%S"),
                "Name": t.name,
                "Status": "error" if t.error else "ok",
                "Input": t.input,
                "Output": t.output,
                "Latency": t.duration_ms,
                "Cost": t.cost_usd,
                "Tokens": t.total_tokens,
                "Spans": t.span_count,
                "Flags": _flags(t),
                "Models": ", ".join(t.models),
                "User": t.user_id,
                "Session": t.session_id,
                "Scores": ", ".join(f"{k} {v:.2g}" for k, v in t.scores.items()),
                "Trace id": t.trace_id,
            }
            for t in result.items
        ]
    )
    st.dataframe(
        frame,
        key="trace_table",
        on_select=_open_selected,
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 640),
        column_config={
            "Latency": st.column_config.NumberColumn(format="%,.1f ms"),
            "Cost": st.column_config.NumberColumn(format="$%.6f"),
            "Tokens": st.column_config.NumberColumn(format="%,d"),
            "Spans": st.column_config.NumberColumn(format="%d", width="small"),
            "Status": st.column_config.TextColumn(width="small"),
            "Input": st.column_config.TextColumn(width="medium"),
            "Output": st.column_config.TextColumn(width="medium"),
        },
    )
    left, mid, right = st.columns([1, 3, 1])
    if page:
        left.button("← Previous page", on_click=_previous_page, width="stretch")
    matching = f" of {result.total:,} matching" if result.total is not None else ""
    mid.caption(
        f"Page {page + 1} · {len(result.items)} traces on this page{matching} · times in {fmt.zone_label(ctx.tz)}"
    )
    if result.next_cursor:
        right.button("Next page →", on_click=_next_page, args=(result.next_cursor,), width="stretch")


def _previous_page() -> None:
    cursors: list[str | None] = st.session_state["_tq_cursors"]
    if len(cursors) > 1:
        cursors.pop()


def _next_page(cursor: str) -> None:
    st.session_state["_tq_cursors"].append(cursor)


# --------------------------------------------------------------------------- one trace


def _close() -> None:
    st.session_state["trace_id"] = ""
    st.session_state["trace_input"] = ""


def _pick_from_chart() -> None:
    state = st.session_state.get("waterfall")
    points = list(state.selection.points) if state is not None else []
    if points and points[0].get("y") is not None:
        st.session_state["span_pick"] = int(points[0]["y"])


def _trace_view(ctx: filters.Context, trace_id: str) -> None:
    st.button("← All traces", on_click=_close)
    detail = api.trace(trace_id)
    if detail is None:
        ui.page_title("Traces", "Trace not found")
        st.warning(
            f"No trace `{trace_id}` in this project. Check the id (32 hex digits); a trace that was just sent "
            "appears after a second or two, and old traces are removed after the retention period.",
            icon=":material/search_off:",
        )
        return
    t = detail.trace
    ui.page_title(
        f"Trace: {t.name}",
        " · ".join(
            x
            for x in (
                f"`{t.trace_id}`",
                f"{t.service} / {t.environment}" + (f" / {t.release}" if t.release else ""),
                f"started {fmt.when(t.start_time, ctx.tz)} {fmt.zone_label(ctx.tz)}",
                f"user {t.user_id}" if t.user_id else "",
                f"session {t.session_id}" if t.session_id else "",
            )
            if x
        ),
    )
    cols = st.columns(4)
    cols[0].metric("Latency", fmt.ms(t.duration_ms), border=True)
    cols[1].metric("Cost", fmt.usd(t.cost_usd), border=True)
    cols[2].metric(
        "Tokens", fmt.count(t.total_tokens), border=True, help=f"{t.input_tokens:,} input · {t.output_tokens:,} output"
    )
    cols[3].metric(
        "Spans",
        fmt.count(t.span_count),
        border=True,
        help=f"{t.llm_calls} LLM call(s)" + (f": {', '.join(t.models)}" if t.models else ""),
    )
    _badges(t, detail.scores)
    _feedback(t.trace_id, detail.scores)

    flat = charts.flatten(detail.spans)
    if st.session_state.get("_span_trace") != t.trace_id:
        st.session_state["_span_trace"] = t.trace_id
        st.session_state["span_pick"] = 0
    if not flat:
        st.info("This trace has no spans.")
        return
    picked = int(st.session_state.get("span_pick") or 0)
    if picked >= len(flat):
        picked = st.session_state["span_pick"] = 0
    shown = flat[:MAX_WATERFALL_SPANS]
    st.subheader("Waterfall")
    st.plotly_chart(
        charts.waterfall(shown, selected=picked if picked < len(shown) else None),
        key="waterfall",
        on_select=_pick_from_chart,
        selection_mode="points",
        width="stretch",
        config=charts.CONFIG,
    )
    if len(flat) > len(shown):
        st.caption(f"The first {len(shown)} of {len(flat)} spans are drawn; pick any span below.")
    else:
        st.caption("Click a bar (or pick a span below) to see its input, output, attributes and documents.")

    st.subheader("Span details")
    st.selectbox(
        "Span",
        list(range(len(flat))),
        key="span_pick",
        format_func=lambda i: (
            f"{charts.span_label(flat[i], 80).strip()}  ({flat[i].kind}, "
            f"{fmt.ms(flat[i].duration_ms)})" + ("  ✕ error" if flat[i].status == "ERROR" else "")
        ),
    )
    _span_detail(flat[int(st.session_state.get("span_pick") or 0)], detail, ctx)


def _badges(t: TraceSummary, scores: list[Score]) -> None:
    parts = [
        f":red-badge[:material/error: {t.error_count} span(s) with errors]"
        if t.error
        else ":green-badge[:material/check: no errors]"
    ]
    if t.has_fallback:
        parts.append(":orange-badge[:material/swap_horiz: served by a fallback]")
    if t.guardrail_blocked:
        parts.append(":red-badge[:material/shield: guardrail blocked]")
    if t.off_format:
        parts.append(":violet-badge[:material/rule: off-format output]")
    parts += [f":blue-badge[{p}]" for p in t.prompts]
    parts += [f":gray-badge[#{tag}]" for tag in t.tags]
    parts += _score_badges(scores)
    if parts:
        st.markdown(" ".join(parts))


def _score_badges(scores: list[Score]) -> list[str]:
    """Numeric scores as their mean, booleans as true/false counts, categorical as their labels;
    an evaluator that failed shows as such."""
    by_name: dict[str, list[Score]] = {}
    for s in scores:
        by_name.setdefault(s.name, []).append(s)
    parts = []
    for name, group in by_name.items():
        valued = [s for s in group if s.value is not None or s.data_type == "categorical"]
        if not valued:
            parts.append(f":gray-badge[:material/warning: {name}: evaluator error]")
            continue
        kind = valued[0].data_type
        if kind == "boolean":
            yes = sum(1 for s in valued if s.value == 1.0)
            no = len(valued) - yes
            if name == FEEDBACK_SCORE:
                parts.append(f":blue-badge[{name} :material/thumb_up: {yes} :material/thumb_down: {no}]")
            else:
                parts.append(f":{'green' if no == 0 else 'orange'}-badge[{name}: {yes} true · {no} false]")
        elif kind == "categorical":
            labels = sorted({s.string_value or "" for s in valued})
            parts.append(f":violet-badge[{name}: {', '.join(labels)[:80]}]")
        else:
            values = [s.value for s in valued if s.value is not None]
            parts.append(f":green-badge[{name} = {sum(values) / len(values):.3g}]")
    return parts


def _send_feedback(trace_id: str) -> None:
    choice = st.session_state.get(f"fb_choice_{trace_id}")
    if choice is None:
        st.session_state["_fb_message"] = ("warning", "Pick thumbs up or down first.")
        return
    comment = str(st.session_state.get(f"fb_comment_{trace_id}") or "").strip()
    try:
        api.add_score(trace_id, FEEDBACK_SCORE, float(choice), "boolean", comment=comment or None)
    except api.ApiError as exc:
        st.session_state["_fb_message"] = ("error", f"Feedback not saved: {exc}")
        return
    st.session_state[f"fb_choice_{trace_id}"] = None
    st.session_state[f"fb_comment_{trace_id}"] = ""
    st.session_state["_fb_message"] = ("success", "Thanks, your feedback was saved as a human score.")


def _feedback(trace_id: str, scores: list[Score]) -> None:
    """Thumbs up/down with an optional comment: a boolean `user_feedback` score (source human)."""
    with st.container(border=True):
        left, mid, right = st.columns([1.2, 5, 1.6], vertical_alignment="bottom")
        with left:
            st.caption("Was this a good answer?")
            st.feedback("thumbs", key=f"fb_choice_{trace_id}")
        mid.text_input(
            "Comment", key=f"fb_comment_{trace_id}", placeholder="What was good or wrong? (optional)"
        )
        right.button(
            "Send feedback", key="fb_send", on_click=_send_feedback, args=(trace_id,), width="stretch",
            icon=":material/send:",
        )
        message = st.session_state.pop("_fb_message", None)
        if message:
            getattr(st, message[0])(message[1])
        human = [s for s in scores if s.source == "human" and s.name == FEEDBACK_SCORE]
        if human:
            notes = [f"{'👍' if s.value == 1.0 else '👎'} {s.comment}" for s in human if s.comment]
            st.caption(f"{len(human)} feedback score(s) so far" + (": " + " · ".join(notes[-3:]) if notes else ""))


def _span_detail(span: SpanNode, detail: TraceDetail, ctx: filters.Context) -> None:
    docs = _documents(span.documents)
    events = span.events if isinstance(span.events, list) else []
    scores = [s for s in detail.scores if s.span_id == span.span_id or (s.span_id is None and span.depth == 0)]
    io, attrs, documents, evs, sc = st.tabs(
        [
            "Input & output",
            "Attributes",
            f"Documents ({len(docs)})",
            f"Events ({len(events)})",
            f"Scores ({len(scores)})",
        ]
    )
    with io:
        if span.status == "ERROR":
            st.error(
                f"**{span.error_type or 'Error'}**: {span.status_message or 'status ERROR'}", icon=":material/error:"
            )
        left, right = st.columns(2)
        with left:
            st.markdown("**Input**")
            _payload(span.input)
        with right:
            st.markdown("**Output**")
            _payload(span.output)
    with attrs:
        st.dataframe(
            _fields(span, ctx),
            hide_index=True,
            width="stretch",
            column_config={"Value": st.column_config.TextColumn(width="large")},
        )
        if span.attributes:
            st.markdown("**Span attributes**")
            st.dataframe(_pairs(span.attributes), hide_index=True, width="stretch")
        if span.resource_attributes:
            st.markdown("**Resource attributes**")
            st.dataframe(_pairs(span.resource_attributes), hide_index=True, width="stretch")
    with documents:
        if not docs:
            st.caption("No retrieved documents on this span (retrieval spans carry them).")
        for i, doc in enumerate(docs, 1):
            with st.container(border=True):
                head = f"**{i}. {doc.get('id') or 'document'}**"
                if isinstance(doc.get("score"), int | float):
                    head += f" · score {doc['score']:.3g}"
                st.markdown(head)
                content = doc.get("content") or doc.get("text") or ""
                st.text(str(content) if content else "(no content)")
                meta = doc.get("metadata")
                if meta:
                    st.json(meta, expanded=False)
    with evs:
        if not events:
            st.caption("No events on this span.")
        for ev in events:
            _event(ev)
    with sc:
        if not scores:
            st.caption("No scores on this span." + (" Trace-level scores show on the root span." if span.depth else ""))
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Name": s.name,
                            "Value": s.string_value if s.data_type != "numeric" and s.string_value else s.value,
                            "Type": s.data_type,
                            "Source": s.source,
                            "Comment": s.comment or "",
                            "Author": s.author or "",
                            "Time": fmt.when(s.timestamp, ctx.tz),
                        }
                        for s in scores
                    ]
                ),
                hide_index=True,
                width="stretch",
            )


def _documents(raw: str) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [{"content": raw}]
    if isinstance(data, dict):
        data = data.get("documents", [data])
    return [d if isinstance(d, dict) else {"content": d} for d in data] if isinstance(data, list) else []


def _parse(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _is_chat(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(m, dict) and "role" in m for m in data)


def _payload(text: str) -> None:
    """A span input or output: chat messages as a conversation, JSON pretty-printed, text as text."""
    if not text:
        st.caption("(empty)")
        return
    data = _parse(text)
    if _is_chat(data):
        for message in data:
            role = str(message.get("role") or "message")
            with st.chat_message(
                role if role in ("user", "assistant") else role[:12],
                avatar=None if role in ("user", "assistant") else _avatar(role),
            ):
                st.caption(role)
                _message_content(message.get("content"))
                if message.get("tool_calls"):
                    st.json(message["tool_calls"], expanded=False)
    elif data is not None:
        st.json(data, expanded=2)
    else:
        st.code(
            text,
            language=None,
            wrap_lines=True,
            height=min(400, 40 + 20 * text.count("\n")) if text.count("\n") > 18 else "content",
        )


def _avatar(role: str) -> str:
    return {"system": ":material/settings:", "tool": ":material/build:"}.get(role, ":material/chat:")


def _message_content(content: Any) -> None:
    if isinstance(content, str):
        inner = _parse(content)
        if inner is not None:
            st.json(inner, expanded=2)
        else:
            st.text(content)
    elif content is None:
        st.caption("(no content)")
    else:
        st.json(content, expanded=2)


def _fields(span: SpanNode, ctx: filters.Context) -> pd.DataFrame:
    """The normalised span columns that are set, in a readable order."""
    rows: list[tuple[str, str]] = [
        ("Name", span.name),
        ("Kind", span.kind),
        ("Span id", span.span_id),
        ("Parent span id", span.parent_span_id or "(root)"),
        ("Start", f"{fmt.when(span.start_time, ctx.tz)} (+{fmt.ms(span.offset_ms)})"),
        ("Duration", fmt.ms(span.duration_ms)),
        ("Status", span.status + (f": {span.status_message}" if span.status_message else "")),
    ]
    optional: list[tuple[str, Any]] = [
        ("Error type", span.error_type),
        ("Operation", span.operation),
        ("Model", span.model),
        ("Requested model", span.request_model if span.request_model != span.model else ""),
        ("Provider", span.provider),
        ("Input tokens", span.input_tokens),
        ("Output tokens", span.output_tokens),
        ("Cache read tokens", span.cache_read_tokens),
        ("Cache write tokens", span.cache_write_tokens),
        ("Reasoning tokens", span.reasoning_tokens),
        (
            "Cost",
            fmt.usd(span.cost_usd) + (f" ({span.cost_source})" if span.cost_source else "") if span.cost_usd else "",
        ),
        ("Time to first token", fmt.ms(span.ttft_ms) if span.ttft_ms else ""),
        ("Finish reasons", ", ".join(span.finish_reasons)),
        ("Prompt", f"{span.prompt_name}@{span.prompt_version}" if span.prompt_name else ""),
        ("Fallback", _fallback(span)),
        (
            "Guardrail",
            " · ".join(
                x
                for x in (span.guardrail_name, span.guardrail_verdict, span.guardrail_stage, span.guardrail_policy)
                if x
            ),
        ),
        ("Guardrail reason", span.guardrail_reason),
        (
            "Output validation",
            (("valid" if span.output_valid else "INVALID (off-format)") + f" after {span.output_attempts} attempt(s)")
            if span.output_validated
            else "",
        ),
        ("Session", span.session_id),
        ("User", span.user_id),
        ("Tags", ", ".join(span.tags)),
        ("Service", f"{span.service} / {span.environment}" + (f" / {span.release}" if span.release else "")),
        ("Instrumentation scope", span.scope),
    ]
    rows += [(k, str(v)) for k, v in optional if v not in ("", 0, None)]
    return pd.DataFrame(rows, columns=["Field", "Value"])


def _fallback(span: SpanNode) -> str:
    if span.fallback_attempts:
        text = f"{span.fallback_attempts} attempt(s)"
        if span.fallback_used:
            text += ", served by a fallback"
        if span.fallback_degraded:
            text += ", degraded answer"
        return text
    if span.fallback_attempt:
        return f"attempt {span.fallback_attempt}"
    return ""


def _pairs(items: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(sorted(items.items()), columns=["Key", "Value"])


def _event(ev: Any) -> None:
    if not isinstance(ev, dict):
        st.json(ev, expanded=False)
        return
    name = str(ev.get("name") or "event")
    raw = ev.get("attributes")
    attrs: dict[str, Any] = raw if isinstance(raw, dict) else {}
    with st.container(border=True):
        if name == "exception":
            st.markdown(f"**exception** · `{attrs.get('exception.type', '')}`: {attrs.get('exception.message', '')}")
            trace = attrs.get("exception.stacktrace")
            if trace:
                st.code(str(trace), language=None, wrap_lines=False)
        else:
            st.markdown(f"**{name}**")
            if attrs:
                st.json(attrs, expanded=False)


if __name__ == "__main__":
    render()
