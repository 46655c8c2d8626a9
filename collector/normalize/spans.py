"""Decoded OTLP spans into `spanscope.spans` rows: the per-span pipeline the package docstring describes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from spanscope.collector.otlp import DecodedSpan
from spanscope.collector.pricing import PriceTable
from spanscope.schemas import attributes as A

from . import documents, frameworks, kind, messages, openinference, openlit, otel_genai, spanscope, traceloop
from . import events as _events
from . import fallback as _fallback
from .canon import attr_text, to_text
from .logs import truncate
from .rules import Planner

log = logging.getLogger("spanscope.normalize")

@dataclass
class NormalizeContext:
    """Per-batch settings: the project (a resource attribute `spanscope.project` overrides it when
    `project_from_resource`), retention, prices, and the byte limit for input/output/documents."""

    project_id: str
    retention_days: int
    prices: PriceTable
    project_from_resource: bool = True
    max_content_bytes: int = 1024 * 1024


# Every column a row may carry, with the value ClickHouse fills when the key is absent. Rows always
# carry project_id ... status, retention_days, attributes and resource_attributes.
COLUMN_DEFAULTS: dict[str, Any] = {
    "project_id": "",
    "trace_id": "",
    "span_id": "",
    "parent_span_id": "",
    "name": "",
    "kind": "",
    "service": "",
    "environment": "",
    "release": "",
    "scope": "",
    "start_time": "0.000000",
    "end_time": "0.000000",
    "duration_ms": 0.0,
    "status": "",
    "status_message": "",
    "error_type": "",
    "operation": "",
    "model": "",
    "request_model": "",
    "provider": "",
    "input_tokens": 0,
    "output_tokens": 0,
    "total_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "cost_usd": 0.0,
    "cost_source": "",
    "input": "",
    "output": "",
    "documents": "",
    "finish_reasons": [],
    "ttft_ms": 0.0,
    "session_id": "",
    "user_id": "",
    "prompt_name": "",
    "prompt_version": "",
    "tags": [],
    "is_llm_call": 0,
    "fallback_attempt": 0,
    "fallback_attempts": 0,
    "fallback_used": 0,
    "fallback_degraded": 0,
    "guardrail_name": "",
    "guardrail_verdict": "",
    "guardrail_reason": "",
    "guardrail_policy": "",
    "guardrail_stage": "",
    "output_validated": 0,
    "output_valid": 0,
    "output_attempts": 0,
    "events": "",
    "attributes": {},
    "resource_attributes": {},
    "retention_days": 30,
}

_STATUS = ("UNSET", "OK", "ERROR")
_UINT64_MAX = (1 << 64) - 1

# Dialects in priority order: the first key of a field's chain that a span has wins.
DIALECTS = (
    spanscope.DIALECT,
    otel_genai.DIALECT,
    openinference.DIALECT,
    traceloop.DIALECT,
    openlit.DIALECT,
    frameworks.DIALECT,
)
PLANNER = Planner(DIALECTS)
_plan = PLANNER.plan
_META = A.CANONICAL_METADATA_PREFIX
_GENERATION = kind.GENERATION
_EMBEDDING = kind.EMBEDDING
_RERANK = kind.RERANK
_GUARDRAIL = kind.GUARDRAIL
_RETRIEVAL = kind.RETRIEVAL
_IN_MIME = A.OI_INPUT_MIME
_OUT_MIME = A.OI_OUTPUT_MIME


def _ts(ns: int) -> str:
    """`"<unix seconds>.<6-digit micros>"`, exact (string slicing: no float rounding)."""
    if ns >= 1_000_000_000:
        s = str(ns)
        return f"{s[:-9]}.{s[-9:-3]}"
    return f"0.{ns // 1000:06d}"


class _Resource:
    __slots__ = ("attributes", "environment", "project", "release", "resource", "service")

    def __init__(self, resource: dict[str, Any], ctx: NormalizeContext) -> None:
        self.resource = resource  # keeps the dict alive while its id() is a cache key
        self.attributes = {k: attr_text(v) for k, v in resource.items()}
        self.service = to_text(resource.get(A.SERVICE_NAME) or "")
        env = resource.get(A.DEPLOYMENT_ENVIRONMENT)
        if not env:
            env = resource.get(A.DEPLOYMENT_ENVIRONMENT_OLD)
        self.environment = to_text(env or "")
        self.release = to_text(resource.get(A.SERVICE_VERSION) or "")
        project = ctx.project_id
        if ctx.project_from_resource:
            p = resource.get(A.SS_PROJECT)
            if p:
                project = to_text(p)
        self.project = project


def normalize(spans: list[DecodedSpan], ctx: NormalizeContext) -> list[dict[str, Any]]:
    """One `spanscope.spans` row per span (same order), fallbacks inferred across the batch.

    Never raises for a span's content: a span whose conventions cannot be read (a bug, or input
    no rule foresaw) becomes a plain row with all its attributes and `spanscope.normalize_error`,
    so one odd span never fails its batch (an exporter would retry the batch for ever)."""
    resources: dict[int, _Resource] = {}
    rows = []
    for span in spans:
        res = resources.get(id(span.resource))
        if res is None:
            res = resources[id(span.resource)] = _Resource(span.resource, ctx)
        try:
            rows.append(_normalize_span(span, ctx, res))
        except Exception as exc:
            rows.append(_plain_row(span, ctx, res, exc))
    try:
        _fallback.infer(rows, spans)
    except Exception:
        log.exception("fallback inference failed; rows kept without it")
    return rows


def _plain_row(span: DecodedSpan, ctx: NormalizeContext, res: _Resource, exc: Exception) -> dict[str, Any]:
    log.warning("span %s of trace %s could not be normalised: %r", span.span_id, span.trace_id, exc)
    attrs = {k: attr_text(v) for k, v in span.attributes.items()}
    attrs[A.SS_NORMALIZE_ERROR] = f"{type(exc).__name__}: {exc}"[:1000]
    code = span.status_code
    return {
        "project_id": res.project,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": kind.SPAN,
        "service": res.service,
        "environment": res.environment,
        "release": res.release,
        "scope": span.scope,
        "start_time": _ts(span.start_ns),
        "end_time": _ts(span.end_ns),
        "duration_ms": (span.end_ns - span.start_ns) / 1e6,
        "status": _STATUS[code] if 0 <= code <= 2 else "UNSET",
        "status_message": span.status_message,
        "retention_days": ctx.retention_days,
        "resource_attributes": res.attributes,
        "attributes": attrs,
    }


def _normalize_span(span: DecodedSpan, ctx: NormalizeContext, res: _Resource) -> dict[str, Any]:
    attributes = span.attributes
    start = span.start_ns
    end = span.end_ns
    code = span.status_code
    row: dict[str, Any] = {
        "project_id": res.project,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "service": res.service,
        "environment": res.environment,
        "release": res.release,
        "scope": span.scope,
        "start_time": _ts(start),
        "end_time": _ts(end),
        "duration_ms": (end - start) / 1e6,
        "status": _STATUS[code] if 0 <= code <= 2 else "UNSET",
        "retention_days": ctx.retention_days,
        "resource_attributes": res.attributes,
    }
    f: dict[str, Any] = {}
    rest = dict(attributes)
    keys = tuple(attributes)
    plan = _plan(keys)
    plan.run(keys, tuple(attributes.values()), rest, f, row)
    exc_message = ""
    kept_events = span.events
    if kept_events:
        kept_events, exc_message = _events.scan(kept_events, f, row)

    hints = plan.hints
    k = kind.resolve(f, hints, span.name)
    row["kind"] = k
    if span.status_message:
        row["status_message"] = span.status_message
    elif exc_message and code == 2:
        row["status_message"] = exc_message

    if f:
        _facts(span, ctx, k, f, rest, row, bool(plan.handlers or kept_events or exc_message))
    else:
        op = kind.OPERATION_OF_KIND.get(k)
        if op:
            row["operation"] = op
    if "fallback" in hints:
        _fallback.explicit(row, f, k)
    elif k == _GENERATION:
        row["is_llm_call"] = 1
    if k == _GUARDRAIL and "guardrail_name" not in row:
        row["guardrail_name"] = span.name
    if "total_tokens" not in row:
        total = row.get("input_tokens", 0) + row.get("output_tokens", 0)
        if total:
            row["total_tokens"] = total if total <= _UINT64_MAX else _UINT64_MAX

    if kept_events:
        row["events"] = orjson.dumps(
            [{"name": e.name, "time": _ts(e.time_ns), "attributes": e.attributes} for e in kept_events],
            default=str,
        ).decode()
    for key, v in rest.items():  # the leftovers become the attributes map (values as strings)
        t = type(v)
        if t is not str:
            rest[key] = str(v) if t is int else attr_text(v)
    md = f.get("metadata")
    if md:
        for mk, mv in md.items():
            rest[_META + mk] = mv
    row["attributes"] = rest
    return row


def _facts(
    span: DecodedSpan,
    ctx: NormalizeContext,
    k: str,
    f: dict[str, Any],
    rest: dict[str, Any],
    row: dict[str, Any],
    content: bool,
) -> None:
    """Columns derived from the facts: operation, model, cost and (when `content`) content."""
    get = f.get
    op = get("operation") or kind.operation(f, k)
    if op:
        row["operation"] = op

    # --- model: response → request → OpenInference names; request_model: what was asked for
    if k == _EMBEDDING:
        specific = get("embedding_model", "")
    elif k == _RERANK:
        specific = get("reranker_model", "")
    else:
        specific = ""
    requested = get("request_model", "")
    model = (
        get("response_model")
        or requested
        or specific
        or get("llm_model")
        or get("embedding_model")
        or get("reranker_model")
        or get("invocation_model")
        or get("fb_requested_model", "")
    )
    if model:
        row["model"] = model
        row["request_model"] = (
            requested or get("fb_requested_model") or get("invocation_model") or specific or get("llm_model") or model
        )
    provider = get("provider", "")
    if provider:
        row["provider"] = provider

    # --- cost: span-provided, else the price table (never for a fallback wrapper: its attempts
    # are the calls that cost money)
    cost = get("cost")
    if cost is not None:
        row["cost_usd"] = cost
        row["cost_source"] = "span"
    elif "cost_input" in f or "cost_output" in f:
        row["cost_usd"] = (get("cost_input") or 0.0) + (get("cost_output") or 0.0)
        row["cost_source"] = "span"
    elif model and not get("fb_attempts"):
        inp = row.get("input_tokens", 0)
        out = row.get("output_tokens", 0)
        if inp or out:
            priced = ctx.prices.cost_at_ns(
                model,
                provider,
                inp,
                out,
                row.get("cache_read_tokens", 0),
                row.get("cache_write_tokens", 0),
                row.get("reasoning_tokens", 0),
                span.start_ns,
            )
            if priced is not None:
                row["cost_usd"] = priced
                row["cost_source"] = "price_table"

    if content or span.events:
        _content(k, ctx.max_content_bytes, f, rest, row)


def _content(k: str, cap: int, f: dict[str, Any], rest: dict[str, Any], row: dict[str, Any]) -> None:
    """input / output / documents from messages (preferred) or raw values."""
    get = f.get
    msgs_in = get("input_messages")
    system = get("system_message")
    if system is not None:
        msgs_in = [system, *(msgs_in or ())]
    msgs_out = get("output_messages")
    raw_in = get("raw_in")
    raw_out = get("raw_out")
    # OpenInference's raw request/response repeat its indexed messages: dropped when those (or
    # messages parsed from the raw body itself) became the column; any other raw value is kept.
    dup_in = "oi_messages_in" in f
    dup_out = "oi_messages_out" in f
    if k == _GENERATION and "ss_kind" not in f:  # our SDK records messages itself
        if not msgs_in and raw_in:
            raw = next((text for _, text, generic in raw_in if generic), None)
            if raw is not None:
                msgs_in = openinference.openai_request_messages(raw)
                dup_in = True
        if not msgs_out and raw_out:
            raw = next((text for _, text, generic in raw_out if generic), None)
            if raw is not None:
                parsed = openinference.openai_response_messages(raw)
                if parsed:
                    msgs_out = parsed[0]
                    dup_out = True
                    if parsed[1] and "finish_reasons" not in row:
                        row["finish_reasons"] = parsed[1]
    if msgs_in:
        row["input"] = truncate(messages.render_input(msgs_in), cap)
        if raw_in:
            _put_back(rest, raw_in, dup_in, _IN_MIME, A.OI_INPUT_VALUE)
    elif raw_in:
        row["input"] = truncate(raw_in[0][1], cap)
        _put_back(rest, raw_in[1:], False, _IN_MIME, A.OI_INPUT_VALUE)
    if msgs_out:
        row["output"] = truncate(messages.render_output(msgs_out), cap)
        if raw_out:
            _put_back(rest, raw_out, dup_out, _OUT_MIME, A.OI_OUTPUT_VALUE)
    elif raw_out:
        row["output"] = truncate(raw_out[0][1], cap)
        _put_back(rest, raw_out[1:], False, _OUT_MIME, A.OI_OUTPUT_VALUE)
    docs = get("documents")
    if not docs and k == _RETRIEVAL and raw_out:
        # Traceloop vector-store and retriever spans: documents in traceloop.entity.output
        raw = next((text for key, text, _ in raw_out if key == A.TL_ENTITY_OUTPUT), None)
        if raw is not None:
            docs = documents.from_list(raw)
    if docs:
        row["documents"] = truncate(orjson.dumps(docs).decode(), cap)


def _put_back(
    rest: dict[str, Any],
    raws: list[tuple[str, str, bool]],
    drop_generic: bool,
    mime_key: str,
    value_key: str,
) -> None:
    """Raw content values (those that did not become the column) go back to the attributes, except the
    generic ones (OpenInference input.value / output.value) when `drop_generic` (they repeat the
    messages). The OpenInference mime type stays only while its value does."""
    kept_value = False
    for key, text, generic in raws:
        if generic and drop_generic:
            continue
        rest[key] = text
        if key == value_key:
            kept_value = True
    if not kept_value:
        rest.pop(mime_key, None)
