"""Generation spans that wrap other generation spans: count the real calls once.

An `@observe(kind="generation")` function around an instrumented client, a structured-output loop
or a fallback chain all produce a generation span whose children are the actual model calls. If
both levels counted as LLM calls, and both carried token usage, calls, tokens and cost would be
counted twice. Children end, and so are exported, before their parents, so remembering which spans
have generation children (across batches) tells a wrapper when it arrives:

- a fallback wrapper (`fallback_attempts` > 0) stays the logical call, its attempts are not;
- any other wrapper is not a logical call: its children are;
- a wrapper's own token and cost figures move to attributes (`spanscope.wrapper.*`), since its
  children carry the same usage.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

LLM_KINDS = frozenset({"generation", "embedding"})
USAGE_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
)


class WrapperTracker:
    def __init__(self, capacity: int = 500_000) -> None:
        self.capacity = capacity
        self._parents: OrderedDict[tuple[str, str], None] = OrderedDict()

    def mark(self, rows: list[dict[str, Any]]) -> None:
        parents = self._parents
        for row in rows:
            if row.get("kind") in LLM_KINDS and row.get("parent_span_id"):
                parents[(row["trace_id"], row["parent_span_id"])] = None
        while len(parents) > self.capacity:
            parents.popitem(last=False)
        for row in rows:
            if row.get("kind") in LLM_KINDS and (row["trace_id"], row["span_id"]) in parents:
                _as_wrapper(row)


def _as_wrapper(row: dict[str, Any]) -> None:
    if not row.get("fallback_attempts"):
        row["is_llm_call"] = 0
    moved = {c: row.pop(c) for c in USAGE_COLUMNS if row.get(c)}
    if "cost_usd" in moved:
        row.pop("cost_source", None)
    if moved:
        attrs = row.setdefault("attributes", {})
        for column, value in moved.items():
            attrs[f"spanscope.wrapper.{column}"] = str(value)
