"""Our own `spanscope.*` keys: highest priority, only for what no convention covers.

Consumed: span kind, tags, metadata (`spanscope.metadata.<k>` → attributes `metadata.<k>`), captured
input/output, fallback facts, guardrail verdict/policy/stage and structured-output validity.
`spanscope.output.schema` / `spanscope.output.error` have no column and stay in `attributes`.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from .canon import add_raw, flag, small_count, span_kind, stage, str_list, text, to_count, to_text, verdict
from .rules import Dialect, Handler, column, fact

_META_LEN = len(A.SS_METADATA_PREFIX)


def _content(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    add_raw(f, "raw_in", A.SS_INPUT, rest.pop(A.SS_INPUT, None))
    add_raw(f, "raw_out", A.SS_OUTPUT, rest.pop(A.SS_OUTPUT, None))


def _metadata(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    md = f.get("metadata")
    if md is None:
        md = f["metadata"] = {}
    for k in keys:
        if k in rest:
            md[k[_META_LEN:]] = to_text(rest.pop(k))


def _output_validity(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    if "output_valid" in row:  # a validity result means the output was validated
        row["output_validated"] = 1


DIALECT: Dialect = Dialect(
    "spanscope",
    rules=(
        fact("ss_kind", (A.SS_SPAN_KIND,), span_kind),
        column("tags", (A.SS_TAGS,), str_list),
        fact("fb_attempt", (A.SS_FALLBACK_ATTEMPT,), to_count),
        fact("fb_attempts", (A.SS_FALLBACK_ATTEMPTS,), to_count),
        fact("fb_used", (A.SS_FALLBACK_USED,), flag),
        fact("fb_degraded", (A.SS_FALLBACK_DEGRADED,), flag),
        fact("fb_requested_model", (A.SS_FALLBACK_REQUESTED_MODEL,), text),
        column("guardrail_verdict", (A.SS_GUARDRAIL_VERDICT,), verdict),
        column("guardrail_policy", (A.SS_GUARDRAIL_POLICY,), text),
        column("guardrail_stage", (A.SS_GUARDRAIL_STAGE,), stage),
        column("output_validated", (A.SS_OUTPUT_VALIDATED,), flag),
        column("output_valid", (A.SS_OUTPUT_VALID,), flag),
        column("output_attempts", (A.SS_OUTPUT_ATTEMPTS,), small_count),
    ),
    handlers=(
        Handler(_content, frozenset({A.SS_INPUT, A.SS_OUTPUT})),
        Handler(_metadata, prefixes=(A.SS_METADATA_PREFIX,)),
        Handler(_output_validity, frozenset({A.SS_OUTPUT_VALID})),
    ),
    hints={
        A.SS_GUARDRAIL_VERDICT: "guardrail",
        **dict.fromkeys(
            (A.SS_FALLBACK_ATTEMPT, A.SS_FALLBACK_ATTEMPTS, A.SS_FALLBACK_USED, A.SS_FALLBACK_DEGRADED),
            "fallback",
        ),
    },
)
