"""Trace search and trace assembly.

Search has two phases. Phase one finds the page: trace ids and sort keys of root spans
(`parent_span_id = ''`) in `spans` that pass the filters, sorted, keyset-paginated (the cursor holds
the sort value and trace id of the last row; never OFFSET). Phase two reads the page's trace-level
facts (root fields and previews, span count, cost, tokens, models, flags) from `trace_summary` by
primary key, falling back to the spans for traces it does not hold.

Root filters (service, environment, name, duration) apply to the root span. Filters on any span of a
trace (model, kind, status, fallback, guardrail, session, user, tag, prompt, text, cost range) are a
semi-join `trace_id IN (SELECT trace_id FROM spans … [GROUP BY trace_id HAVING …])` over the same time
window plus slack; the score filter a semi-join on `scores`.

Sort orders:
- start time: windows scanned backwards from the end (15 min, then 4x larger each time), stopping
  as soon as the page is full, so the newest traces of a 7-day range cost about as much as the last
  few minutes' (selective filters read more windows);
- duration (trace latency): the roots of the whole range, two narrow columns;
- cost (total): the top candidates by the sum of cost_usd over the spans that carry cost, grouped by
  a 64-bit hash of the trace id, kept when their root is in the range and passes the root filters;
  cost-free traces follow (descending) or precede (ascending), by trace id. The heaviest sort.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from spanscope.collector.api.querying import (
    PROJECT,
    Params,
    QueryError,
    TimeRange,
    and_all,
    from_us,
    in_values,
    span_time,
)
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import GUARDRAIL_BLOCKED, IS_ERROR, IS_ROOT, OFF_FORMAT, USED_FALLBACK
from spanscope.schemas.models import TraceSearchParams, TraceSummary

# Spans of a trace may start after its root's window (async work, long agents): semi-joins and page
# aggregates read this far past the window.
TRACE_SLACK_US = 3600 * 1_000_000
# Child spans may start slightly before their root (clock skew between services).
SKEW_US = 60 * 1_000_000
FIRST_WINDOW_US = 900 * 1_000_000
# trace_summary keeps this much of a root's input and output.
SUMMARY_PREVIEW_CHARS = 1000
WINDOW_GROWTH = 4

# Phase one of a search returns these per trace: id, root start and end (µs), and the sort key.
KEY_COLUMNS = "trace_id, toUnixTimestamp64Micro(start_time) AS start_us, toUnixTimestamp64Micro(end_time) AS end_us"


@dataclass(frozen=True)
class Cursor:
    sort: str
    order: str
    key: float | int
    trace_id: str

    def encode(self) -> str:
        raw = orjson.dumps({"s": self.sort, "o": self.order, "k": self.key, "t": self.trace_id})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str, order: str) -> Cursor:
        try:
            doc = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(str(doc["s"]), str(doc["o"]), doc["k"], str(doc["t"]))
            if not isinstance(cursor.key, int | float) or isinstance(cursor.key, bool):
                raise ValueError("bad key")
        except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise QueryError("cursor is not one this API returned") from None
        if cursor.sort != sort or cursor.order != order:
            raise QueryError("cursor belongs to another sort order; start again without cursor")
        return cursor


_ROOT_COLUMNS_OF_SUMMARY = {
    "service": "max(root_service)",
    "environment": "max(root_environment)",
    "name": "max(root_name)",
    "duration_ms": "max(root_duration_ms)",
}


def root_filters(p: Params, f: TraceSearchParams, summary: bool = False) -> str:
    """Predicates on the root span itself: over a span row, or (summary) over trace_summary rows."""
    col = _ROOT_COLUMNS_OF_SUMMARY if summary else {k: k for k in _ROOT_COLUMNS_OF_SUMMARY}
    dur = col["duration_ms"]
    return and_all(
        [
            in_values(p, col["service"], f.service),
            in_values(p, col["environment"], f.environment),
            in_values(p, col["name"], f.name),
            f"{dur} >= {p.bind(f.min_duration_ms, 'Float64')}" if f.min_duration_ms is not None else None,
            f"{dur} <= {p.bind(f.max_duration_ms, 'Float64')}" if f.max_duration_ms is not None else None,
        ]
    )


def _verify_roots(
    storage: Storage, p: Params, f: TraceSearchParams, tr: TimeRange, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Those of `ids` whose root span starts in the range and passes the root filters, with their
    KEY_COLUMNS: looked up in trace_summary, falling back to spans for traces it does not hold."""
    db = storage.database
    ok = and_all(
        [
            "max(root_span_id) != ''",
            f"max(root_start) >= {p.micros(tr.start_us)}",
            f"max(root_start) < {p.micros(tr.end_us)}",
            root_filters(p, f, summary=True),
        ]
    )
    rows = storage.query_dicts(
        "SELECT trace_id, toUnixTimestamp64Micro(max(root_start)) AS start_us, "
        f"toUnixTimestamp64Micro(max(root_end)) AS end_us, {ok} AS ok FROM {db}.trace_summary "
        f"WHERE {PROJECT} AND trace_id IN {p.bind(ids, 'Array(String)')} GROUP BY trace_id",
        p.values,
    )
    verified = {r["trace_id"]: r for r in rows if r["ok"]}
    absent = [i for i in ids if i not in {r["trace_id"] for r in rows}]
    if absent:
        for r in storage.query_dicts(
            f"SELECT {KEY_COLUMNS} FROM {db}.spans WHERE {PROJECT} AND {span_time(p, tr.start_us, tr.end_us)} "
            f"AND {IS_ROOT} AND {root_filters(p, f)} AND trace_id IN {p.bind(absent, 'Array(String)')} "
            "LIMIT 1 BY trace_id",
            p.values,
        ):
            verified[r["trace_id"]] = r
    return verified


