"""Traces: search with filters, sorting and cursor pagination; one trace as a span tree."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from spanscope.collector.api.deps import blocking, project_of, storage_of, time_range
from spanscope.collector.api.querying import PROJECT, Params, TimeRange, from_us, span_time
from spanscope.collector.api.tracequery import count_traces, search, summary_of
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import row_guardrail_blocked, row_is_error, row_off_format, row_used_fallback
from spanscope.schemas.models import (
    Score,
    SpanNode,
    TraceDetail,
    TraceSearchParams,
    TraceSearchResponse,
    TraceSummary,
)

router = APIRouter(prefix="/api", tags=["traces"])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")

TraceIdPath = Annotated[str, Path(description="32 hex digits", max_length=64)]

_SPAN_COLUMNS = (
    "span_id, parent_span_id, trace_id, name, kind, service, environment, release, scope, "
    "toUnixTimestamp64Micro(start_time) AS start_us, toUnixTimestamp64Micro(end_time) AS end_us, "
    "duration_ms, "
    "status, status_message, error_type, operation, model, request_model, provider, input_tokens, "
    "output_tokens, "
    "total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, cost_source, "
    "input, output, "
    "documents, finish_reasons, ttft_ms, session_id, user_id, prompt_name, prompt_version, tags, "
    "is_llm_call, "
    "fallback_attempt, fallback_attempts, fallback_used, fallback_degraded, guardrail_name, "
    "guardrail_verdict, "
    "guardrail_reason, guardrail_policy, guardrail_stage, output_validated, output_valid, output_attempts, "
    "events, attributes, resource_attributes"
)
_BOOL_FIELDS = ("is_llm_call", "fallback_used", "fallback_degraded", "output_validated", "output_valid")


def normalize_trace_id(trace_id: str) -> str:
    tid = trace_id.strip().lower()
    if not _HEX32.match(tid):
        raise HTTPException(400, "trace_id must be 32 hex digits")
    return tid


def trace_bounds(storage: Storage, p: Params, trace_id: str) -> tuple[int, int] | None:
    """(first span start, last span end) in µs from the trace summary, or None for an unknown trace."""
    rows = storage.query(
        "SELECT toUnixTimestamp64Micro(min(start_time)), toUnixTimestamp64Micro(max(end_time)), sum(spans) "
        f"FROM {storage.database}.trace_summary WHERE {PROJECT} AND trace_id = {p.bind(trace_id, 'String')}",
        p.values,
    )
    if not rows or not rows[0][2]:
        return None
    return int(rows[0][0]), int(rows[0][1])


def _parse_events(raw: str) -> Any:
    if not raw:
        return []
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def build_tree(rows: list[dict[str, Any]]) -> list[SpanNode]:
    """Nested spans: children under their parent by start time; spans whose parent is missing are roots."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: (int(r["start_us"]), r["span_id"]))
    trace_start = int(rows[0]["start_us"])
    nodes: dict[str, SpanNode] = {}
    for r in rows:
        if r["span_id"] in nodes:
            continue
        data = {k: v for k, v in r.items() if k not in ("start_us", "end_us")}
        for k in _BOOL_FIELDS:
            data[k] = bool(data[k])
        data["events"] = _parse_events(r["events"])
        data["attributes"] = dict(r["attributes"])
        data["resource_attributes"] = dict(r["resource_attributes"])
        data["finish_reasons"] = list(r["finish_reasons"])
        data["tags"] = list(r["tags"])
        nodes[r["span_id"]] = SpanNode(
            **data,
            start_time=from_us(int(r["start_us"])),
            end_time=from_us(int(r["end_us"])),
            offset_ms=(int(r["start_us"]) - trace_start) / 1000.0,
            depth=0,
            children=[],
        )
    roots: list[SpanNode] = []
    for node in nodes.values():  # insertion order = start order, so children end up sorted
        parent = nodes.get(node.parent_span_id) if node.parent_span_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    stack = [(n, 0) for n in roots]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        stack.extend((c, depth + 1) for c in node.children)
    return roots


def trace_scores(storage: Storage, p: Params, trace_id: str) -> list[Score]:
    rows = storage.query_dicts(
        "SELECT score_id, trace_id, span_id, name, value, string_value, data_type, source, comment, author, "
        "toUnixTimestamp64Micro(timestamp) AS ts_us, toUnixTimestamp64Milli(created_at) AS created_ms "
        f"FROM {storage.database}.scores WHERE {PROJECT} AND trace_id = {p.bind(trace_id, 'String')} "
        "ORDER BY timestamp, name",
        p.values,
    )
    return [
        Score(
            score_id=r["score_id"],
            trace_id=r["trace_id"],
            span_id=r["span_id"] or None,
            name=r["name"],
            value=r["value"],
            string_value=r["string_value"] if r["data_type"] != "numeric" else None,
            data_type=r["data_type"],
            source=r["source"],
            comment=r["comment"] or None,
            author=r["author"] or None,
            timestamp=from_us(int(r["ts_us"])),
            created_at=from_us(int(r["created_ms"]) * 1000),
        )
        for r in rows
    ]


