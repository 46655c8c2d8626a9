"""Message content that arrives as OTLP log records (GenAI events sent as logs).

The official openai-v2 instrumentation with content capture sends `gen_ai.system.message`,
`gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice` and
`gen_ai.client.inference.operation.details` as log records that carry the span's trace and span
ids. `content_from_logs` turns them into one patch per span, in the canonical shape of the span
row's `input` / `output` (messages ordered by time); `merge_content` fills a row's empty fields.
The logs and the span may arrive in either order: the pipeline keeps patches whose span has not
arrived yet (table `span_content`) and merges them when it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spanscope.collector.otlp import DecodedLog
from spanscope.schemas import attributes as A

from . import messages


@dataclass(slots=True)
class ContentPatch:
    """Content for one span: `input`/`output` as in the span row, finish reasons, and the time
    (Unix ns) of the first record."""

    input: str = ""
    output: str = ""
    finish_reasons: list[str] = field(default_factory=list)
    time_ns: int = 0


def content_from_logs(
    logs: list[DecodedLog], max_content_bytes: int | None = None
) -> dict[tuple[str, str], ContentPatch]:
    """Patches keyed by (trace_id, span_id) for the log records that carry GenAI content; other
    records are ignored. Content over `max_content_bytes` is truncated with the spanscope marker."""
    by_span: dict[tuple[str, str], list[DecodedLog]] = {}
    for log in logs:
        if log.event_name in messages.CONTENT_EVENTS and log.trace_id and log.span_id:
            by_span.setdefault((log.trace_id, log.span_id), []).append(log)
    out: dict[tuple[str, str], ContentPatch] = {}
    for key, records in by_span.items():
        records.sort(key=lambda r: r.time_ns)
        acc = messages.EventContent()
        for r in records:
            acc.add(r.event_name, r.body, r.attributes)
        msgs_in, msgs_out, reasons = acc.finish()
        if not msgs_in and not msgs_out and not reasons:
            continue
        patch = ContentPatch(
            input=messages.render_input(msgs_in) if msgs_in else "",
            output=messages.render_output(msgs_out) if msgs_out else "",
            finish_reasons=reasons,
            time_ns=records[0].time_ns,
        )
        if max_content_bytes:
            patch.input = truncate(patch.input, max_content_bytes)
            patch.output = truncate(patch.output, max_content_bytes)
        out[key] = patch
    return out


def merge_content(row: dict[str, Any], patch: ContentPatch) -> None:
    """Fills the row's empty `input`, `output` and `finish_reasons` from `patch`."""
    if patch.input and not row.get("input"):
        row["input"] = patch.input
    if patch.output and not row.get("output"):
        row["output"] = patch.output
    if patch.finish_reasons and not row.get("finish_reasons"):
        row["finish_reasons"] = list(patch.finish_reasons)


def truncate(s: str, max_bytes: int) -> str:
    """`s` cut to `max_bytes` UTF-8 bytes plus the truncation marker, when longer."""
    if len(s) <= max_bytes // 4:
        return s
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= max_bytes:
        return s
    return b[:max_bytes].decode("utf-8", "ignore") + A.SS_TRUNCATED_SUFFIX