def _trace_conditions(p: Params, f: TraceSearchParams) -> tuple[list[str], list[str]]:
    """(span predicates a matching trace must have at least one span for, other HAVING conditions)."""
    positive: list[str] = []
    having: list[str] = []
    for pred in (
        in_values(p, "model", f.model),
        in_values(p, "kind", f.kind),
        in_values(p, "session_id", [f.session_id] if f.session_id else []),
        in_values(p, "user_id", [f.user_id] if f.user_id else []),
        f"hasAny(tags, {p.bind(list(f.tag), 'Array(String)')})" if f.tag else None,
        and_all(
            [
                in_values(p, "prompt_name", [f.prompt_name] if f.prompt_name else []),
                in_values(p, "prompt_version", [f.prompt_version] if f.prompt_version else []),
            ]
        )
        if f.prompt_name or f.prompt_version
        else None,
    ):
        if pred:
            positive.append(pred)
    if f.q:
        q = p.bind(f.q, "String")
        positive.append(f"positionCaseInsensitiveUTF8(input, {q}) > 0 OR positionCaseInsensitiveUTF8(output, {q}) > 0")
    if f.status == "error":
        positive.append(IS_ERROR)
    elif f.status == "ok":
        having.append(f"countIf({IS_ERROR}) = 0")
    for flag, pred in ((f.has_fallback, USED_FALLBACK), (f.guardrail_blocked, GUARDRAIL_BLOCKED)):
        if flag is True:
            positive.append(pred)
        elif flag is False:
            having.append(f"countIf({pred}) = 0")
    if f.min_cost is not None:
        having.append(f"sum(cost_usd) >= {p.bind(f.min_cost, 'Float64')}")
    if f.max_cost is not None:
        having.append(f"sum(cost_usd) <= {p.bind(f.max_cost, 'Float64')}")
    return positive, having


