"""Message content from every convention into one canonical shape.

Canonical message (the OpenAI chat shape, so a stored input can be replayed as it is)::

    {"role": "user", "content": "text parts joined with newlines"}
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{...}"}}]}
    {"role": "tool", "content": "result", "tool_call_id": "call_1"}

Optional keys appear only when present: `tool_calls`, `tool_call_id`, `name`, `reasoning` (text of
reasoning parts) and `attachments` (non-text parts without their data:
`[{"type": "image", "mime_type": ..., "uri": ...}]`). Roles are lower case; `human` becomes
`user`, `ai`/`model`/`bot` become `assistant`, `function` becomes `tool`.

`input` of a generation is the compact JSON array of its input messages; `output` is the text of
the first output message when it is plain text, otherwise the JSON array of the output messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from spanscope.schemas import attributes as A

from .canon import loads_maybe, to_text

Msg = dict[str, Any]

_ROLE_ALIASES = {
    "human": "user",
    "ai": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "function": "tool",
    "chatbot": "assistant",
}
_PLAIN_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
_TEXT_TYPES = frozenset({"text", "input_text", "output_text"})
_ATTACHMENT_KEYS = ("type", "modality", "mime_type", "uri", "file_id", "url")


def role_of(v: Any, default: str) -> str:
    if type(v) is not str or not v:
        return default
    r = v.lower()
    return _ROLE_ALIASES.get(r, r)


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if arguments is None:
        args = ""
    elif type(arguments) is str:
        args = arguments
    else:
        args = to_text(arguments)
    return {
        "id": "" if call_id is None else str(call_id),
        "type": "function",
        "function": {"name": "" if name is None else str(name), "arguments": args},
    }


def make(
    role: str,
    content: str,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: Any = None,
    name: Any = None,
    reasoning: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Msg:
    m: Msg = {"role": role, "content": content}
    if tool_calls:
        m["tool_calls"] = tool_calls
    if tool_call_id:
        m["tool_call_id"] = str(tool_call_id)
    if name:
        m["name"] = str(name)
    if reasoning:
        m["reasoning"] = reasoning
    if attachments:
        m["attachments"] = attachments
    return m


def _attachment(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: p[k] for k in _ATTACHMENT_KEYS if k in p and isinstance(p[k], str | int | float)}
    iu = p.get("image_url")
    if isinstance(iu, dict) and isinstance(iu.get("url"), str) and not iu["url"].startswith("data:"):
        out["uri"] = iu["url"]
    if isinstance(out.get("url"), str) and out["url"].startswith("data:"):
        del out["url"]
    return out


class _Parts:
    """Accumulates the parts of one message."""

    __slots__ = ("attachments", "calls", "reasoning", "texts", "tool_call_id")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.reasoning: list[str] = []
        self.attachments: list[dict[str, Any]] = []
        self.tool_call_id: Any = None

    def add_content(self, content: Any) -> None:
        """A content value: a string, a list of parts (any convention) or one part."""
        if content is None:
            return
        if type(content) is str:
            self.texts.append(content)
        elif isinstance(content, list):
            for p in content:
                self.add_part(p)
        elif isinstance(content, dict):
            self.add_part(content)
        else:
            self.texts.append(to_text(content))

    def add_part(self, p: Any) -> None:
        if type(p) is str:
            self.texts.append(p)
            return
        if not isinstance(p, dict):
            if p is not None:
                self.texts.append(to_text(p))
            return
        t = p.get("type")
        if t is None or (type(t) is str and t in _TEXT_TYPES):
            text = p.get("content", p.get("text"))
            if text is not None:
                self.texts.append(text if type(text) is str else to_text(text))
        elif t == "tool_call" or t == "function_call":
            self.calls.append(tool_call(p.get("id"), p.get("name"), p.get("arguments")))
        elif t == "tool_use":  # Anthropic content block
            self.calls.append(tool_call(p.get("id"), p.get("name"), p.get("input")))
        elif t == "tool_call_response":
            self.tool_call_id = p.get("id")
            self.add_content(p.get("response", p.get("result")))
        elif t == "tool_result":  # Anthropic content block
            self.tool_call_id = p.get("tool_use_id")
            self.add_content(p.get("content"))
        elif t == "reasoning" or t == "thinking":
            r = p.get("content", p.get("thinking", p.get("text")))
            if r:
                self.reasoning.append(r if type(r) is str else to_text(r))
        else:
            self.attachments.append(_attachment(p))

    def message(self, role: str, name: Any = None, tool_call_id: Any = None) -> Msg:
        return make(
            role,
            "\n".join(self.texts),
            self.calls or None,
            tool_call_id or self.tool_call_id,
            name,
            "\n".join(self.reasoning) if self.reasoning else None,
            self.attachments or None,
        )


def from_message(m: Any, default_role: str) -> tuple[Msg, str | None]:
    """One message of any dict convention (OTel `parts`, OpenAI, Anthropic) or a plain string,
    and its finish reason when it carries one."""
    if type(m) is not dict:
        if isinstance(m, dict):
            m = dict(m)
        else:
            return make(default_role, m if type(m) is str else to_text(m)), None
    parts = m.get("parts")
    if type(parts) is list:
        # fast path: OTel messages whose parts are all text
        texts = []
        for p in parts:
            if type(p) is dict and p.get("type") == "text":
                c = p.get("content")
                if type(c) is str:
                    texts.append(c)
                    continue
            break
        else:
            role = m.get("role")
            msg: Msg = {
                "role": role if type(role) is str and role in _PLAIN_ROLES else role_of(role, default_role),
                "content": texts[0] if len(texts) == 1 else "\n".join(texts),
            }
            name = m.get("name")
            if name:
                msg["name"] = str(name)
            fr = m.get("finish_reason")
            return msg, (fr if type(fr) is str and fr else None)
    else:
        content = m.get("content")
        if type(content) is str and len(m) <= 2 and ("role" in m or len(m) == 1):
            role = m.get("role")
            return {
                "role": role if type(role) is str and role in _PLAIN_ROLES else role_of(role, default_role),
                "content": content,
            }, None
    acc = _Parts()
    if isinstance(parts, list):
        for p in parts:
            acc.add_part(p)
    else:
        acc.add_content(m.get("content", m.get("text")))
        calls = m.get("tool_calls")
        if isinstance(calls, str):
            calls = loads_maybe(calls)
        if isinstance(calls, list):
            for c in calls:
                if isinstance(c, dict):
                    fn = c.get("function")
                    if isinstance(fn, dict):
                        acc.calls.append(tool_call(c.get("id"), fn.get("name"), fn.get("arguments")))
                    else:
                        acc.calls.append(tool_call(c.get("id"), c.get("name"), c.get("arguments")))
        fc = m.get("function_call")
        if isinstance(fc, dict):
            acc.calls.append(tool_call(None, fc.get("name"), fc.get("arguments")))
    role = role_of(m.get("role"), default_role)
    fr = m.get("finish_reason")
    msg = acc.message(role, m.get("name"), m.get("tool_call_id"))
    return msg, (fr if type(fr) is str and fr else None)


def from_list(value: Any, default_role: str) -> tuple[list[Msg], list[str]]:
    """Messages from a JSON string or a structured value: a list of messages, one message, or text.
    Returns the messages and the finish reasons they carry."""
    v = loads_maybe(value)
    out: list[Msg] = []
    reasons: list[str] = []
    if isinstance(v, dict):  # one message, or a request body with "messages"
        v = v["messages"] if isinstance(v.get("messages"), list) else [v]
    if isinstance(v, list):
        for m in v:
            msg, fr = from_message(m, default_role)
            out.append(msg)
            if fr:
                reasons.append(fr)
    elif v is not None and v != "":
        out.append(make(default_role, v if type(v) is str else to_text(v)))
    return out, reasons


def system_from_instructions(value: Any) -> Msg | None:
    """`gen_ai.system_instructions` (a list of parts, JSON or structured, or plain text)."""
    v = loads_maybe(value)
    if v is None or v == "":
        return None
    acc = _Parts()
    acc.add_content(v)
    return acc.message("system")


def from_role_text(text: str, default_role: str) -> list[Msg]:
    """OpenLIT's `gen_ai.content.prompt`: JSON messages, or lines `role: content`."""
    v = loads_maybe(text)
    if not isinstance(v, str):
        return from_list(v, default_role)[0]
    out: list[Msg] = []
    known = ("system", "user", "assistant", "tool", "developer", "human", "ai")
    for line in text.split("\n"):
        role, sep, rest = line.partition(": ")
        if sep and role.lower() in known:
            out.append(make(role_of(role, default_role), rest))
        elif out:
            out[-1]["content"] += "\n" + line
        else:
            return [make(default_role, text)]
    return out


