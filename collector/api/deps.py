"""Shared pieces of the API routers: the collector, the project, the time range, blocking calls."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import HTTPException, Query, Request
from spanscope.collector.api.querying import MAX_RANGE_S, QueryError, TimeRange
from spanscope.collector.security import auth
from spanscope.collector.security.auth import authorize
from spanscope.collector.storage import Storage
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from spanscope.collector.app import Collector

T = TypeVar("T")

DEFAULT_RANGE_S = 24 * 3600
_RELATIVE = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def collector_of(request: Request) -> Collector:
    c: Collector = request.app.state.collector
    return c


async def run_blocking(fn: Callable[[], T]) -> T:
    """ClickHouse calls block; run them off the event loop so ingest keeps flowing."""
    return await run_in_threadpool(fn)


def project_of(
    request: Request,
    project: Annotated[
        str | None,
        Query(max_length=200, description="project to read; default: the collector's project"),
    ] = None,
) -> str:
    """The one project a request may read or annotate (scores, datasets). Every query filters
    `project_id` with it. With auth on: the key's project (a read or admin key); naming another
    project is refused with 403."""
    return authorize(request, auth.READ, project)


def scores_project_of(
    request: Request,
    project: Annotated[
        str | None,
        Query(max_length=200, description="project to annotate; default: the collector's project"),
    ] = None,
) -> str:
    """`project_of` that also accepts ingest keys: applications send scores with the key they
    send spans with."""
    return authorize(request, auth.ANNOTATE, project)


def admin_project_of(
    request: Request,
    project: Annotated[
        str | None,
        Query(max_length=200, description="project to manage; default: the collector's project"),
    ] = None,
) -> str:
    """The project whose configuration (alert rules, evaluators, keys, retention) a request may
    change. With auth on: an admin key's project (403 for other keys or another project)."""
    return authorize(request, auth.ADMIN, project)


def parse_duration_s(text: str, what: str = "range") -> int:
    """'15m', '24h', '7d', '2w' or plain seconds → seconds (400 on anything else)."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    m = _RELATIVE.match(raw.lower())
    if not m:
        raise HTTPException(400, f"{what} must look like 15m, 1h, 24h, 7d or 2w (or seconds), got {text!r}")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


def parse_time(text: str, what: str) -> int:
    """ISO-8601 (naive means UTC) or unix seconds → unix microseconds."""
    raw = text.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            return round(float(raw) * 1_000_000)
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise HTTPException(
            400, f"{what} must be ISO-8601 (2025-01-31T12:00:00Z) or unix seconds, got {text!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1_000_000)


def resolve_range(
    start: str | None, end: str | None, range_: str | None, default_s: int = DEFAULT_RANGE_S
) -> TimeRange:
    now_us = int(time.time() * 1_000_000)
    end_us = parse_time(end, "end") if end else now_us
    if start and range_:
        raise HTTPException(400, "give either start or range, not both")
    if start:
        start_us = parse_time(start, "start")
    else:
        span_s = parse_duration_s(range_, "range") if range_ else default_s
        if span_s <= 0:
            raise HTTPException(400, "range must be positive")
        start_us = end_us - span_s * 1_000_000
    if end_us <= start_us:
        raise HTTPException(400, "end must be after start")
    if end_us - start_us > MAX_RANGE_S * 1_000_000:
        raise HTTPException(400, f"time range longer than {MAX_RANGE_S // 86400} days; narrow it")
    if start_us < 0 or end_us > (now_us + 366 * 86400 * 1_000_000):
        raise HTTPException(400, "time range outside the supported years")
    return TimeRange(start_us, end_us)


_START = "start of the range: ISO-8601 (naive = UTC) or unix seconds; default: end minus `range`"
_END = "end of the range (exclusive): ISO-8601 or unix seconds; default: now"
_RANGE = "relative range ending at `end`: 15m, 1h, 24h, 7d, 30d…; default 24h"


def time_range(
    start: Annotated[str | None, Query(description=_START)] = None,
    end: Annotated[str | None, Query(description=_END)] = None,
    range: Annotated[str | None, Query(description=_RANGE)] = None,
) -> TimeRange:
    """The request's time range, bounded (at most MAX_RANGE_S), default the last 24 hours."""
    return resolve_range(start, end, range)


def session_time_range(
    start: Annotated[str | None, Query(description=_START)] = None,
    end: Annotated[str | None, Query(description=_END)] = None,
    range: Annotated[str | None, Query(description="relative range ending at `end`; default 30d")] = None,
) -> TimeRange:
    """Like `time_range` with a 30-day default: a session is looked up without knowing its time."""
    return resolve_range(start, end, range, default_s=30 * 86400)


def storage_of(request: Request) -> Storage:
    """The collector's storage once migrated; 503 while it is starting (clients retry)."""
    c = collector_of(request)
    if not c.storage_ready.is_set():
        raise HTTPException(
            503, f"storage is not ready yet: {c.storage_error or 'starting'}", headers={"Retry-After": "2"}
        )
    return c.storage


async def blocking(fn: Callable[[], T]) -> T:
    """`run_blocking` that turns a QueryError (a request that cannot be answered as asked) into 400."""
    try:
        return await run_in_threadpool(fn)
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from exc