def span_semijoin(db: str, p: Params, f: TraceSearchParams, lo_us: int, hi_us: int) -> str | None:
    """`trace_id IN (…)` for the filters on any span, over spans starting in [lo, hi + slack); or None."""
    positive, having = _trace_conditions(p, f)
    if not positive and not having:
        return None
    window = span_time(p, lo_us - SKEW_US, hi_us + TRACE_SLACK_US)
    if len(positive) == 1 and not having:
        return f"trace_id IN (SELECT trace_id FROM {db}.spans WHERE {PROJECT} AND {window} AND ({positive[0]}))"
    conds = [f"countIf({c}) > 0" for c in positive] + having
    # With only positive conditions, spans matching none of them cannot matter.
    pre = f" AND ({' OR '.join(f'({c})' for c in positive)})" if positive and not having else ""
    return (
        f"trace_id IN (SELECT trace_id FROM {db}.spans WHERE {PROJECT} AND {window}{pre} "
        f"GROUP BY trace_id HAVING {and_all(conds)})"
    )


def score_semijoin(db: str, p: Params, f: TraceSearchParams) -> str | None:
    """`trace_id IN (…)` for the score filter, or None."""
    if not f.score_name:
        return None
    conds: list[str | None] = [f"name = {p.bind(f.score_name, 'String')}"]
    if f.min_score is not None:
        conds.append(f"value >= {p.bind(f.min_score, 'Float64')}")
    if f.max_score is not None:
        conds.append(f"value <= {p.bind(f.max_score, 'Float64')}")
    if f.score_value is not None:
        conds.append(f"string_value = {p.bind(f.score_value, 'String')}")
    if f.score_source is not None:
        conds.append(f"source = {p.bind(f.score_source, 'String')}")
    return f"trace_id IN (SELECT trace_id FROM {db}.scores WHERE {PROJECT} AND {and_all(conds)})"


def matching_roots(db: str, p: Params, f: TraceSearchParams, tr: TimeRange) -> list[str | None]:
    """Conditions on `spans` that keep the root spans, starting in the range, of the traces the
    search matches: the listing's rule, shared by every sort order and the count."""
    return [
        PROJECT,
        span_time(p, tr.start_us, tr.end_us),
        IS_ROOT,
        root_filters(p, f),
        span_semijoin(db, p, f, tr.start_us, tr.end_us),
        score_semijoin(db, p, f),
    ]


def _direction(order: str) -> tuple[str, str]:
    """(SQL direction, keyset comparison operator) for an order."""
    return ("DESC", "<") if order == "desc" else ("ASC", ">")


def _keys_by_time(
    storage: Storage, p: Params, f: TraceSearchParams, tr: TimeRange, cursor: Cursor | None, want: int
) -> list[dict[str, Any]]:
    """Root spans newest (or oldest) first, scanning growing windows from the end (or the start)."""
    db = storage.database
    desc = f.order == "desc"
    direction, op = _direction(f.order)
    lo_us, hi_us = tr.start_us, tr.end_us
    cursor_cond = None
    if cursor is not None:
        cursor_cond = f"(start_time, trace_id) {op} ({p.micros(int(cursor.key))}, {p.bind(cursor.trace_id, 'String')})"
        if desc:
            hi_us = min(hi_us, int(cursor.key) + 1)
        else:
            lo_us = max(lo_us, int(cursor.key))
    rows: list[dict[str, Any]] = []
    size = FIRST_WINDOW_US
    roots = root_filters(p, f)
    scores = score_semijoin(db, p, f)
    while lo_us < hi_us and len(rows) < want:
        w_lo, w_hi = (max(lo_us, hi_us - size), hi_us) if desc else (lo_us, min(hi_us, lo_us + size))
        conds = [
            PROJECT,
            span_time(p, w_lo, w_hi),
            IS_ROOT,
            roots,
            cursor_cond,
            span_semijoin(db, p, f, w_lo, w_hi),
            scores,
        ]
        rows.extend(
            storage.query_dicts(
                f"SELECT {KEY_COLUMNS} FROM {db}.spans WHERE {and_all(conds)} "
                f"ORDER BY start_time {direction}, trace_id {direction} LIMIT {want - len(rows)}",
                p.values,
            )
        )
        if desc:
            hi_us = w_lo
        else:
            lo_us = w_hi
        size *= WINDOW_GROWTH
    for r in rows:
        r["key"] = int(r["start_us"])
    return rows