# --- indexed, flattened conventions ----------------------------------------------------------------


IndexedKeys = tuple[tuple[str, int, str], ...]


def parse_indexed(prefix: str, keys: Iterable[str]) -> IndexedKeys:
    """`(key, index, field)` for the `<prefix><index>.<field>` keys among `keys` (others skipped:
    gen_ai.prompt.name is not a message)."""
    plen = len(prefix)
    out = []
    for k in keys:
        if not k.startswith(prefix):
            continue
        idx, dot, field = k[plen:].partition(".")
        if dot and idx.isdigit() and field:
            out.append((k, int(idx), field))
    return tuple(out)


def take_parsed(rest: dict[str, Any], parsed: IndexedKeys) -> dict[int, dict[str, Any]]:
    """Pops the parsed keys: {index: {field: value}}."""
    found: dict[int, dict[str, Any]] = {}
    pop = rest.pop
    for k, idx, field in parsed:
        if k in rest:
            d = found.get(idx)
            if d is None:
                d = found[idx] = {}
            d[field] = pop(k)
    return found


def take_indexed(rest: dict[str, Any], prefix: str, keys: Iterable[str] | None = None) -> dict[int, dict[str, Any]]:
    """Pops `<prefix><i>.<field>` keys (among `keys`, default: all of `rest`): {i: {field: value}}."""
    return take_parsed(rest, parse_indexed(prefix, list(rest) if keys is None else keys))


