"""Hard examples: production traces worth turning into regression tests.

A trace whose root span starts in the range is hard when any of the requested reasons holds:
- low_score: a numeric score at or below `max_score` (only `score_name` when given);
- negative_feedback: user feedback that is negative: a boolean false, a negative number or a label such
  as "thumbs_down" from the SDK, the API or a human (not an evaluator);
- evaluator_failure: an evaluator's score that failed: boolean false, a "fail" label, or numeric at or
  below `max_score`;
- guardrail_block: a guardrail blocked or modified something;
- fallback: an LLM call was served by a fallback model or a degraded path;
- error: a span ended with status ERROR.
Traces produced by replaying a dataset (`spanscope eval run`) are never hard examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from spanscope.collector.api.querying import PROJECT, Params, TimeRange, and_all, from_us, in_values, span_time
from spanscope.collector.api.tracequery import SKEW_US, TRACE_SLACK_US, score_means
from spanscope.collector.evals.datasets import existing_item_ids, item_id_of
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import ATTR_EVAL_RUN_ID, DatasetItemIn, HardExample, HardExampleFilter
from spanscope.schemas.metrics import GUARDRAIL_BLOCKED, IS_ERROR, IS_ROOT

FALLBACK = "fallback_used = 1 OR fallback_degraded = 1"
NEGATIVE_LABELS = ("negative", "thumbs_down", "thumbs-down", "thumbsdown", "down", "bad", "dislike", "no", "false")
FAIL_LABELS = ("fail", "failed", "failure", "false", "no", "incorrect", "wrong", "bad")
# Feedback often arrives later than its trace: scores are read this long past the range.
FEEDBACK_LAG_US = 7 * 86400 * 1_000_000
MIN_CANDIDATES = 1000


@dataclass
class _Why:
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, reason: str, detail: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
        if detail not in self.details:
            self.details.append(detail)


def _span_reasons(storage: Storage, project: str, f: HardExampleFilter, tr: TimeRange, cap: int) -> dict[str, _Why]:
    wanted = {
        "guardrail_block": GUARDRAIL_BLOCKED,
        "fallback": FALLBACK,
        "error": IS_ERROR,
    }
    conds = {r: c for r, c in wanted.items() if r in f.reasons}
    if not conds:
        return {}
    p = Params(project)
    detail = {
        "guardrail_block": "concat('guardrail ', guardrail_name, ': ', guardrail_verdict, "
        "if(guardrail_reason != '', concat(' (', guardrail_reason, ')'), ''))",
        "fallback": "concat('fallback: ', name, if(fallback_degraded = 1, ' served by a degraded path', "
        "concat(' served by ', model)))",
        "error": "concat('error in ', name, ': ', if(status_message != '', status_message, error_type))",
    }
    selects = ", ".join(f"groupUniqArrayIf(5)({detail[r]}, {c}) AS `{r}`" for r, c in conds.items())
    rows = storage.query_dicts(
        f"SELECT trace_id, {selects}, max(start_time) AS last FROM {storage.table('spans')} "
        f"WHERE {PROJECT} AND {span_time(p, tr.start_us - SKEW_US, tr.end_us + TRACE_SLACK_US)} "
        f"AND ({' OR '.join(f'({c})' for c in conds.values())}) "
        f"GROUP BY trace_id ORDER BY last DESC LIMIT {cap}",
        p.values,
    )
    out: dict[str, _Why] = {}
    for r in rows:
        why = out.setdefault(r["trace_id"], _Why())
        for reason in conds:
            for d in r[reason]:
                why.add(reason, d)
    return out


def _score_reasons(storage: Storage, project: str, f: HardExampleFilter, tr: TimeRange, cap: int) -> dict[str, _Why]:
    p = Params(project)
    threshold = p.bind(f.max_score, "Float64")
    negative = p.bind(list(NEGATIVE_LABELS), "Array(String)")
    failed = p.bind(list(FAIL_LABELS), "Array(String)")
    conds: dict[str, str] = {}
    if "low_score" in f.reasons:
        conds["low_score"] = and_all(
            [
                f"data_type = 'numeric' AND value IS NOT NULL AND value <= {threshold}",
                f"name = {p.bind(f.score_name, 'String')}" if f.score_name else None,
            ]
        )
    if "negative_feedback" in f.reasons:
        conds["negative_feedback"] = (
            "source != 'evaluator' AND ((data_type = 'boolean' AND value = 0) "
            f"OR (data_type = 'categorical' AND has({negative}, lower(string_value))) "
            "OR (data_type = 'numeric' AND value < 0))"
        )
    if "evaluator_failure" in f.reasons:
        conds["evaluator_failure"] = (
            "source = 'evaluator' AND ((data_type = 'boolean' AND value = 0) "
            f"OR (data_type = 'categorical' AND has({failed}, lower(string_value))) "
            f"OR (data_type = 'numeric' AND value <= {threshold}))"
        )
    if not conds:
        return {}
    flags = ", ".join(f"({c}) AS `{r}`" for r, c in conds.items())
    rows = storage.query_dicts(
        f"SELECT trace_id, name, source, data_type, value, string_value, {flags} FROM {storage.table('scores')} "
        f"WHERE {PROJECT} AND timestamp >= {p.micros(tr.start_us - SKEW_US)} "
        f"AND timestamp < {p.micros(tr.end_us + FEEDBACK_LAG_US)} "
        f"AND ({' OR '.join(f'({c})' for c in conds.values())}) ORDER BY timestamp DESC LIMIT {cap}",
        p.values,
    )
    out: dict[str, _Why] = {}
    for r in rows:
        shown = r["string_value"] if r["data_type"] == "categorical" or r["value"] is None else f"{r['value']:g}"
        if r["data_type"] == "boolean":
            shown = "false" if r["value"] == 0 else "true"
        for reason in conds:
            if r[reason]:
                out.setdefault(r["trace_id"], _Why()).add(reason, f"{r['name']} = {shown} ({r['source']})")
    return out


def _parse(text: str) -> Any:
    """Span input/output: JSON when it is JSON (messages, objects, quoted strings), else the text."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{", '"'):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return text
    return text