def _keys_by_duration(
    storage: Storage, p: Params, f: TraceSearchParams, tr: TimeRange, cursor: Cursor | None, want: int
) -> list[dict[str, Any]]:
    db = storage.database
    direction, op = _direction(f.order)
    cursor_cond = None
    if cursor is not None:
        cursor_cond = (
            f"(duration_ms, trace_id) {op} "
            f"({p.bind(float(cursor.key), 'Float64')}, {p.bind(cursor.trace_id, 'String')})"
        )
    conds = [*matching_roots(db, p, f, tr), cursor_cond]
    rows = storage.query_dicts(
        f"SELECT {KEY_COLUMNS}, duration_ms AS key FROM {db}.spans WHERE {and_all(conds)} "
        f"ORDER BY duration_ms {direction}, trace_id {direction} LIMIT {want}",
        p.values,
    )
    return rows


def _cost_positive(
    storage: Storage,
    p: Params,
    f: TraceSearchParams,
    tr: TimeRange,
    after: tuple[float, str] | None,
    want: int,
) -> list[dict[str, Any]]:
    """Traces with a positive total cost, by (cost, trace_id): top candidates from the spans that carry
    cost (grouped by a 64-bit hash of the id: much faster than by the string), then kept if their root
    is in the range and passes the root filters; more candidates are read until the page is full."""
    db = storage.database
    direction, op = _direction(f.order)
    window = span_time(p, tr.start_us - SKEW_US, tr.end_us + TRACE_SLACK_US)
    filters = and_all([span_semijoin(db, p, f, tr.start_us, tr.end_us), score_semijoin(db, p, f)])
    out: list[dict[str, Any]] = []
    batch = max(2 * want, 50)
    while len(out) < want:
        having = ""
        if after is not None:
            having = (
                f"HAVING (trace_cost, tid) {op} ({p.bind(float(after[0]), 'Float64')}, {p.bind(after[1], 'String')})"
            )
        candidates = storage.query_dicts(
            f"SELECT any(trace_id) AS tid, sum(cost_usd) AS trace_cost FROM {db}.spans "
            f"WHERE {PROJECT} AND {window} AND cost_usd > 0 AND {filters} GROUP BY "
            f"cityHash64(trace_id) {having} "
            f"ORDER BY trace_cost {direction}, tid {direction} LIMIT {batch}",
            p.values,
        )
        if not candidates:
            break
        verified = _verify_roots(storage, p, f, tr, [c["tid"] for c in candidates])
        for c in candidates:
            root = verified.get(c["tid"])
            if root is not None:
                out.append(
                    {
                        "trace_id": c["tid"],
                        "start_us": root["start_us"],
                        "end_us": root["end_us"],
                        "key": float(c["trace_cost"]),
                    }
                )
                if len(out) == want:
                    break
        if len(candidates) < batch:
            break
        last = candidates[-1]
        after = (float(last["trace_cost"]), str(last["tid"]))
        batch *= 4
    return out


def _cost_zero(
    storage: Storage, p: Params, f: TraceSearchParams, tr: TimeRange, after: str | None, want: int
) -> list[dict[str, Any]]:
    """Traces without cost (no span with cost_usd > 0), by trace_id."""
    db = storage.database
    direction, op = _direction(f.order)
    window = span_time(p, tr.start_us - SKEW_US, tr.end_us + TRACE_SLACK_US)
    conds = [
        *matching_roots(db, p, f, tr),
        f"trace_id NOT IN (SELECT trace_id FROM {db}.spans WHERE {PROJECT} AND {window} AND cost_usd > 0)",
        f"trace_id {op} {p.bind(after, 'String')}" if after is not None else None,
    ]
    rows = storage.query_dicts(
        f"SELECT {KEY_COLUMNS}, 0.0 AS key FROM {db}.spans WHERE {and_all(conds)} "
        f"ORDER BY trace_id {direction} LIMIT {want}",
        p.values,
    )
    return rows