def _sub_indexed(fields: dict[str, Any], prefix: str) -> dict[int, dict[str, Any]]:
    plen = len(prefix)
    out: dict[int, dict[str, Any]] = {}
    for k, v in fields.items():
        if k.startswith(prefix):
            idx, dot, field = k[plen:].partition(".")
            if dot and idx.isdigit():
                out.setdefault(int(idx), {})[field] = v
    return out


def from_openinference(found: dict[int, dict[str, Any]], default_role: str) -> list[Msg]:
    """`llm.input_messages.<i>.message.{role,content,name,tool_call_id,contents.<k>...,tool_calls.<k>...}`."""
    out: list[Msg] = []
    for i in sorted(found):
        f = found[i]
        content = f.get("message.content")
        if len(f) <= 2 and type(content) is str and not _looks_like_parts(content):
            role = f.get("message.role")
            if len(f) == 1 or role is not None:  # fast path: role + text
                out.append(
                    {
                        "role": role if type(role) is str and role in _PLAIN_ROLES else role_of(role, default_role),
                        "content": content,
                    }
                )
                continue
        acc = _Parts()
        if content is not None:
            acc.add_content(loads_maybe(content) if _looks_like_parts(content) else content)
        if len(f) > 2:
            contents = _sub_indexed(f, "message.contents.")
            for k in sorted(contents):
                c = contents[k]
                ctype = c.get("message_content.type", "text")
                if ctype == "text":
                    text = c.get("message_content.text")
                    if text is not None:
                        acc.texts.append(to_text(text))
                else:
                    url = c.get("message_content.image.image.url")
                    att: dict[str, Any] = {"type": str(ctype)}
                    if type(url) is str and not url.startswith("data:"):
                        att["uri"] = url
                    acc.attachments.append(att)
            calls = _sub_indexed(f, "message.tool_calls.")
            for k in sorted(calls):
                c = calls[k]
                acc.calls.append(
                    tool_call(
                        c.get("tool_call.id"),
                        c.get("tool_call.function.name"),
                        c.get("tool_call.function.arguments"),
                    )
                )
        out.append(
            acc.message(
                role_of(f.get("message.role"), default_role),
                f.get("message.name"),
                f.get("message.tool_call_id"),
            )
        )
    return out


