"""Fallback columns: explicit (our SDK) and inferred (third-party traces), per DESIGN.md §6.

A *logical LLM call* is counted once, in `is_llm_call`:

- explicit (our SDK's fallback helper): the wrapper span carries `spanscope.fallback.attempts`
  (attempts made), `.used` (served by an attempt other than the first) and `.degraded` (served by a
  non-LLM path); it is the logical call (`is_llm_call` = 1, whatever its kind). Each attempt span
  carries `spanscope.fallback.attempt` (1-based): `fallback_attempt` = that number and
  `is_llm_call` = 0. Any other generation span is one logical call.
- inferred, within one batch, for generation spans without explicit fallback keys: spans are
  grouped by (trace_id, parent_span_id) and walked by start time. Failed generations (status ERROR)
  that ended before a later *successful* generation started are that call's earlier attempts when
  at least one of them asked for a different model (compared on the requested model, so a dated
  response model does not look like a switch; a retry of the same model is not a fallback). Then
  the failed ones get `fallback_attempt` = 1..k and `is_llm_call` = 0, and the successful one gets
  `fallback_attempt` = k+1, `fallback_attempts` = k+1, `fallback_used` = 1 and stays the logical
  call. A success resets the chain; failures with no later success stay logical calls (failed).
  Spans of one trace that arrive in different batches are not linked.
"""

from __future__ import annotations

from typing import Any

from spanscope.collector.otlp import DecodedSpan

from .kind import GENERATION


def explicit(row: dict[str, Any], f: dict[str, Any], kind: str) -> None:
    """Sets `is_llm_call` and the fallback columns of one row from our SDK's facts."""
    attempt = f.get("fb_attempt") or 0
    attempts = f.get("fb_attempts") or 0
    if attempts:
        row["is_llm_call"] = 1
        row["fallback_attempts"] = min(attempts, 65535)
        if attempt:
            row["fallback_attempt"] = min(attempt, 65535)
    elif attempt:
        row["fallback_attempt"] = min(attempt, 65535)
    elif kind == GENERATION:
        row["is_llm_call"] = 1
    if f.get("fb_used"):
        row["fallback_used"] = 1
    if f.get("fb_degraded"):
        row["fallback_degraded"] = 1


def infer(rows: list[dict[str, Any]], spans: list[DecodedSpan]) -> None:
    """Marks inferred fallbacks among the batch's generation rows (see the module docstring)."""
    failed_groups: set[tuple[str, str]] = set()
    for row in rows:
        if row["kind"] == GENERATION and row["status"] == "ERROR" and _plain(row):
            failed_groups.add((row["trace_id"], row["parent_span_id"]))
    if not failed_groups:
        return
    groups: dict[tuple[str, str], list[tuple[int, int, dict[str, Any]]]] = {}
    for row, span in zip(rows, spans, strict=True):
        key = (row["trace_id"], row["parent_span_id"])
        if key in failed_groups and row["kind"] == GENERATION and _plain(row):
            groups.setdefault(key, []).append((span.start_ns, span.end_ns, row))
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: m[0])
        pending: list[tuple[int, int, dict[str, Any]]] = []
        for start, end, row in members:
            if row["status"] == "ERROR":
                pending.append((start, end, row))
                continue
            chain = [p for p in pending if p[1] <= start]
            pending = []
            if not chain:
                continue
            served = _requested(row)
            if all(_requested(p[2]) == served for p in chain):
                continue  # retries of the same model: not a fallback
            for i, (_, _, failed) in enumerate(chain, 1):
                failed["fallback_attempt"] = i
                failed["is_llm_call"] = 0
            n = len(chain) + 1
            row["fallback_attempt"] = n
            row["fallback_attempts"] = n
            row["fallback_used"] = 1


def _plain(row: dict[str, Any]) -> bool:
    """No explicit fallback facts on the row."""
    return not (row.get("fallback_attempt") or row.get("fallback_attempts"))


def _requested(row: dict[str, Any]) -> str:
    return str(row.get("request_model") or row.get("model") or "")