def _keys_by_cost(
    storage: Storage, p: Params, f: TraceSearchParams, tr: TimeRange, cursor: Cursor | None, want: int
) -> list[dict[str, Any]]:
    """By total cost: (cost, trace_id) descending puts costly traces first and cost-free ones last
    (by trace id); ascending the reverse. The cursor says which of the two parts to continue."""
    regions = ["positive", "zero"] if f.order == "desc" else ["zero", "positive"]
    if cursor is not None:
        regions = regions[regions.index("zero" if float(cursor.key) == 0 else "positive") :]
    rows: list[dict[str, Any]] = []
    for i, region in enumerate(regions):
        current = cursor if i == 0 else None
        if region == "positive":
            after = (float(current.key), current.trace_id) if current is not None else None
            rows.extend(_cost_positive(storage, p, f, tr, after, want - len(rows)))
        else:
            rows.extend(_cost_zero(storage, p, f, tr, current.trace_id if current else None, want - len(rows)))
        if len(rows) >= want:
            break
    return rows


def _preview(p: Params, column: str, chars: int) -> str:
    return f"leftUTF8(anyIf({column}, {IS_ROOT}), {p.bind(int(chars), 'UInt32')})"


def _span_rows(
    storage: Storage, p: Params, ids: list[str], lo_us: int, hi_us: int, preview_chars: int
) -> dict[str, dict[str, Any]]:
    """Root fields and trace-level aggregates computed from the spans of the given traces, whose spans
    start in [lo, hi). The fallback for traces missing from `trace_summary`, and for long previews."""
    if not ids:
        return {}
    db = storage.database
    root = IS_ROOT
    sql = (
        "SELECT trace_id AS t_trace_id, count() AS t_span_count, "
        f"anyIf(span_id, {root}) AS t_root_span_id, anyIf(name, {root}) AS t_name, anyIf(kind, {root}) AS t_kind, "
        f"anyIf(service, {root}) AS t_service, anyIf(environment, {root}) AS t_environment, "
        f"anyIf(release, {root}) AS t_release, anyIf(duration_ms, {root}) AS t_duration_ms, "
        f"toUnixTimestamp64Micro(minIf(start_time, {root})) AS t_start_us, "
        f"toUnixTimestamp64Micro(maxIf(end_time, {root})) AS t_end_us, "
        f"anyIf(status, {root}) AS t_status, anyIf(status_message, {root}) AS t_status_message, "
        f"{_preview(p, 'input', preview_chars)} AS t_input_preview, "
        f"{_preview(p, 'output', preview_chars)} AS t_output_preview, "
        f"countIf({IS_ERROR}) AS t_error_count, sum(is_llm_call) AS t_llm_calls, sum(cost_usd) AS t_cost_usd, "
        "sum(input_tokens) AS t_input_tokens, sum(output_tokens) AS t_output_tokens, "
        "sum(total_tokens) AS t_total_tokens, "
        "arraySort(groupUniqArrayIf(model, model != '')) AS t_models, "
        f"countIf({USED_FALLBACK}) > 0 AS t_has_fallback, "
        f"countIf({GUARDRAIL_BLOCKED}) > 0 AS t_guardrail_blocked, "
        f"countIf({OFF_FORMAT}) > 0 AS t_off_format, "
        "max(session_id) AS t_session_id, max(user_id) AS t_user_id, "
        "arraySort(groupUniqArrayArray(tags)) AS t_tags, "
        "arraySort(groupUniqArrayIf(concat(prompt_name, '@', prompt_version), prompt_name != '')) AS t_prompts "
        f"FROM {db}.spans WHERE {PROJECT} AND {span_time(p, lo_us, hi_us)} "
        f"AND trace_id IN {p.bind(ids, 'Array(String)')} GROUP BY trace_id"
    )
    # Aliases are prefixed (t_) so that none shadows a column inside another aggregate.
    rows = [{k[2:]: v for k, v in r.items()} for r in storage.query_dicts(sql, p.values)]
    return {r["trace_id"]: r for r in rows}


