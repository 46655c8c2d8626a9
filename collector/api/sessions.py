"""Sessions: conversations made of several traces sharing a session_id (raw spans)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from spanscope.collector.api.deps import blocking, project_of, session_time_range, storage_of, time_range
from spanscope.collector.api.querying import (
    PROJECT,
    Params,
    TimeRange,
    and_all,
    from_us,
    in_values,
    span_time,
)
from spanscope.collector.api.tracequery import KEY_COLUMNS, SKEW_US, TRACE_SLACK_US, Cursor, summaries
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import IS_ERROR, IS_ROOT
from spanscope.schemas.models import SessionDetail, SessionList, SessionSummary

router = APIRouter(prefix="/api", tags=["sessions"])

MAX_SESSION_TRACES = 1000
SESSION_PREVIEW_CHARS = 100_000

_AGGREGATES = (
    "uniqExact(trace_id) AS trace_count, count() AS span_count, "
    "toUnixTimestamp64Micro(min(start_time)) AS first_us, toUnixTimestamp64Micro(max(end_time)) AS last_us, "
    f"sum(cost_usd) AS s_cost, sum(total_tokens) AS s_tokens, countIf({IS_ERROR}) AS error_count, "
    "arraySort(groupUniqArrayIf(20)(user_id, user_id != '')) AS users, "
    "arraySort(groupUniqArray(20)(service)) AS services"
)


def _summary(r: dict[str, Any]) -> SessionSummary:
    first, last = int(r["first_us"]), int(r["last_us"])
    return SessionSummary(
        session_id=r["session_id"],
        trace_count=int(r["trace_count"]),
        span_count=int(r["span_count"]),
        first_seen=from_us(first),
        last_seen=from_us(last),
        duration_ms=(last - first) / 1000.0,
        cost_usd=float(r["s_cost"]),
        total_tokens=int(r["s_tokens"]),
        error_count=int(r["error_count"]),
        users=list(r["users"]),
        services=list(r["services"]),
    )


@router.get(
    "/sessions",
    summary="Sessions active in the range, most recent first",
    description="Aggregated from raw spans carrying a session_id. "
    "Keyset pagination on (last_seen, session_id).",
)
async def list_sessions(
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    user_id: Annotated[list[str], Query(description="sessions of these users")] = [],  # noqa: B006
    service: Annotated[list[str], Query()] = [],  # noqa: B006
    environment: Annotated[list[str], Query()] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> SessionList:
    def run() -> SessionList:
        p = Params(project)
        db = storage.database
        having = ""
        if cursor:
            c = Cursor.decode(cursor, "last_seen", "desc")
            key = f"({p.bind(int(c.key), 'Int64')}, {p.bind(c.trace_id, 'String')})"
            having = f"HAVING (last_us, session_id) < {key}"
        where = and_all(
            [
                PROJECT,
                span_time(p, tr.start_us, tr.end_us),
                "session_id != ''",
                in_values(p, "user_id", user_id),
                in_values(p, "service", service),
                in_values(p, "environment", environment),
            ]
        )
        # Phase one: the page of sessions (two columns); phase two: their aggregates.
        page = storage.query_dicts(
            f"SELECT session_id, toUnixTimestamp64Micro(max(end_time)) AS last_us FROM {db}.spans "
            f"WHERE {where} "
            f"GROUP BY session_id {having} ORDER BY last_us DESC, session_id DESC LIMIT {limit + 1}",
            p.values,
        )
        ids = [r["session_id"] for r in page[:limit]]
        aggs = {}
        if ids:
            aggs = {
                r["session_id"]: r
                for r in storage.query_dicts(
                    f"SELECT session_id, {_AGGREGATES} FROM {db}.spans WHERE {where} "
                    f"AND session_id IN {p.bind(ids, 'Array(String)')} GROUP BY session_id",
                    p.values,
                )
            }
        items = [_summary(aggs[i]) for i in ids if i in aggs]
        next_cursor = None
        if len(page) > limit:
            last = page[limit - 1]
            next_cursor = Cursor("last_seen", "desc", int(last["last_us"]), last["session_id"]).encode()
        return SessionList(start=tr.start, end=tr.end, items=items, next_cursor=next_cursor)

    return await blocking(run)


def session_detail(storage: Storage, project: str, session_id: str, tr: TimeRange) -> SessionDetail | None:
    p = Params(project)
    db = storage.database
    sid = p.bind(session_id, "String")
    where = f"{PROJECT} AND {span_time(p, tr.start_us, tr.end_us)} AND session_id = {sid}"
    agg = storage.query_dicts(
        f"SELECT session_id, {_AGGREGATES}, groupUniqArray({MAX_SESSION_TRACES})(trace_id) AS trace_ids "
        f"FROM {db}.spans WHERE {where} GROUP BY session_id",
        p.values,
    )
    if not agg:
        return None
    session = _summary(agg[0])
    ids = list(agg[0]["trace_ids"])
    lo = int(agg[0]["first_us"]) - TRACE_SLACK_US
    hi = int(agg[0]["last_us"]) + SKEW_US
    keys = storage.query_dicts(
        f"SELECT {KEY_COLUMNS} FROM {db}.spans WHERE {PROJECT} AND {span_time(p, lo, hi)} "
        f"AND {IS_ROOT} AND trace_id IN {p.bind(ids, 'Array(String)')} "
        "ORDER BY start_time, trace_id LIMIT 1 BY trace_id",
        p.values,
    )
    return SessionDetail(session=session, traces=summaries(storage, p, keys, SESSION_PREVIEW_CHARS))


@router.get(
    "/sessions/{session_id}",
    summary="One session and its traces, oldest first (full root input/output: the conversation)",
    description="Looked up in the last 30 days by default; pass start/end/range for older sessions.",
    responses={404: {"description": "no spans of this session in the range"}},
)
async def get_session(
    session_id: Annotated[str, Path(max_length=500)],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(session_time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> SessionDetail:
    detail = await blocking(lambda: session_detail(storage, project, session_id, tr))
    if detail is None:
        raise HTTPException(404, f"session {session_id!r} not found in the range")
    return detail
