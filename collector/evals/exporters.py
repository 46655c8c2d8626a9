"""Dataset versions as files other eval tools read: JSONL, a promptfoo test file, OpenAI Evals JSONL, CSV.

Item metadata steers the promptfoo assertions: `match: exact` turns the expected output into `equals`,
`contains: [...]` adds one `contains` per string, `json_schema: {...}` an `is-json` with that schema; any
other expected text becomes an `llm-rubric` against the reference answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from spanscope.schemas.datasets import DatasetItem, ExportFormat

_PROVENANCE = ("item_id", "source_trace_id", "source_span_id", "tags")


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str
    skipped: int = 0


def _text(value: Any) -> str:
    """Strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m and "content" in m for m in value)
    )


def _provenance(item: DatasetItem) -> dict[str, Any]:
    out: dict[str, Any] = {"item_id": item.item_id}
    if item.source_trace_id:
        out["source_trace_id"] = item.source_trace_id
    if item.source_span_id:
        out["source_span_id"] = item.source_span_id
    if item.tags:
        out["tags"] = list(item.tags)
    return out


def to_jsonl(items: list[DatasetItem]) -> bytes:
    lines = [
        orjson.dumps(
            {
                "item_id": i.item_id,
                "input": i.input,
                "expected_output": i.expected_output,
                "metadata": i.metadata,
                "tags": i.tags,
                "source_trace_id": i.source_trace_id,
                "source_span_id": i.source_span_id,
            }
        )
        for i in items
    ]
    return b"".join(line + b"\n" for line in lines)


def _vars(value: Any) -> dict[str, Any]:
    if _is_messages(value):
        users = [m["content"] for m in value if m.get("role") == "user"]
        return {"input": _text(users[-1]) if users else "", "messages": value}
    if isinstance(value, dict) and value and all(isinstance(k, str) and k.isidentifier() for k in value):
        return dict(value)
    return {"input": _text(value)}


def _asserts(item: DatasetItem) -> list[dict[str, Any]]:
    meta = item.metadata
    out: list[dict[str, Any]] = []
    expected = item.expected_output
    schema = meta.get("json_schema")
    if isinstance(schema, dict):
        out.append({"type": "is-json", "value": schema})
    elif isinstance(expected, dict | list):
        out.append({"type": "is-json"})
    contains = meta.get("contains")
    if isinstance(contains, list):
        out.extend({"type": "contains", "value": str(c)} for c in contains if str(c))
    if expected is None or expected == "":
        return out
    if isinstance(expected, dict | list) or meta.get("match") == "exact":
        out.append({"type": "equals", "value": _text(expected)})
    else:
        out.append(
            {
                "type": "llm-rubric",
                "value": f"The output gives the same answer as this reference answer: {_text(expected)}",
            }
        )
    return out


def _promptfoo_case(item: DatasetItem) -> dict[str, Any]:
    case: dict[str, Any] = {"description": f"{item.item_id}: {_text(item.input)[:80]}", "vars": _vars(item.input)}
    asserts = _asserts(item)
    if asserts:
        case["assert"] = asserts
    metadata = {k: v for k, v in item.metadata.items() if k not in ("contains", "json_schema", "match")}
    metadata.update(_provenance(item))
    case["metadata"] = metadata
    return case


def to_promptfoo(items: list[DatasetItem]) -> bytes:
    """A list of promptfoo test cases in YAML (`tests: file://this.yaml` in promptfooconfig.yaml)."""
    cases = [_promptfoo_case(i) for i in items]
    return yaml.safe_dump(cases, sort_keys=False, allow_unicode=True, width=120).encode()


def _messages(value: Any) -> list[dict[str, str]]:
    if _is_messages(value):
        return [{"role": str(m["role"]), "content": _text(m["content"])} for m in value]
    return [{"role": "user", "content": _text(value)}]


def to_openai_evals(items: list[DatasetItem]) -> tuple[bytes, int]:
    """`{"input": [messages], "ideal": "..."}` lines; items without expected output are left out."""
    lines = []
    skipped = 0
    for i in items:
        if i.expected_output is None or i.expected_output == "":
            skipped += 1
            continue
        lines.append(orjson.dumps({"input": _messages(i.input), "ideal": _text(i.expected_output)}) + b"\n")
    return b"".join(lines), skipped


def to_csv(items: list[DatasetItem]) -> bytes:
    """input, expected_output, then one metadata_<key> column per metadata key and provenance field."""
    keys: list[str] = []
    rows: list[dict[str, str]] = []
    for i in items:
        meta = {**i.metadata, **_provenance(i)}
        row = {
            "input": _text(i.input),
            "expected_output": "" if i.expected_output is None else _text(i.expected_output),
        }
        for k, v in meta.items():
            col = f"metadata_{k}"
            if col not in keys:
                keys.append(col)
            row[col] = _text(v)
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["input", "expected_output", *keys], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def _jsonl(items: list[DatasetItem]) -> tuple[bytes, int]:
    return to_jsonl(items), 0


def _promptfoo(items: list[DatasetItem]) -> tuple[bytes, int]:
    return to_promptfoo(items), 0


def _csv(items: list[DatasetItem]) -> tuple[bytes, int]:
    return to_csv(items), 0


_FORMATS: dict[str, tuple[Callable[[list[DatasetItem]], tuple[bytes, int]], str, str]] = {
    "jsonl": (_jsonl, "application/x-ndjson", "jsonl"),
    "promptfoo": (_promptfoo, "application/yaml", "promptfoo.yaml"),
    "openai_evals": (to_openai_evals, "application/x-ndjson", "openai-evals.jsonl"),
    "csv": (_csv, "text/csv; charset=utf-8", "csv"),
}


def export(fmt: ExportFormat, name: str, version: int, items: list[DatasetItem]) -> Export:
    write, media_type, suffix = _FORMATS[fmt]
    content, skipped = write(items)
    return Export(content, media_type, f"{name}-v{version}.{suffix}", skipped)