def _summary_rows(storage: Storage, p: Params, ids: list[str], preview_chars: int) -> dict[str, dict[str, Any]]:
    """The same fields from `trace_summary` (one primary-key lookup per trace)."""
    n = p.bind(int(min(preview_chars, SUMMARY_PREVIEW_CHARS)), "UInt32")
    sql = (
        "SELECT trace_id AS t_trace_id, sum(spans) AS t_span_count, max(root_span_id) AS t_root_span_id, "
        "max(root_name) AS t_name, max(root_kind) AS t_kind, max(root_service) AS t_service, "
        "max(root_environment) AS t_environment, max(root_release) AS t_release, "
        "max(root_duration_ms) AS t_duration_ms, toUnixTimestamp64Micro(max(root_start)) AS t_start_us, "
        "toUnixTimestamp64Micro(max(root_end)) AS t_end_us, max(root_status) AS t_status, "
        "max(root_status_message) AS t_status_message, "
        f"leftUTF8(max(root_input), {n}) AS t_input_preview, leftUTF8(max(root_output), {n}) AS t_output_preview, "
        "sum(errors) AS t_error_count, sum(llm_calls) AS t_llm_calls, sum(cost_usd) AS t_cost_usd, "
        "sum(input_tokens) AS t_input_tokens, sum(output_tokens) AS t_output_tokens, "
        "sum(total_tokens) AS t_total_tokens, arraySort(groupUniqArrayArray(models)) AS t_models, "
        "sum(fallbacks) > 0 AS t_has_fallback, sum(guardrail_blocks) > 0 AS t_guardrail_blocked, "
        "sum(off_format) > 0 AS t_off_format, max(session_id) AS t_session_id, max(user_id) AS t_user_id, "
        "arraySort(groupUniqArrayArray(tags)) AS t_tags, arraySort(groupUniqArrayArray(prompts)) AS t_prompts "
        f"FROM {storage.database}.trace_summary WHERE {PROJECT} AND trace_id IN {p.bind(ids, 'Array(String)')} "
        "GROUP BY trace_id HAVING t_root_span_id != ''"
    )
    rows = [{k[2:]: v for k, v in r.items()} for r in storage.query_dicts(sql, p.values)]
    return {r["trace_id"]: r for r in rows}


def trace_rows(
    storage: Storage, p: Params, ids: list[str], lo_us: int, hi_us: int, preview_chars: int
) -> dict[str, dict[str, Any]]:
    """Root fields and trace-level aggregates of the given traces, whose spans start in [lo, hi).

    Read from `trace_summary`; traces missing there (or whose root has not arrived there yet) and
    previews longer than it keeps are computed from the spans."""
    if not ids:
        return {}
    rows = _summary_rows(storage, p, ids, preview_chars)
    if preview_chars > SUMMARY_PREVIEW_CHARS:
        return {**rows, **_span_rows(storage, p, ids, lo_us, hi_us, preview_chars)}
    missing = [i for i in ids if i not in rows]
    if missing:
        rows.update(_span_rows(storage, p, missing, lo_us, hi_us, preview_chars))
    return rows


