"""Shared pieces of the API routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from spanscope.collector.app import Collector

T = TypeVar("T")


def collector_of(request: Request) -> Collector:
    c: Collector = request.app.state.collector
    return c


async def run_blocking(fn: Callable[[], T]) -> T:
    """ClickHouse calls block; run them off the event loop so ingest keeps flowing."""
    return await run_in_threadpool(fn)