def _looks_like_parts(v: Any) -> bool:
    return type(v) is str and v[:2] == "[{" and v[-1:] == "]"


def from_legacy_indexed(found: dict[int, dict[str, Any]], default_role: str) -> tuple[list[Msg], list[str]]:
    """`gen_ai.prompt.<i>.{role,content,tool_call_id,tool_calls.<k>.{id,name,arguments}}` and
    `gen_ai.completion.<i>.{...,finish_reason}` (OpenLLMetry before gen_ai.input.messages)."""
    out: list[Msg] = []
    reasons: list[str] = []
    for i in sorted(found):
        f = found[i]
        acc = _Parts()
        content = f.get("content")
        if content is not None:
            acc.add_content(loads_maybe(content) if _looks_like_parts(content) else content)
        if len(f) > 2:
            calls = _sub_indexed(f, "tool_calls.")
            for k in sorted(calls):
                c = calls[k]
                acc.calls.append(tool_call(c.get("id"), c.get("name"), c.get("arguments")))
            if "function_call.name" in f:
                acc.calls.append(tool_call(None, f.get("function_call.name"), f.get("function_call.arguments")))
        fr = f.get("finish_reason")
        if type(fr) is str and fr:
            reasons.append(fr)
        out.append(acc.message(role_of(f.get("role"), default_role), f.get("name"), f.get("tool_call_id")))
    return out, reasons


def from_texts(found: dict[int, dict[str, Any]], field: str, role: str) -> list[Msg]:
    """`llm.prompts.<i>.prompt.text` / `llm.choices.<i>.completion.text`."""
    return [make(role, to_text(found[i].get(field, ""))) for i in sorted(found) if field in found[i]]


# --- events (span events and log records) ----------------------------------------------------------

_EVENT_ROLES = {
    A.GEN_AI_EVENT_SYSTEM_MESSAGE: "system",
    A.GEN_AI_EVENT_USER_MESSAGE: "user",
    A.GEN_AI_EVENT_ASSISTANT_MESSAGE: "assistant",
    A.GEN_AI_EVENT_TOOL_MESSAGE: "tool",
}
CONTENT_EVENTS = frozenset(
    {
        *_EVENT_ROLES,
        A.GEN_AI_EVENT_CHOICE,
        A.GEN_AI_EVENT_OPERATION_DETAILS,
        A.GEN_AI_EVENT_CONTENT_PROMPT,
        A.GEN_AI_EVENT_CONTENT_COMPLETION,
    }
)