def score_means(storage: Storage, p: Params, ids: list[str]) -> dict[str, dict[str, float]]:
    if not ids:
        return {}
    rows = storage.query(
        f"SELECT trace_id, name, avg(value) FROM {storage.database}.scores WHERE {PROJECT} "
        f"AND trace_id IN {p.bind(ids, 'Array(String)')} AND value IS NOT NULL GROUP BY trace_id, name",
        p.values,
    )
    out: dict[str, dict[str, float]] = {}
    for trace_id, name, mean in rows:
        out.setdefault(trace_id, {})[name] = float(mean)
    return out


def summary_of(a: dict[str, Any], scores: dict[str, float]) -> TraceSummary:
    """A TraceSummary from a `trace_rows` row."""
    return TraceSummary(
        trace_id=a["trace_id"],
        root_span_id=a["root_span_id"],
        name=a["name"],
        kind=a["kind"],
        service=a["service"],
        environment=a["environment"],
        release=a["release"],
        start_time=from_us(int(a["start_us"])),
        end_time=from_us(int(a["end_us"])),
        duration_ms=float(a["duration_ms"]),
        status=a["status"],
        status_message=a["status_message"],
        error=int(a["error_count"]) > 0,
        error_count=int(a["error_count"]),
        span_count=int(a["span_count"]),
        llm_calls=int(a["llm_calls"]),
        cost_usd=float(a["cost_usd"]),
        input_tokens=int(a["input_tokens"]),
        output_tokens=int(a["output_tokens"]),
        total_tokens=int(a["total_tokens"]),
        models=list(a["models"]),
        has_fallback=bool(a["has_fallback"]),
        guardrail_blocked=bool(a["guardrail_blocked"]),
        off_format=bool(a["off_format"]),
        session_id=a["session_id"],
        user_id=a["user_id"],
        tags=list(a["tags"]),
        prompts=list(a["prompts"]),
        input=a["input_preview"],
        output=a["output_preview"],
        scores=scores,
    )


def summaries(storage: Storage, p: Params, keys: list[dict[str, Any]], preview_chars: int) -> list[TraceSummary]:
    """TraceSummary rows, in the given order, for phase-one rows (trace_id, start_us, end_us)."""
    if not keys:
        return []
    ids = [r["trace_id"] for r in keys]
    lo = min(int(r["start_us"]) for r in keys) - SKEW_US
    hi = max(max(int(r["end_us"]) for r in keys) + SKEW_US, max(int(r["start_us"]) for r in keys) + TRACE_SLACK_US)
    rows = trace_rows(storage, p, ids, lo, hi, preview_chars)
    scores = score_means(storage, p, ids)
    return [summary_of(rows[i], scores.get(i, {})) for i in ids if i in rows]


def search(
    storage: Storage, project: str, f: TraceSearchParams, tr: TimeRange
) -> tuple[list[TraceSummary], str | None]:
    """One page of traces and the cursor of the next page (None on the last)."""
    p = Params(project)
    cursor = Cursor.decode(f.cursor, f.sort, f.order) if f.cursor else None
    finder = {"start_time": _keys_by_time, "duration": _keys_by_duration, "cost": _keys_by_cost}[f.sort]
    keys = finder(storage, p, f, tr, cursor, f.limit + 1)
    next_cursor = None
    if len(keys) > f.limit:
        keys = keys[: f.limit]
        last = keys[-1]
        next_cursor = Cursor(f.sort, f.order, last["key"], last["trace_id"]).encode()
    return summaries(storage, p, keys, f.preview_chars), next_cursor


def count_traces(storage: Storage, project: str, f: TraceSearchParams, tr: TimeRange) -> int:
    """How many traces match: root spans in the range passing every filter (the listing's rule)."""
    p = Params(project)
    db = storage.database
    conds = matching_roots(db, p, f, tr)
    rows = storage.query_dicts(f"SELECT uniqExact(trace_id) AS n FROM {db}.spans WHERE {and_all(conds)}", p.values)
    return int(rows[0]["n"]) if rows else 0
