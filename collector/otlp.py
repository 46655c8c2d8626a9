"""OTLP/HTTP decoding and validation: protobuf and JSON bodies into plain Python spans and log records.

Validation happens span by span so one bad span never costs the good ones of its batch: the bad
ones are counted and described for the OTLP `partial_success` answer.
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from spanscope.collector import otlp_wire as wire
from spanscope.collector.native import is_compiled
from spanscope.schemas import attributes as A

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2

# Attributes that carry message content may be larger than ordinary attributes.
CONTENT_KEYS = frozenset(
    {
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        A.OI_INPUT_VALUE,
        A.OI_OUTPUT_VALUE,
        A.TL_ENTITY_INPUT,
        A.TL_ENTITY_OUTPUT,
        A.OPENLIT_CONTENT_PROMPT,
        A.OPENLIT_CONTENT_COMPLETION,
        A.GEN_AI_RETRIEVAL_DOCUMENTS,
        A.GEN_AI_TOOL_CALL_ARGUMENTS,
        A.GEN_AI_TOOL_CALL_RESULT,
        A.SS_INPUT,
        A.SS_OUTPUT,
    }
)
DROPPED_ATTRIBUTES_KEY = "spanscope.dropped_attributes_count"


class PayloadError(ValueError):
    """The request as a whole cannot be read (HTTP 400/413/415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[PayloadError], tuple[str, int]]:
        """Keeps the status when raised in an ingest worker process and re-raised here."""
        return (PayloadError, (str(self), self.status))


