"""OTLP trace requests read straight from the protobuf wire format.

Reading spans through the protobuf runtime's Python objects costs about 0.8 µs per attribute (a
wrapper object and a descriptor lookup per field access); this module walks the bytes once and
builds the decoder's values directly, which compiled with mypyc (setup.py) is several times
cheaper. Text is decoded field by field, so a string that is not UTF-8 rejects the span that
carries it, not the request. Fields may come in any order and repeat (messages merge, scalars:
the last wins), unknown fields are skipped, as the protobuf encoding rules say.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

VARINT = 0
I64 = 1
LEN = 2
I32 = 5
_DOUBLE = struct.Struct("<d")


class WireError(ValueError):
    """The body is not a well-formed protobuf message."""


class InvalidText(ValueError):
    """A string field is not UTF-8."""


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it."""
    result = 0
    shift = 0
    n = len(data)
    while True:
        if pos >= n:
            raise WireError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def fixed64(data: bytes, pos: int) -> int:
    if pos + 8 > len(data):
        raise WireError("truncated fixed64")
    return int.from_bytes(data[pos : pos + 8], "little")


def skip(data: bytes, pos: int, wire: int, end: int) -> int:
    """The position after a field's value of this wire type."""
    if wire == VARINT:
        return varint(data, pos)[1]
    if wire == I64:
        pos += 8
    elif wire == LEN:
        size, pos = varint(data, pos)
        pos += size
    elif wire == I32:
        pos += 4
    else:
        raise WireError(f"unsupported wire type {wire}")
    if pos > end:
        raise WireError("field runs past the end of its message")
    return pos


def field_bounds(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Start and end of a length-delimited value at `pos`."""
    size, start = varint(data, pos)
    stop = start + size
    if stop > end:
        raise WireError("length-delimited field runs past the end of its message")
    return start, stop


def text(data: bytes, start: int, stop: int) -> str:
    try:
        return data[start:stop].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidText(str(exc)) from None


def any_value(data: bytes, pos: int, end: int) -> Any:
    """An AnyValue message: str, bool, int, float, list, dict, base64 text of bytes, or None."""
    value: Any = None
    while pos < end:
        key, pos = varint(data, pos)
        num = key >> 3
        wire = key & 7
        if num == 1 and wire == LEN:
            start, pos = field_bounds(data, pos, end)
            value = text(data, start, pos)
        elif num == 3 and wire == VARINT:
            v, pos = varint(data, pos)
            value = v - (1 << 64) if v >= 1 << 63 else v
        elif num == 4 and wire == I64:
            if pos + 8 > end:
                raise WireError("truncated double")
            value = _DOUBLE.unpack_from(data, pos)[0]
            pos += 8
        elif num == 2 and wire == VARINT:
            v, pos = varint(data, pos)
            value = v != 0
        elif num == 5 and wire == LEN:
            start, pos = field_bounds(data, pos, end)
            value = array_value(data, start, pos)
        elif num == 6 and wire == LEN:
            start, pos = field_bounds(data, pos, end)
            value = key_values(data, start, pos, 1, {})
        elif num == 7 and wire == LEN:
            start, pos = field_bounds(data, pos, end)
            value = base64.b64encode(data[start:pos]).decode()
        else:
            pos = skip(data, pos, wire, end)
    return value


def array_value(data: bytes, pos: int, end: int) -> list[Any]:
    out: list[Any] = []
    while pos < end:
        key, pos = varint(data, pos)
        if key == (1 << 3) | LEN:
            start, pos = field_bounds(data, pos, end)
            out.append(any_value(data, start, pos))
        else:
            pos = skip(data, pos, key & 7, end)
    return out


def key_value(data: bytes, pos: int, end: int, out: dict[str, Any]) -> None:
    name = ""
    value: Any = None
    while pos < end:
        key, pos = varint(data, pos)
        if key == (1 << 3) | LEN:
            start, pos = field_bounds(data, pos, end)
            name = text(data, start, pos)
        elif key == (2 << 3) | LEN:
            start, pos = field_bounds(data, pos, end)
            value = any_value(data, start, pos)
        else:
            pos = skip(data, pos, key & 7, end)
    out[name] = value


def key_values(data: bytes, pos: int, end: int, number: int, out: dict[str, Any]) -> dict[str, Any]:
    """The KeyValue entries of field `number` of the message between pos and end (1 in KeyValueList
    and Resource), added to `out`."""
    wanted = (number << 3) | LEN
    while pos < end:
        key, pos = varint(data, pos)
        if key == wanted:
            start, pos = field_bounds(data, pos, end)
            key_value(data, start, pos, out)
        else:
            pos = skip(data, pos, key & 7, end)
    return out


def fields(data: bytes, pos: int, end: int, number: int) -> list[tuple[int, int]]:
    """(start, end) of every length-delimited occurrence of field `number`."""
    out: list[tuple[int, int]] = []
    wanted = (number << 3) | LEN
    while pos < end:
        key, pos = varint(data, pos)
        if key == wanted:
            start, pos = field_bounds(data, pos, end)
            out.append((start, pos))
        else:
            pos = skip(data, pos, key & 7, end)
    return out


def scope_name(data: bytes, pos: int, end: int, name: str) -> str:
    """InstrumentationScope.name, or `name` when this occurrence of the scope sets none (merge)."""
    while pos < end:
        key, pos = varint(data, pos)
        if key == (1 << 3) | LEN:
            start, pos = field_bounds(data, pos, end)
            name = text(data, start, pos)
        else:
            pos = skip(data, pos, key & 7, end)
    return name