def summarize(rows: list[dict[str, Any]], scores: list[Score]) -> TraceSummary:
    """The trace's summary from all its span rows, with the definitions `tracequery.trace_rows` uses
    in SQL. A trace without a root span (still running, or its root was lost) is summarised from its
    earliest span."""
    root = next((r for r in rows if r["parent_span_id"] == ""), None) or min(rows, key=lambda r: int(r["start_us"]))
    means: dict[str, list[float]] = {}
    for sc in scores:
        if sc.value is not None:
            means.setdefault(sc.name, []).append(sc.value)
    errors = sum(1 for r in rows if row_is_error(r))
    return summary_of(
        {
            "trace_id": root["trace_id"],
            "root_span_id": root["span_id"],
            "name": root["name"],
            "kind": root["kind"],
            "service": root["service"],
            "environment": root["environment"],
            "release": root["release"],
            "start_us": root["start_us"],
            "end_us": root["end_us"],
            "duration_ms": root["duration_ms"],
            "status": root["status"],
            "status_message": root["status_message"],
            "input_preview": root["input"],
            "output_preview": root["output"],
            "span_count": len(rows),
            "error_count": errors,
            "llm_calls": sum(int(r["is_llm_call"]) for r in rows),
            "cost_usd": sum(float(r["cost_usd"]) for r in rows),
            "input_tokens": sum(int(r["input_tokens"]) for r in rows),
            "output_tokens": sum(int(r["output_tokens"]) for r in rows),
            "total_tokens": sum(int(r["total_tokens"]) for r in rows),
            "models": sorted({r["model"] for r in rows if r["model"]}),
            "has_fallback": any(row_used_fallback(r) for r in rows),
            "guardrail_blocked": any(row_guardrail_blocked(r) for r in rows),
            "off_format": any(row_off_format(r) for r in rows),
            "session_id": next((r["session_id"] for r in rows if r["session_id"]), ""),
            "user_id": next((r["user_id"] for r in rows if r["user_id"]), ""),
            "tags": sorted({t for r in rows for t in r["tags"]}),
            "prompts": sorted({f"{r['prompt_name']}@{r['prompt_version']}" for r in rows if r["prompt_name"]}),
        },
        {name: sum(v) / len(v) for name, v in means.items()},
    )


def trace_detail(storage: Storage, project: str, trace_id: str) -> TraceDetail | None:
    p = Params(project)
    bounds = trace_bounds(storage, p, trace_id)
    if bounds is None:
        return None
    lo, hi = bounds
    rows = storage.query_dicts(
        f"SELECT {_SPAN_COLUMNS} FROM {storage.database}.spans WHERE {PROJECT} "
        f"AND {span_time(p, lo, hi + 1)} AND trace_id = {p.bind(trace_id, 'String')}",
        p.values,
    )
    if not rows:
        return None
    scores = trace_scores(storage, p, trace_id)
    return TraceDetail(trace=summarize(rows, scores), spans=build_tree(rows), scores=scores)


@router.get(
    "/traces",
    summary="Search traces",
    description="Root-span rows with trace-level aggregates. Sort by start_time (default, newest first), "
    "duration (trace latency) or cost (total; slowest on long ranges). Keyset pagination: pass "
    "`next_cursor` back as `cursor` with the same filters. Traces whose root span has not arrived are not "
    "listed.",
)
async def list_traces(
    filters: Annotated[TraceSearchParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> TraceSearchResponse:
    def run() -> TraceSearchResponse:
        items, next_cursor = search(storage, project, filters, tr)
        return TraceSearchResponse(
            start=tr.start,
            end=tr.end,
            sort=filters.sort,
            order=filters.order,
            items=items,
            next_cursor=next_cursor,
            total=count_traces(storage, project, filters, tr) if filters.with_total else None,
        )

    return await blocking(run)


@router.get(
    "/traces/{trace_id}",
    summary="One trace: summary, span tree and scores",
    responses={404: {"description": "no such trace in this project"}},
)
async def get_trace(
    trace_id: TraceIdPath,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> TraceDetail:
    tid = normalize_trace_id(trace_id)
    detail = await blocking(lambda: trace_detail(storage, project, tid))
    if detail is None:
        raise HTTPException(404, f"trace {tid} not found")
    return detail