class EventContent:
    """Messages collected from content events, in the order they were added."""

    __slots__ = ("choices", "input", "output", "reasons")

    def __init__(self) -> None:
        self.input: list[Msg] = []
        self.output: list[Msg] = []
        self.choices: list[tuple[int, Msg, str | None]] = []
        self.reasons: list[str] = []

    def add(self, name: str, payload: Any, attributes: dict[str, Any] | None = None) -> bool:
        """Adds one event (`payload`: a log body or the event's attributes). False when the event
        carries no content we understand."""
        role = _EVENT_ROLES.get(name)
        if type(payload) is str:
            payload = loads_maybe(payload)
        if isinstance(payload, dict) and A.GEN_AI_EVENT_CONTENT in payload:
            inner = loads_maybe(payload[A.GEN_AI_EVENT_CONTENT])
            payload = inner if isinstance(inner, dict) else {"content": inner}
        if role is not None:
            if not isinstance(payload, dict):
                payload = {"content": payload}
            msg, _ = from_message(payload, role)
            if role == "tool" and "tool_call_id" not in msg and payload.get("id"):
                msg["tool_call_id"] = str(payload["id"])
            self.input.append(msg)
            return True
        if name == A.GEN_AI_EVENT_CHOICE:
            if not isinstance(payload, dict):
                payload = {"message": {"content": payload}}
            m = payload.get("message")
            if type(m) is str:
                m = loads_maybe(m)
            if not isinstance(m, dict):
                m = {"content": m} if m is not None else {}
            if "tool_calls" in payload and "tool_calls" not in m:
                m = {**m, "tool_calls": payload["tool_calls"]}
            msg, _ = from_message(m, "assistant")
            idx = payload.get("index", len(self.choices))
            fr = payload.get("finish_reason")
            self.choices.append((idx if type(idx) is int else 0, msg, fr if type(fr) is str and fr else None))
            return True
        if name == A.GEN_AI_EVENT_OPERATION_DETAILS:
            src = dict(payload) if isinstance(payload, dict) else {}
            if attributes:
                src.update(attributes)
            found = False
            sysmsg = src.get(A.GEN_AI_SYSTEM_INSTRUCTIONS)
            if sysmsg is not None:
                sm = system_from_instructions(sysmsg)
                if sm:
                    self.input.append(sm)
                    found = True
            if src.get(A.GEN_AI_INPUT_MESSAGES) is not None:
                self.input.extend(from_list(src[A.GEN_AI_INPUT_MESSAGES], "user")[0])
                found = True
            if src.get(A.GEN_AI_OUTPUT_MESSAGES) is not None:
                msgs, reasons = from_list(src[A.GEN_AI_OUTPUT_MESSAGES], "assistant")
                self.output.extend(msgs)
                self.reasons.extend(reasons)
                found = True
            return found
        if name == A.GEN_AI_EVENT_CONTENT_PROMPT:
            src = payload if isinstance(payload, dict) else {A.GEN_AI_EVENT_PROMPT_ATTRIBUTE: payload}
            v = src.get(A.GEN_AI_EVENT_PROMPT_ATTRIBUTE)
            if v is None:
                return False
            self.input.extend(from_role_text(v, "user") if type(v) is str else from_list(v, "user")[0])
            return True
        if name == A.GEN_AI_EVENT_CONTENT_COMPLETION:
            src = payload if isinstance(payload, dict) else {A.GEN_AI_EVENT_COMPLETION_ATTRIBUTE: payload}
            v = src.get(A.GEN_AI_EVENT_COMPLETION_ATTRIBUTE)
            if v is None:
                return False
            msgs, reasons = from_list(v, "assistant")
            self.output.extend(msgs)
            self.reasons.extend(reasons)
            return True
        return False

    def finish(self) -> tuple[list[Msg], list[Msg], list[str]]:
        """Input messages, output messages (choices by index) and finish reasons."""
        out = list(self.output)
        reasons = list(self.reasons)
        if self.choices:
            for _, msg, fr in sorted(self.choices, key=lambda c: c[0]):
                out.append(msg)
                if fr:
                    reasons.append(fr)
        return self.input, out, reasons


# --- rendering -------------------------------------------------------------------------------------


def render_input(msgs: list[Msg]) -> str:
    return orjson.dumps(msgs).decode()


def render_output(msgs: list[Msg]) -> str:
    """The first message's text when it is plain text, else the JSON of all output messages."""
    first = msgs[0]
    if "tool_calls" not in first and "attachments" not in first and "reasoning" not in first:
        return str(first["content"])
    return orjson.dumps(msgs).decode()
