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

from collections.abc import Sequence
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
    """Remembers the spans that have generation children, as 64-bit hashes of (trace id, span id).

    The newest `capacity`/2 to `capacity` keys are kept in two generations of sets (the older one is
    dropped when the newer fills): about 100 bytes a key, ~20 MiB at the default, where tuples of hex
    ids took three times that. A wrapper is recognised while fewer than `capacity`/2 parents of
    generations have arrived since its children; a false match of 64-bit hashes is ~1 in 10^14.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._recent: set[int] = set()
        self._older: set[int] = set()

    def __len__(self) -> int:
        return len(self._recent) + len(self._older)

    def wrappers(self, calls: Sequence[tuple[str, str, str]]) -> list[int]:
        """Positions of the wrappers among generation/embedding spans given as (trace id, span id,
        parent span id), after remembering them as parents."""
        half = max(1, self.capacity // 2)
        for trace_id, _, parent in calls:
            if parent:
                self._recent.add(hash((trace_id, parent)))
                if len(self._recent) >= half:
                    self._older, self._recent = self._recent, set()
        recent, older = self._recent, self._older
        found: list[int] = []
        for i, (trace_id, span_id, _) in enumerate(calls):
            key = hash((trace_id, span_id))
            if key in recent or key in older:
                found.append(i)
        return found


def as_wrapper(row: dict[str, Any]) -> None:
    """Makes a generation row the wrapper of the calls it contains."""
    if not row.get("fallback_attempts"):
        row["is_llm_call"] = 0
    moved = {c: row.pop(c) for c in USAGE_COLUMNS if row.get(c)}
    if "cost_usd" in moved:
        row.pop("cost_source", None)
    if moved:
        attrs = row.setdefault("attributes", {})
        for column, value in moved.items():
            attrs[f"spanscope.wrapper.{column}"] = str(value)