def _roots(storage: Storage, project: str, f: HardExampleFilter, tr: TimeRange, ids: list[str]) -> list[dict[str, Any]]:
    p = Params(project)
    conds = [
        PROJECT,
        span_time(p, tr.start_us, tr.end_us),
        IS_ROOT,
        f"trace_id IN {p.bind(ids, 'Array(String)')}",
        f"attributes[{p.bind(ATTR_EVAL_RUN_ID, 'String')}] = ''",
        in_values(p, "service", f.service),
        in_values(p, "environment", f.environment),
    ]
    return storage.query_dicts(
        "SELECT trace_id, span_id, name, service, environment, status, "
        f"toUnixTimestamp64Micro(start_time) AS start_us, input, output FROM {storage.table('spans')} "
        f"WHERE {and_all(conds)} ORDER BY start_time DESC, trace_id LIMIT 1 BY trace_id LIMIT {f.limit}",
        p.values,
    )


def _generations(storage: Storage, project: str, roots: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last LLM call (a generation with output) of each trace."""
    if not roots:
        return {}
    p = Params(project)
    lo = min(int(r["start_us"]) for r in roots) - SKEW_US
    hi = max(int(r["start_us"]) for r in roots) + TRACE_SLACK_US
    rows = storage.query_dicts(
        f"SELECT trace_id, span_id, input, output FROM {storage.table('spans')} WHERE {PROJECT} "
        f"AND {span_time(p, lo, hi)} AND trace_id IN {p.bind([r['trace_id'] for r in roots], 'Array(String)')} "
        "AND kind = 'generation' AND output != '' ORDER BY start_time DESC LIMIT 1 BY trace_id",
        p.values,
    )
    return {r["trace_id"]: r for r in rows}


def hard_examples(
    storage: Storage, project: str, f: HardExampleFilter, tr: TimeRange, dataset: str | None = None
) -> list[HardExample]:
    """Hard traces newest first, at most `f.limit`."""
    cap = max(MIN_CANDIDATES, 5 * f.limit)
    why = _span_reasons(storage, project, f, tr, cap)
    for tid, w in _score_reasons(storage, project, f, tr, cap).items():
        into = why.setdefault(tid, _Why())
        into.reasons += [x for x in w.reasons if x not in into.reasons]
        into.details += [x for x in w.details if x not in into.details]
    if not why:
        return []
    roots = _roots(storage, project, f, tr, list(why))
    gens = _generations(storage, project, roots) if f.span == "generation" else {}
    scores = score_means(storage, Params(project), [r["trace_id"] for r in roots])
    present = existing_item_ids(storage, project, dataset) if dataset else set()
    out = []
    for r in roots:
        src = gens.get(r["trace_id"], r)
        value = _parse(src["input"])
        iid = item_id_of(value)
        w = why[r["trace_id"]]
        out.append(
            HardExample(
                trace_id=r["trace_id"],
                span_id=src["span_id"],
                name=r["name"],
                service=r["service"],
                environment=r["environment"],
                start_time=from_us(int(r["start_us"])),
                status=r["status"],
                reasons=[x for x in f.reasons if x in w.reasons],
                details=w.details,
                scores=scores.get(r["trace_id"], {}),
                input=value,
                output=_parse(src["output"]),
                item_id=iid,
                in_dataset=(iid in present) if dataset else None,
            )
        )
    return out


def as_item(h: HardExample, copy_output_as_expected: bool = False) -> DatasetItemIn:
    """The dataset item a hard example becomes; why it was hard goes into the metadata."""
    return DatasetItemIn(
        input=h.input,
        expected_output=h.output if copy_output_as_expected else None,
        metadata={"reasons": list(h.reasons), "details": list(h.details), "trace_name": h.name, "service": h.service},
        tags=["hard-example", *h.reasons],
        source_trace_id=h.trace_id,
        source_span_id=h.span_id,
    )


def has_input(h: HardExample) -> bool:
    """Traces that recorded no input cannot become items."""
    return h.input not in (None, "", [], {}) and not (isinstance(h.input, str) and not h.input.strip())
