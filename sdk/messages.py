"""Conversions into the OTel GenAI content shapes.

Messages: `[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]` as in the current
OTel GenAI spec (`gen_ai.input.messages` / `gen_ai.output.messages`). Accepted inputs: a string,
OpenAI-style dicts (`content` string or list of parts, `tool_calls`, `role="tool"`), messages that
already have `parts`, and objects with `model_dump()`.

Documents (`gen_ai.retrieval.documents`): `[{"id": ..., "score": ..., "content": ...}]` from strings,
dicts (`content`/`page_content`/`text`, `id` or `metadata.id`, `score`), objects with those
attributes (e.g. LangChain `Document`) and `(document, score)` pairs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any


def _as_mapping(obj: Any) -> Mapping[str, Any] | None:
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump()
        except Exception:
            return None
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _text_part(text: Any) -> dict[str, Any]:
    return {"type": "text", "content": text if isinstance(text, str) else str(text)}


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text_part(content)]
    if isinstance(content, Sequence):
        parts: list[dict[str, Any]] = []
        for part in content:
            if isinstance(part, str):
                parts.append(_text_part(part))
                continue
            mapping = _as_mapping(part)
            if mapping is None:
                parts.append(_text_part(part))
            elif mapping.get("type") in ("text", "input_text", "output_text") or (
                "type" not in mapping and "text" in mapping
            ):
                parts.append(_text_part(mapping.get("text", mapping.get("content", ""))))
            else:
                parts.append(dict(mapping))
        return parts
    return [_text_part(content)]


def _message(message: Any, default_role: str) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": default_role, "parts": [_text_part(message)]}
    mapping = _as_mapping(message)
    if mapping is None:
        return {"role": default_role, "parts": [_text_part(message)]}
    if "parts" in mapping:
        return dict(mapping)
    role = str(mapping.get("role") or default_role)
    if role == "tool":
        parts: list[dict[str, Any]] = [
            {
                "type": "tool_call_response",
                "id": mapping.get("tool_call_id"),
                "response": mapping.get("content"),
            }
        ]
    else:
        parts = _content_parts(mapping.get("content"))
    for call in mapping.get("tool_calls") or ():
        call_map = _as_mapping(call) or {}
        function = _as_mapping(call_map.get("function")) or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call_map.get("id"),
                "name": function.get("name", call_map.get("name")),
                "arguments": function.get("arguments", call_map.get("arguments")),
            }
        )
    out: dict[str, Any] = {"role": role, "parts": parts}
    if mapping.get("name"):
        out["name"] = mapping["name"]
    if mapping.get("finish_reason"):
        out["finish_reason"] = mapping["finish_reason"]
    return out


def to_input_messages(messages: Any) -> list[dict[str, Any]]:
    """`gen_ai.input.messages` shape of a prompt string, one message or a list of messages."""
    if isinstance(messages, str) or _as_mapping(messages) is not None:
        return [_message(messages, "user")]
    if isinstance(messages, Sequence):
        return [_message(message, "user") for message in messages]
    return [_message(messages, "user")]


def to_output_messages(output: Any, finish_reason: str | None = None) -> list[dict[str, Any]]:
    """`gen_ai.output.messages` shape of a completion string or assistant message(s)."""
    if isinstance(output, str) or _as_mapping(output) is not None:
        messages = [_message(output, "assistant")]
    elif isinstance(output, Sequence):
        messages = [_message(message, "assistant") for message in output]
    else:
        messages = [_message(output, "assistant")]
    if finish_reason is not None:
        for message in messages:
            message.setdefault("finish_reason", finish_reason)
    return messages


def looks_like_messages(value: Any) -> bool:
    """A non-empty list of dicts that all have a `role`: a chat prompt."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and "role" in item for item in value)
    )


