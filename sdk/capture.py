"""Turn arbitrary Python values into bounded strings for span attributes.

The fast path hands plain values to the C JSON encoder. Anything it cannot handle (cycles, exotic
types, very large containers) goes through `_sanitize`, a bounded walk that never raises and never
recurses without limit. Every result is cut at `max_chars` with `SS_TRUNCATED_SUFFIX` appended.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import inspect
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from spanscope.schemas.attributes import SS_TRUNCATED_SUFFIX

JSON_MIME = "application/json"
TEXT_MIME = "text/plain"
DEFAULT_MAX_CHARS = 16_000
MAX_DEPTH = 10
MAX_ITEMS = 500
_REPR_CHARS = 1_000

_SCALARS = (str, int, float, bool, type(None))
_CONTAINERS = (dict, list, tuple)


def truncate(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars` characters, with the truncation marker when something was cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars)] + SS_TRUNCATED_SUFFIX


def _short_repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__} (repr failed)>"
    return truncate(text, _REPR_CHARS)


def _convert(obj: Any) -> Any:
    """One step towards JSON for a value the encoder does not know. Never raises."""
    try:
        cls = type(obj)
        if hasattr(cls, "model_dump"):  # pydantic v2 models
            return obj.model_dump(mode="json")
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
        if isinstance(obj, enum.Enum):
            return obj.value
        if isinstance(obj, _dt.datetime | _dt.date | _dt.time):
            return obj.isoformat()
        if isinstance(obj, bytes | bytearray | memoryview):
            return f"<{len(obj)} bytes>"
        if isinstance(obj, set | frozenset):
            return [item for _, item in zip(range(MAX_ITEMS + 1), obj, strict=False)]
        if isinstance(obj, Mapping):
            return {key: value for _, (key, value) in zip(range(MAX_ITEMS + 1), obj.items(), strict=False)}
        if hasattr(cls, "dict") and hasattr(cls, "__fields__"):  # pydantic v1 models
            return obj.dict()
        if inspect.isgenerator(obj) or inspect.isasyncgen(obj) or inspect.iscoroutine(obj):
            return f"<{cls.__qualname__}>"
    except Exception:
        pass
    return _short_repr(obj)


def _sanitize(obj: Any, depth: int, seen: set[int]) -> Any:
    """A JSON-safe copy of `obj`: bounded depth and width, cycles replaced by a marker."""
    if isinstance(obj, str):
        return truncate(obj, DEFAULT_MAX_CHARS) if len(obj) > DEFAULT_MAX_CHARS else obj
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # NaN and infinities are not JSON
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if depth >= MAX_DEPTH:
        return "<max depth>"
    ident = id(obj)
    if ident in seen:
        return "<cycle>"
    if isinstance(obj, dict | list | tuple):
        seen.add(ident)
        try:
            if isinstance(obj, dict):
                out: dict[str, Any] = {}
                for count, (key, value) in enumerate(obj.items()):
                    if count >= MAX_ITEMS:
                        out[SS_TRUNCATED_SUFFIX] = f"{len(obj) - MAX_ITEMS} more items"
                        break
                    name = key if isinstance(key, str) else _short_repr(key)
                    out[name] = _sanitize(value, depth + 1, seen)
                return out
            items = [_sanitize(item, depth + 1, seen) for item in obj[:MAX_ITEMS]]
            if len(obj) > MAX_ITEMS:
                items.append(f"{SS_TRUNCATED_SUFFIX} {len(obj) - MAX_ITEMS} more items")
            return items
        finally:
            seen.discard(ident)
    converted = _convert(obj)
    if converted is obj:
        return _short_repr(obj)
    seen.add(ident)
    try:
        return _sanitize(converted, depth + 1, seen)
    finally:
        seen.discard(ident)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_convert, allow_nan=False)
_encode: Callable[[Any], str] = _ENCODER.encode

try:  # The C encoder, built once: JSONEncoder.encode builds a new one on every call.
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
    from json.encoder import encode_basestring as _encode_basestring
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    _c_make_encoder = None

if _c_make_encoder is not None:
    # No marker dict: a cycle ends in RecursionError, which sends the value down the safe path.
    _c_encoder = _c_make_encoder(None, _convert, _encode_basestring, None, ":", ",", False, False, False)

    def _encode_fast(value: Any) -> str:
        return "".join(_c_encoder(value, 0))

    _encode = _encode_fast


def to_json(value: Any, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """JSON text of `value`, at most `max_chars` characters plus the truncation marker. Never raises."""
    try:
        if type(value) in _CONTAINERS and len(value) > MAX_ITEMS:
            text = _encode(_sanitize(value, 0, set()))
        else:
            text = _encode(value)
    except Exception:
        try:
            text = _encode(_sanitize(value, 0, set()))
        except Exception:
            text = json.dumps(_short_repr(value), ensure_ascii=False)
    return truncate(text, max_chars) if len(text) > max_chars else text


def serialize(value: Any, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, str]:
    """(text, mime type): strings as text/plain, everything else as JSON. Never raises."""
    if type(value) is str:
        return (truncate(value, max_chars) if len(value) > max_chars else value), TEXT_MIME
    return to_json(value, max_chars), JSON_MIME


class ArgBinder:
    """Maps a call's positional and keyword arguments to parameter names, prepared once per function.

    `self`/`cls` are left out; extra positional arguments go under the *args name; string arguments
    longer than the limit are cut before encoding so a huge document costs no more than its limit.
    """

    __slots__ = ("_names", "_skip", "_varargs")

    def __init__(self, fn: Callable[..., Any]) -> None:
        names: list[str] = []
        varargs = "args"
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            params = None
        if params is not None:
            for param in params:
                if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                    names.append(param.name)
                elif param.kind is param.VAR_POSITIONAL:
                    varargs = param.name
        self._names = tuple(names)
        self._skip = names[0] if names and names[0] in ("self", "cls") else None
        self._varargs = varargs

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any], max_chars: int) -> dict[str, Any]:
        names = self._names
        bound = dict(zip(names, args, strict=False))
        if len(args) > len(names):
            bound[self._varargs] = list(args[len(names) :])
        if kwargs:
            bound.update(kwargs)
        if self._skip is not None:
            bound.pop(self._skip, None)
        for key, value in bound.items():
            if type(value) is str and len(value) > max_chars:
                bound[key] = truncate(value, max_chars)
        return bound