@dataclass(slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class DecodedSpan:
    """One span in plain Python values: the normaliser's input whatever the wire format."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    events: list[SpanEvent]
    resource: dict[str, Any]
    scope: str
    otel_kind: int = 0


@dataclass(slots=True)
class DecodedLog:
    """A log record that may carry GenAI message content for a span."""

    trace_id: str
    span_id: str
    event_name: str
    time_ns: int
    body: Any
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class Limits:
    max_attributes: int = 256
    max_attribute_bytes: int = 64 * 1024
    max_content_bytes: int = 1024 * 1024
    max_past_s: int = 7 * 24 * 3600
    max_future_s: int = 3600


@dataclass
class DecodeResult:
    spans: list[DecodedSpan] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < 5:
            self.errors.append(message)

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = f" (and {self.rejected - len(self.errors)} more)" if self.rejected > len(self.errors) else ""
        return "; ".join(self.errors) + more


def content_encoding(encoding: str | None) -> str:
    """The Content-Encoding, normalised ("" for none); 415 for one OTLP exporters do not use."""
    enc = (encoding or "").strip().lower()
    if enc == "identity":
        return ""
    if enc not in ("", "gzip", "deflate", "x-gzip"):
        raise PayloadError(f"unsupported Content-Encoding {encoding!r}: use gzip, deflate or identity", 415)
    return enc


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Inflates gzip/deflate bodies without ever holding more than `limit` bytes."""
    enc = content_encoding(encoding)
    if not enc:
        return body
    wbits = 16 + zlib.MAX_WBITS if enc in ("gzip", "x-gzip") else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(body, limit + 1)
        if len(out) > limit:
            raise PayloadError(f"decompressed body exceeds the limit of {limit} bytes", 413)
        if not d.eof:
            if d.unconsumed_tail:
                raise PayloadError(f"decompressed body exceeds the limit of {limit} bytes", 413)
            if enc == "deflate":  # some clients send raw deflate without the zlib header
                return _raw_deflate(body, limit)
            raise PayloadError(f"truncated {enc} body")
        return out
    except zlib.error as exc:
        if enc == "deflate":
            return _raw_deflate(body, limit)
        raise PayloadError(f"body is not valid {enc}: {exc}") from exc


def _raw_deflate(body: bytes, limit: int) -> bytes:
    try:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError(f"body is not valid deflate: {exc}") from exc
    if len(out) > limit:
        raise PayloadError(f"decompressed body exceeds the limit of {limit} bytes", 413)
    return out


def media_type(content_type: str | None) -> str:
    mt = (content_type or "").split(";", 1)[0].strip().lower()
    if mt in (PROTOBUF, "application/protobuf", "application/vnd.google.protobuf"):
        return PROTOBUF
    if mt == JSON:
        return JSON
    raise PayloadError(
        f"unsupported Content-Type {content_type!r}: send application/x-protobuf or application/json", 415
    )


# --- attribute values --------------------------------------------------------------------------------


def _any_value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if which == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return None


def _kv_list(kvs: Iterable[Any]) -> dict[str, Any]:
    """Attributes of protobuf log records: scalar values inline, nested ones through `_any_value`."""
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        which = v.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = v.string_value
        elif which == "int_value":
            out[kv.key] = v.int_value
        elif which == "double_value":
            out[kv.key] = v.double_value
        elif which == "bool_value":
            out[kv.key] = v.bool_value
        else:
            out[kv.key] = _any_value(v)
    return out


def _json_any(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    for key, conv in _JSON_SCALARS:
        if key in v:
            return conv(v[key])
    arr = v.get("arrayValue", v.get("array_value"))
    if arr is not None:
        return [_json_any(x) for x in (arr.get("values") or [])]
    kvl = v.get("kvlistValue", v.get("kvlist_value"))
    if kvl is not None:
        return _json_kv_list(kvl.get("values") or [])
    return None


def _json_int(x: Any) -> int:
    return int(x)


_JSON_SCALARS: tuple[tuple[str, Any], ...] = (
    ("stringValue", str),
    ("string_value", str),
    ("intValue", _json_int),
    ("int_value", _json_int),
    ("doubleValue", float),
    ("double_value", float),
    ("boolValue", bool),
    ("bool_value", bool),
    ("bytesValue", str),
    ("bytes_value", str),
)


def _json_kv_list(kvs: Any) -> dict[str, Any]:
    if not isinstance(kvs, list):
        raise ValueError("attributes must be a list of {key, value}")
    out: dict[str, Any] = {}
    for kv in kvs:
        out[str(kv["key"])] = _json_any(kv.get("value"))
    return out


def _get(d: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    v = d.get(camel)
    if v is None:
        v = d.get(snake, default)
    return default if v is None else v


# --- limits ------------------------------------------------------------------------------------------


def _limit_value(value: Any, cap: int) -> tuple[Any, bool]:
    if isinstance(value, str):
        if len(value) > cap // 4 and len(value.encode("utf-8", "surrogatepass")) > cap:
            cut = value.encode("utf-8", "surrogatepass")[:cap].decode("utf-8", "ignore")
            return cut + A.SS_TRUNCATED_SUFFIX, True
        return value, False
    if isinstance(value, list) and value:
        if len(value) > 1024:
            value = value[:1024]
        out, changed = [], False
        for item in value:
            v, c = _limit_value(item, cap)
            out.append(v)
            changed |= c
        return out, changed
    return value, False


def apply_limits(attrs: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """Truncates attribute bombs with a marker; the span itself is always kept."""
    if len(attrs) > limits.max_attributes:
        kept = dict(list(attrs.items())[: limits.max_attributes])
        kept[DROPPED_ATTRIBUTES_KEY] = len(attrs) - limits.max_attributes
        attrs = kept
    small = limits.max_attribute_bytes // 4
    for key, value in attrs.items():
        # A string of at most cap/4 characters cannot exceed cap bytes in UTF-8: skip it cheaply.
        if (type(value) is str and len(value) > small) or type(value) is list:
            cap = limits.max_content_bytes if key in CONTENT_KEYS else limits.max_attribute_bytes
            new, changed = _limit_value(value, cap)
            if changed:
                attrs[key] = new
    return attrs


def _has_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    return False


class _SpanChecker:
    """Per-span validity checks shared by the protobuf and JSON paths."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        now = time.time_ns()
        self.min_ns = now - limits.max_past_s * 1_000_000_000
        self.max_ns = now + limits.max_future_s * 1_000_000_000

    def problem(self, trace_id: str, span_id: str, parent: str, start: int, end: int) -> str | None:
        if len(trace_id) != 32 or trace_id == "0" * 32:
            return f"span {span_id or '?'}: trace_id must be 16 bytes and not all zero"
        if len(span_id) != 16 or span_id == "0" * 16:
            return f"span in trace {trace_id}: span_id must be 8 bytes and not all zero"
        if parent and len(parent) != 16:
            return f"span {span_id}: parent_span_id must be empty or 8 bytes"
        if start <= 0:
            return f"span {span_id}: start_time_unix_nano is missing"
        if start < self.min_ns or start > self.max_ns:
            return (
                f"span {span_id}: start time {start} is too far from now "
                f"(accepted: {self.limits.max_past_s}s in the past to {self.limits.max_future_s}s ahead)"
            )
        if end and end < start:
            return f"span {span_id}: end_time_unix_nano is before start_time_unix_nano"
        return None


# --- traces ------------------------------------------------------------------------------------------

WIRE_COMPILED = is_compiled(wire)


def decode_traces(body: bytes, mtype: str, limits: Limits) -> DecodeResult:
    """Decodes an ExportTraceServiceRequest; bad spans are rejected one by one."""
    if mtype == PROTOBUF:
        return _decode_traces_pb(body, limits)
    return _decode_traces_json(body, limits)


def _decode_traces_pb(body: bytes, limits: Limits) -> DecodeResult:
    """Compiled, the wire decoder is the fastest reader; as plain Python the protobuf runtime is,
    and the wire decoder only reads what it refuses (text that is not UTF-8: span by span)."""
    if not WIRE_COMPILED:
        try:
            req = ExportTraceServiceRequest.FromString(body)
        except DecodeError:
            pass
        else:
            return _decode_traces_upb(req, limits)
    return _decode_traces_wire(body, limits)


def _decode_traces_upb(req: ExportTraceServiceRequest, limits: Limits) -> DecodeResult:
    res = DecodeResult()
    check = _SpanChecker(limits)
    for rs in req.resource_spans:
        resource = _kv_list(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for sp in ss.spans:
                trace_id, span_id, parent = sp.trace_id.hex(), sp.span_id.hex(), sp.parent_span_id.hex()
                start, end = sp.start_time_unix_nano, sp.end_time_unix_nano
                problem = check.problem(trace_id, span_id, parent, start, end)
                if problem:
                    res.reject(problem)
                    continue
                events = [SpanEvent(e.name, e.time_unix_nano, _kv_list(e.attributes)) for e in sp.events]
                status = sp.status
                res.spans.append(
                    DecodedSpan(
                        trace_id,
                        span_id,
                        parent,
                        sp.name,
                        start,
                        end or start,
                        status.code,
                        status.message,
                        apply_limits(_kv_list(sp.attributes), limits),
                        events,
                        resource,
                        scope,
                        sp.kind,
                    )
                )
    return res


def _decode_traces_wire(body: bytes, limits: Limits) -> DecodeResult:
    res = DecodeResult()
    check = _SpanChecker(limits)
    try:
        for rs_start, rs_end in wire.fields(body, 0, len(body), 1):  # resource_spans
            resource: dict[str, Any] = {}
            resource_ok = True
            try:
                for r_start, r_end in wire.fields(body, rs_start, rs_end, 1):  # resource (merged)
                    wire.key_values(body, r_start, r_end, 1, resource)
            except wire.InvalidText:
                resource_ok = False
            for ss_start, ss_end in wire.fields(body, rs_start, rs_end, 2):  # scope_spans
                scope = ""
                scope_ok = True
                try:
                    for sc_start, sc_end in wire.fields(body, ss_start, ss_end, 1):
                        scope = wire.scope_name(body, sc_start, sc_end, scope)
                except wire.InvalidText:
                    scope_ok = False
                for sp_start, sp_end in wire.fields(body, ss_start, ss_end, 2):
                    if not resource_ok:
                        res.reject("resource attributes contain invalid UTF-8")
                        continue
                    _wire_span(body, sp_start, sp_end, resource, scope, scope_ok, check, limits, res)
    except wire.WireError as exc:
        raise PayloadError(f"body is not a valid OTLP ExportTraceServiceRequest protobuf: {exc}") from exc
    return res


def _wire_span(
    data: bytes,
    pos: int,
    end: int,
    resource: dict[str, Any],
    scope: str,
    scope_ok: bool,
    check: _SpanChecker,
    limits: Limits,
    res: DecodeResult,
) -> None:
    """One Span message: validated, then appended to `res` or rejected with the reason."""
    trace_raw = span_raw = parent_raw = b""
    name_at = (0, 0)
    message_at = (0, 0)
    start_ns = end_ns = kind = code = 0
    attrs_at: list[tuple[int, int]] = []
    events_at: list[tuple[int, int]] = []
    while pos < end:
        key, pos = wire.varint(data, pos)
        num = key >> 3
        wt = key & 7
        if wt == wire.LEN and (num == 9 or num == 11 or num == 1 or num == 2 or num == 4 or num == 5 or num == 15):
            s, pos = wire.field_bounds(data, pos, end)
            if num == 9:
                attrs_at.append((s, pos))
            elif num == 11:
                events_at.append((s, pos))
            elif num == 1:
                trace_raw = data[s:pos]
            elif num == 2:
                span_raw = data[s:pos]
            elif num == 4:
                parent_raw = data[s:pos]
            elif num == 5:
                name_at = (s, pos)
            else:  # status: message = 2, code = 3
                q = s
                while q < pos:
                    skey, q = wire.varint(data, q)
                    if skey == (2 << 3) | wire.LEN:
                        m_start, q = wire.field_bounds(data, q, pos)
                        message_at = (m_start, q)
                    elif skey == (3 << 3) | wire.VARINT:
                        code, q = wire.varint(data, q)
                    else:
                        q = wire.skip(data, q, skey & 7, pos)
        elif wt == wire.I64 and (num == 7 or num == 8):
            if pos + 8 > end:
                raise wire.WireError("truncated fixed64")
            if num == 7:
                start_ns = wire.fixed64(data, pos)
            else:
                end_ns = wire.fixed64(data, pos)
            pos += 8
        elif wt == wire.VARINT and num == 6:
            kind, pos = wire.varint(data, pos)
        else:
            pos = wire.skip(data, pos, wt, end)
    trace_id, span_id, parent = trace_raw.hex(), span_raw.hex(), parent_raw.hex()
    problem = check.problem(trace_id, span_id, parent, start_ns, end_ns)
    if problem:
        res.reject(problem)
        return
    try:
        if not scope_ok:
            raise wire.InvalidText("scope name")
        name = wire.text(data, name_at[0], name_at[1])
        status_message = wire.text(data, message_at[0], message_at[1])
        attrs: dict[str, Any] = {}
        for a_start, a_end in attrs_at:
            wire.key_value(data, a_start, a_end, attrs)
        events = [_wire_event(data, e_start, e_end) for e_start, e_end in events_at]
    except wire.InvalidText:
        res.reject(f"span {span_id}: contains invalid UTF-8")
        return
    res.spans.append(
        DecodedSpan(
            trace_id,
            span_id,
            parent,
            name,
            start_ns,
            end_ns or start_ns,
            _int32(code),
            status_message,
            apply_limits(attrs, limits),
            events,
            resource,
            scope,
            _int32(kind),
        )
    )


def _wire_event(data: bytes, pos: int, end: int) -> SpanEvent:
    time_ns = 0
    name = ""
    attrs: dict[str, Any] = {}
    while pos < end:
        key, pos = wire.varint(data, pos)
        if key == (1 << 3) | wire.I64:
            if pos + 8 > end:
                raise wire.WireError("truncated fixed64")
            time_ns = wire.fixed64(data, pos)
            pos += 8
        elif key == (2 << 3) | wire.LEN:
            s, pos = wire.field_bounds(data, pos, end)
            name = wire.text(data, s, pos)
        elif key == (3 << 3) | wire.LEN:
            s, pos = wire.field_bounds(data, pos, end)
            wire.key_value(data, s, pos, attrs)
        else:
            pos = wire.skip(data, pos, key & 7, end)
    return SpanEvent(name, time_ns, attrs)


def _int32(v: int) -> int:
    """An enum's varint as the int32 it encodes (negative values take ten bytes)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _hex_id(raw: Any) -> str:
    if not raw:
        return ""
    s = str(raw).strip().lower()
    try:
        bytes.fromhex(s)
    except ValueError:
        return "!invalid"
    return s


def _load_json(body: bytes) -> tuple[Any, bool]:
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError as exc:
        try:
            text = body.decode("utf-8", "surrogateescape")
            import json

            return json.loads(text), True
        except (ValueError, UnicodeDecodeError):
            raise PayloadError(f"body is not valid OTLP JSON: {exc}") from exc


def _decode_traces_json(body: bytes, limits: Limits) -> DecodeResult:
    doc, maybe_bad_text = _load_json(body)
    if not isinstance(doc, dict):
        raise PayloadError("OTLP JSON body must be an object with resourceSpans")
    res = DecodeResult()
    check = _SpanChecker(limits)
    try:
        resource_spans = _get(doc, "resourceSpans", "resource_spans", [])
        if not isinstance(resource_spans, list):
            raise PayloadError("resourceSpans must be a list")
        for rs in resource_spans:
            resource = _json_kv_list(_get(rs.get("resource") or {}, "attributes", "attributes", []))
            for ss in _get(rs, "scopeSpans", "scope_spans", []):
                scope = str((ss.get("scope") or {}).get("name") or "")
                for sp in _get(ss, "spans", "spans", []):
                    _json_span(sp, resource, scope, check, limits, res, maybe_bad_text)
    except PayloadError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PayloadError(f"body is not a valid OTLP JSON ExportTraceServiceRequest: {exc!r}") from exc
    return res


def _json_span(
    sp: dict[str, Any],
    resource: dict[str, Any],
    scope: str,
    check: _SpanChecker,
    limits: Limits,
    res: DecodeResult,
    maybe_bad_text: bool,
) -> None:
    trace_id = _hex_id(_get(sp, "traceId", "trace_id"))
    span_id = _hex_id(_get(sp, "spanId", "span_id"))
    parent = _hex_id(_get(sp, "parentSpanId", "parent_span_id"))
    try:
        start = int(_get(sp, "startTimeUnixNano", "start_time_unix_nano", 0))
        end = int(_get(sp, "endTimeUnixNano", "end_time_unix_nano", 0))
        attrs = _json_kv_list(sp.get("attributes") or [])
        events = [
            SpanEvent(
                str(e.get("name", "")),
                int(_get(e, "timeUnixNano", "time_unix_nano", 0)),
                _json_kv_list(e.get("attributes") or []),
            )
            for e in (sp.get("events") or [])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        res.reject(f"span {span_id or '?'}: malformed field: {exc!r}")
        return
    problem = check.problem(trace_id, span_id, parent, start, end)
    if problem:
        res.reject(problem)
        return
    status = sp.get("status") or {}
    code = status.get("code", 0)
    if isinstance(code, str):
        code = {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    kind = sp.get("kind", 0)
    if not isinstance(kind, int):
        kind = 0
    span = DecodedSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=str(sp.get("name", "")),
        start_ns=start,
        end_ns=end or start,
        status_code=int(code),
        status_message=str(status.get("message", "")),
        attributes=attrs,
        events=events,
        resource=resource,
        scope=scope,
        otel_kind=kind,
    )
    if maybe_bad_text and (_has_surrogates(span.name) or _has_surrogates(span.attributes) or _has_surrogates(resource)):
        res.reject(f"span {span_id}: contains invalid UTF-8")
        return
    span.attributes = apply_limits(attrs, limits)
    res.spans.append(span)


# --- logs --------------------------------------------------------------------------------------------


def decode_logs(body: bytes, mtype: str) -> tuple[list[DecodedLog], int]:
    """Log records with a span context; the others are counted but not kept."""
    out: list[DecodedLog] = []
    skipped = 0
    if mtype == PROTOBUF:
        try:
            req = ExportLogsServiceRequest.FromString(body)
        except DecodeError as exc:
            raise PayloadError(f"body is not a valid OTLP ExportLogsServiceRequest protobuf: {exc}") from exc
        for rl in req.resource_logs:
            resource = _kv_list(rl.resource.attributes)
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    attrs = _kv_list(r.attributes)
                    name = r.event_name or str(attrs.get("event.name", ""))
                    if len(r.trace_id) != 16 or len(r.span_id) != 8:
                        skipped += 1
                        continue
                    out.append(
                        DecodedLog(
                            r.trace_id.hex(),
                            r.span_id.hex(),
                            name,
                            r.time_unix_nano or r.observed_time_unix_nano,
                            _any_value(r.body),
                            attrs,
                            resource,
                        )
                    )
        return out, skipped
    doc, _ = _load_json(body)
    try:
        for rl in _get(doc, "resourceLogs", "resource_logs", []):
            resource = _json_kv_list(_get(rl.get("resource") or {}, "attributes", "attributes", []))
            for sl in _get(rl, "scopeLogs", "scope_logs", []):
                for r in _get(sl, "logRecords", "log_records", []):
                    attrs = _json_kv_list(r.get("attributes") or [])
                    tid, sid = _hex_id(_get(r, "traceId", "trace_id")), _hex_id(_get(r, "spanId", "span_id"))
                    if len(tid) != 32 or len(sid) != 16:
                        skipped += 1
                        continue
                    t = int(_get(r, "timeUnixNano", "time_unix_nano", 0)) or int(
                        _get(r, "observedTimeUnixNano", "observed_time_unix_nano", 0)
                    )
                    name = str(_get(r, "eventName", "event_name", "") or attrs.get("event.name", ""))
                    out.append(DecodedLog(tid, sid, name, t, _json_any(r.get("body")), attrs, resource))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PayloadError(f"body is not a valid OTLP JSON ExportLogsServiceRequest: {exc!r}") from exc
    return out, skipped


def count_metric_points(body: bytes, mtype: str) -> int:
    """Metrics are accepted so exporters that share an endpoint never fail; we count their points."""
    if mtype == PROTOBUF:
        try:
            req = ExportMetricsServiceRequest.FromString(body)
        except DecodeError as exc:
            raise PayloadError(f"body is not a valid OTLP ExportMetricsServiceRequest protobuf: {exc}") from exc
        n = 0
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    which = m.WhichOneof("data")
                    if which:
                        n += len(getattr(m, which).data_points)
        return n
    doc, _ = _load_json(body)
    n = 0
    try:
        for rm in _get(doc, "resourceMetrics", "resource_metrics", []):
            for sm in _get(rm, "scopeMetrics", "scope_metrics", []):
                for m in sm.get("metrics", []):
                    for key in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                        if key in m:
                            n += len(_get(m[key], "dataPoints", "data_points", []))
    except (TypeError, AttributeError) as exc:
        raise PayloadError(f"body is not a valid OTLP JSON ExportMetricsServiceRequest: {exc!r}") from exc
    return n