def _document(doc: Any) -> dict[str, Any]:
    score: Any = None
    if isinstance(doc, tuple) and len(doc) == 2 and isinstance(doc[1], int | float):
        doc, score = doc
    if isinstance(doc, str):
        out: dict[str, Any] = {"content": doc}
    else:
        mapping = _as_mapping(doc)
        if mapping is None:  # attribute access: LangChain Document, LlamaIndex nodes, ...
            get = getattr
            mapping = {
                name: get(doc, name)
                for name in ("id", "score", "content", "page_content", "text", "metadata")
                if get(doc, name, None) is not None
            }
        metadata = mapping.get("metadata") if isinstance(mapping.get("metadata"), Mapping) else {}
        content = mapping.get("content", mapping.get("page_content", mapping.get("text")))
        out = {}
        doc_id = mapping.get("id", metadata.get("id") if metadata else None)
        if doc_id is not None:
            out["id"] = str(doc_id)
        if mapping.get("score") is not None:
            score = mapping["score"]
        if content is not None:
            out["content"] = content if isinstance(content, str) else str(content)
        if metadata:
            out["metadata"] = dict(metadata)
    if score is not None:
        with contextlib.suppress(TypeError, ValueError):
            out["score"] = float(score)
    return out


def to_documents(docs: Any) -> list[dict[str, Any]]:
    """`gen_ai.retrieval.documents` shape: a list of {id, score, content}."""
    if docs is None:
        return []
    if isinstance(docs, str) or not isinstance(docs, Sequence):
        docs = [docs]
    return [_document(doc) for doc in docs]


def looks_like_documents(value: Any) -> bool:
    """A list whose items are strings, dicts with content, or document-like objects."""
    if not isinstance(value, list) or not value:
        return False
    first = value[0]
    if isinstance(first, tuple) and len(first) == 2:
        first = first[0]
    if isinstance(first, str):
        return True
    if isinstance(first, Mapping):
        return any(key in first for key in ("content", "page_content", "text"))
    return any(hasattr(first, key) for key in ("page_content", "content", "text"))


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def parse_completion(result: Any) -> dict[str, Any] | None:
    """Facts from a provider response object or its dict form (OpenAI chat/completions, Anthropic
    messages): output messages, usage, response model and id, finish reasons. None if unknown."""
    if result is None or isinstance(result, str | bytes | int | float | bool):
        return None
    choices = _field(result, "choices")
    messages: list[dict[str, Any]] = []
    reasons: list[str] = []
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        for choice in choices:
            message = _field(choice, "message")
            if message is None:
                message = {"role": "assistant", "content": _field(choice, "text")}
            converted = _message(message, "assistant")
            reason = _field(choice, "finish_reason")
            if reason:
                converted["finish_reason"] = str(reason)
                reasons.append(str(reason))
            messages.append(converted)
    else:
        content = _field(result, "content")
        stop_reason = _field(result, "stop_reason")
        if not (isinstance(content, Sequence) and not isinstance(content, str)) or (
            _field(result, "type") != "message" and stop_reason is None
        ):
            return None
        parts: list[dict[str, Any]] = []
        for block in content:
            block_type = _field(block, "type")
            if block_type == "text":
                parts.append(_text_part(_field(block, "text") or ""))
            elif block_type == "tool_use":
                parts.append(
                    {
                        "type": "tool_call",
                        "id": _field(block, "id"),
                        "name": _field(block, "name"),
                        "arguments": _field(block, "input"),
                    }
                )
        message_out: dict[str, Any] = {"role": str(_field(result, "role") or "assistant"), "parts": parts}
        if stop_reason:
            message_out["finish_reason"] = str(stop_reason)
            reasons.append(str(stop_reason))
        messages.append(message_out)
    facts: dict[str, Any] = {"output_messages": messages}
    for key, name in (("usage", "usage"), ("response_model", "model"), ("response_id", "id")):
        value = _field(result, name)
        if value is not None:
            facts[key] = value if key == "usage" else str(value)
    if reasons:
        facts["finish_reasons"] = reasons
    return facts
