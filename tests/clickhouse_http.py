"""A test-only ClickHouse HTTP interface served by the embedded chDB engine.

No ClickHouse server can run on the test machines, yet the HTTP storage path must be exercised
through clickhouse-connect's real HTTP client (URL parameters, compression, Native bodies, error
headers). This module speaks the subset of ClickHouse's HTTP protocol that client uses and runs
every statement on chDB, the ClickHouse engine as a library, so SQL semantics (MergeTree,
deduplication, types, error codes) are ClickHouse's own.

Run it as its own process (chDB allows one engine per process):
``python tests/clickhouse_http.py --port 8123 --path /tmp/ch``; it prints
``listening on 127.0.0.1:PORT`` once ready and stops cleanly on SIGTERM.

Each request gets a fresh chDB connection, so ``USE`` and per-request settings (which arrive as
URL parameters and are applied with ``SET``) can never leak into another request, the way
ClickHouse HTTP requests without a session are isolated.

Not implemented: sessions (``session_id`` is ignored), external data tables, ClickHouse's own
block compression (``compress=1``/``decompress=1``), response compression (answers are sent
without Content-Encoding, which clients accept), streaming of results (they are buffered), and
the ``client_protocol_version`` Native block header (clickhouse-connect probes for it and falls
back to protocol 0). Unlike ClickHouse, chDB runs ``a; b`` multi-statements instead of refusing.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bz2
import contextlib
import email.parser
import email.policy
import gzip
import hmac
import importlib
import io
import json
import lzma
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# URL parameters the HTTP layer consumes; everything else is a setting for the query.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "enable_http_compression",
        "http_zlib_compression_level",
        "http_native_compression_disable_checksumming_on_decompress",
    }
)

# Formats the chDB Python wrapper post-processes instead of passing to the engine.
_WRAPPER_FORMATS = frozenset({"dataframe", "datastore", "arrowtable"})

# HTTP status per error name, transcribed from ClickHouse's exceptionCodeToHTTPStatus.cpp.
_STATUS_GROUPS = {
    401: "REQUIRED_PASSWORD",
    403: "UNKNOWN_USER WRONG_PASSWORD AUTHENTICATION_FAILED SET_NON_GRANTED_ROLE ACCESS_DENIED",
    400: """BAD_ARGUMENTS CANNOT_COMPILE_REGEXP CANNOT_PARSE_TEXT CANNOT_PARSE_ESCAPE_SEQUENCE
        CANNOT_PARSE_QUOTED_STRING CANNOT_PARSE_DATE CANNOT_PARSE_DATETIME CANNOT_PARSE_NUMBER
        CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING CANNOT_PARSE_IPV4 CANNOT_PARSE_IPV6
        CANNOT_PARSE_INPUT_ASSERTION_FAILED CANNOT_PARSE_UUID DUPLICATE_COLUMN ILLEGAL_COLUMN
        UNKNOWN_ELEMENT_IN_AST UNKNOWN_TYPE_OF_AST_NODE THERE_IS_NO_COLUMN TOO_DEEP_AST TOO_BIG_AST
        UNEXPECTED_AST_STRUCTURE SYNTAX_ERROR INCORRECT_DATA TYPE_MISMATCH
        VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE""",
    404: """UNKNOWN_TABLE UNKNOWN_FUNCTION UNKNOWN_IDENTIFIER UNKNOWN_TYPE UNKNOWN_STORAGE UNKNOWN_DATABASE
        UNKNOWN_SETTING UNKNOWN_DIRECTION_OF_SORTING UNKNOWN_AGGREGATE_FUNCTION UNKNOWN_FORMAT
        UNKNOWN_DATABASE_ENGINE UNKNOWN_TYPE_OF_QUERY UNKNOWN_ROLE""",
    413: "QUERY_IS_TOO_LARGE",
    501: "NOT_IMPLEMENTED",
    503: "SOCKET_TIMEOUT CANNOT_OPEN_FILE CANNOT_SCHEDULE_TASK",
    411: "HTTP_LENGTH_REQUIRED",
    408: "TIMEOUT_EXCEEDED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
_STATUS_BY_NAME = {name: status for status, names in _STATUS_GROUPS.items() for name in names.split()}

# Codes this module raises itself, so it needs no engine to name them.
SYNTAX_ERROR = 62
NOT_IMPLEMENTED = 48
CANNOT_DECOMPRESS = 271
UNKNOWN_SETTING = 115
UNKNOWN_FORMAT = 73
AUTHENTICATION_FAILED = 516
STD_EXCEPTION = 1001
_OWN_NAMES = {
    SYNTAX_ERROR: "SYNTAX_ERROR",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    UNKNOWN_FORMAT: "UNKNOWN_FORMAT",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    STD_EXCEPTION: "STD_EXCEPTION",
}

_CODE_RE = re.compile(r"Code: (\d+)\.")
_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_NOISE = rb"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*"
# An INSERT whose data follows its FORMAT clause; the data starts after the first newline.
_INSERT_DATA_RE = re.compile(rb"\A" + _LEADING_NOISE + rb"(INSERT\s+INTO\s.*?)\bFORMAT\s+(\w+)", re.I | re.S)
_QUOTED_RE = re.compile(rb"'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"", re.S)
_INLINE_SOURCE_RE = re.compile(rb"\b(?:VALUES|SELECT|WITH)\b", re.I)
_TRAILING_FORMAT_RE = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_FIRST_WORD_RE = re.compile(rb"\A" + _LEADING_NOISE + rb"(\(|\w+)", re.S)
# Statements ClickHouse answers with a result set (and so an X-ClickHouse-Format header).
_RESULT_STATEMENTS = frozenset(b"( SELECT WITH SHOW DESC DESCRIBE EXISTS EXPLAIN CHECK".split())

_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "Native": "application/octet-stream",
    "RowBinary": "application/octet-stream",
    "RowBinaryWithNamesAndTypes": "application/octet-stream",
    "Parquet": "application/octet-stream",
    "Arrow": "application/octet-stream",
}


class ClickHouseError(Exception):
    """A failure reported to the client the way ClickHouse does: code, message, HTTP status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _optional_module(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


_lz4_frame = _optional_module("lz4.frame")
_zstd = _optional_module("compression.zstd", "backports.zstd")
_zstandard = None if _zstd is not None else _optional_module("zstandard")
_brotli = _optional_module("brotli", "brotlicffi")


def _lz4_decompress(data: bytes) -> bytes:
    """ClickHouse's HTTP lz4 is the LZ4 frame format; clients send one frame per block."""
    if _lz4_frame is None:
        raise ClickHouseError(NOT_IMPLEMENTED, "lz4 Content-Encoding needs the lz4 package")
    out: list[bytes] = []
    rest = data
    while rest:
        decompressor = _lz4_frame.LZ4FrameDecompressor()
        out.append(decompressor.decompress(rest))
        if not decompressor.eof:
            raise ClickHouseError(CANNOT_DECOMPRESS, "Truncated lz4 frame in request body")
        rest = decompressor.unused_data
    return b"".join(out)


def _zstd_decompress(data: bytes) -> bytes:
    """Decompresses every concatenated zstd frame (clients compress block by block)."""
    if _zstd is not None:
        return bytes(_zstd.decompress(data))
    if _zstandard is not None:
        reader = _zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        return bytes(reader.read())
    raise ClickHouseError(NOT_IMPLEMENTED, "zstd Content-Encoding needs backports.zstd or zstandard")


def _deflate_decompress(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some clients send


def _brotli_decompress(data: bytes) -> bytes:
    if _brotli is None:
        raise ClickHouseError(NOT_IMPLEMENTED, "br Content-Encoding needs the brotli package")
    return bytes(_brotli.decompress(data))


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "lz4": _lz4_decompress,
    "zstd": _zstd_decompress,
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": _deflate_decompress,
    "br": _brotli_decompress,
    "xz": lzma.decompress,
    "bz2": bz2.decompress,
}


def decode_body(data: bytes, content_encoding: str) -> bytes:
    """Undoes Content-Encoding codings in reverse order of application, as HTTP specifies."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise ClickHouseError(NOT_IMPLEMENTED, f"Unknown HTTP Content-Encoding '{coding}'")
        try:
            data = decoder(data)
        except ClickHouseError:
            raise
        except Exception as exc:  # every codec has its own error type
            raise ClickHouseError(CANNOT_DECOMPRESS, f"Cannot decode {coding} request body: {exc}") from exc
    return data


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_literal(value: str) -> str:
    """Settings are always sent quoted; ClickHouse converts a string to each setting's type."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class InsertData:
    """An ``INSERT ... FORMAT f`` statement split from the data that follows it."""

    statement: str
    fmt: str
    data: bytes


def split_insert(sql: bytes) -> InsertData | None:
    """Finds the inline data of an INSERT the way ClickHouse's HTTP handler does.

    The statement ends at its FORMAT clause; the data begins after blanks up to and including the
    first newline. INSERT ... VALUES/SELECT are left to the engine as ordinary queries.
    """
    match = _INSERT_DATA_RE.match(sql[:65536])
    if match is None:
        return None
    statement = match.group(1)
    if _INLINE_SOURCE_RE.search(_QUOTED_RE.sub(b"''", statement)):
        return None
    pos = match.end()
    while pos < len(sql) and sql[pos : pos + 1] in (b" ", b"\t", b"\r"):
        pos += 1
    if sql[pos : pos + 1] == b"\n":
        pos += 1
    return InsertData(statement.decode().rstrip(), match.group(2).decode(), sql[pos:])


def produces_result(sql: bytes) -> bool:
    match = _FIRST_WORD_RE.match(sql[:65536])
    return match is not None and match.group(1).upper() in _RESULT_STATEMENTS


@dataclass
class QueryRequest:
    """One HTTP query, already unpacked from URL, form fields, headers and body."""

    sql: bytes
    database: str | None = None
    default_format: str = "TabSeparated"
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    readonly: bool = False


@dataclass
class QueryResult:
    body: bytes
    fmt: str | None
    summary: dict[str, str]


def _error_from_engine(exc: Exception) -> ClickHouseError:
    """chDB raises RuntimeError-like exceptions whose text embeds ClickHouse's ``Code: N.`` message."""
    text = str(exc).strip()
    start = text.find("Code: ")
    if start >= 0:
        text = text[start:]
        match = _CODE_RE.match(text)
        if match:
            return ClickHouseError(int(match.group(1)), text)
    return ClickHouseError(STD_EXCEPTION, text or type(exc).__name__)


class Engine:
    """The process's one chDB engine; hands out a fresh connection per request."""

    def __init__(self, path: str, serialize: bool = False) -> None:
        import chdb  # deferred so TZ is set before the engine reads it

        self._chdb: Any = chdb
        self.path = path
        # An open connection keeps the engine up between requests; closing the last one stops it.
        self._base: Any = chdb.connect(path)
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if serialize else contextlib.nullcontext()
        )
        version, tz = (
            self._base.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().split()
        )
        self.version: str = version
        self.timezone: str = tz
        rows = self._base.query(
            "SELECT code, name FROM system.errors SETTINGS system_events_show_zero_values = 1", "TabSeparated"
        )
        self.error_names: dict[int, str] = {**_OWN_NAMES}
        for line in rows.bytes().decode().splitlines():
            code, name = line.split("\t")
            self.error_names[int(code)] = name

    def close(self) -> None:
        base, self._base = self._base, None
        if base is not None:
            base.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            try:
                conn = self._chdb.connect(self.path)
            except Exception as exc:
                raise _error_from_engine(exc) from exc
            try:
                yield conn
            finally:
                conn.close()

    def execute(self, req: QueryRequest) -> QueryResult:
        if not req.sql.strip().strip(b";").strip():
            raise ClickHouseError(SYNTAX_ERROR, "Empty query")
        for name in req.settings:
            if not _SETTING_NAME_RE.match(name):
                raise ClickHouseError(UNKNOWN_SETTING, f"Unknown setting '{name}'")
        if req.default_format.lower() in _WRAPPER_FORMATS:
            raise ClickHouseError(UNKNOWN_FORMAT, f"Unknown format {req.default_format}")
        started = time.monotonic_ns()
        with self.connection() as conn:
            try:
                if req.readonly:
                    conn.query("SET readonly = 2", "TabSeparated")  # GET requests, as in ClickHouse
                for name, value in req.settings.items():
                    conn.query(f"SET {name} = {quote_literal(value)}", "TabSeparated")
                if req.database:
                    conn.query(f"USE {quote_identifier(req.database)}", "TabSeparated")
                insert = split_insert(req.sql)
                if insert is not None:
                    return self._insert(conn, insert, started)
                result = conn.query(req.sql, req.default_format, params=req.params)
            except ClickHouseError:
                raise
            except Exception as exc:
                raise _error_from_engine(exc) from exc
        body = result.bytes() or b""
        trailing = _TRAILING_FORMAT_RE.search(req.sql)
        fmt = trailing.group(1).decode() if trailing else req.default_format
        summary = {
            "read_rows": str(result.rows_read()),
            "read_bytes": str(result.bytes_read()),
            "written_rows": str(result.rows_written()),
            "written_bytes": str(result.bytes_written()),
            "total_rows_to_read": str(result.rows_read()),
            "elapsed_ns": str(time.monotonic_ns() - started),
        }
        return QueryResult(body, fmt if body or produces_result(req.sql) else None, summary)

    @staticmethod
    def _insert(conn: Any, insert: InsertData, started: int) -> QueryResult:
        inserter = conn.send_insert(insert.statement, insert.fmt)
        try:
            if insert.data:
                inserter.append(insert.data)
            done = inserter.finish()
        except Exception:
            with contextlib.suppress(Exception):
                inserter.cancel()
            raise
        rows, size = str(done.rows_written), str(done.bytes_written)
        summary = {
            "read_rows": rows,
            "read_bytes": size,
            "written_rows": rows,
            "written_bytes": size,
            "total_rows_to_read": "0",
            "result_rows": rows,
            "result_bytes": size,
            "elapsed_ns": str(time.monotonic_ns() - started),
        }
        return QueryResult(b"", None, summary)


class Server(ThreadingHTTPServer):
    """Threaded HTTP server that tracks in-flight requests so SIGTERM can drain them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], engine: Engine, password: str | None, verbose: bool) -> None:
        super().__init__(address, Handler)
        self.engine = engine
        self.password = password
        self.verbose = verbose
        self.display_name = socket.gethostname()
        self._active = 0
        self._stopping = False
        self._cond = threading.Condition()

    def begin_request(self) -> bool:
        with self._cond:
            if self._stopping:
                return False
            self._active += 1
            return True

    def end_request(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def drain(self, timeout: float) -> None:
        """Refuses new requests and waits for running ones so the engine closes with no writer."""
        with self._cond:
            self._stopping = True
            self._cond.wait_for(lambda: self._active == 0, timeout)


class Handler(BaseHTTPRequestHandler):
    """Maps one HTTP request onto one engine call, answering with ClickHouse's headers."""

    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3 pools connections
    server_version = "clickhouse-http-chdb"
    server: Server
    timeout = 300  # idle keep-alive connections eventually release their thread
    disable_nagle_algorithm = True  # headers and body go out as two writes; avoid 40 ms delayed-ACK stalls

    def do_GET(self) -> None:
        self._serve(readonly=True)

    def do_POST(self) -> None:
        self._serve(readonly=False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _serve(self, readonly: bool) -> None:
        if not self.server.begin_request():
            self.close_connection = True
            self._send_error(
                ClickHouseError(STD_EXCEPTION, "Server is shutting down"), str(uuid.uuid4()), 503
            )
            return
        try:
            self._serve_request(readonly)
        finally:
            self.server.end_request()

    def _serve_request(self, readonly: bool) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        try:
            body = self._read_body()
        except (ValueError, OSError) as exc:
            self.close_connection = True
            self._send_error(
                ClickHouseError(STD_EXCEPTION, f"Cannot read request body: {exc}"), query_id, 400
            )
            return
        if url.path.rstrip("/") in ("/ping", "/replicas_status") or (
            url.path == "/" and "query" not in params and not body
        ):
            self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            return
        try:
            self._authenticate(params)
            req = self._build_request(params, body, readonly)
            result = self.server.engine.execute(req)
        except ClickHouseError as exc:
            if self.server.verbose or exc.code != AUTHENTICATION_FAILED:
                sys.stderr.write(f"query {query_id} failed: {exc.message}\n")
            self._send_error(exc, query_id)
            return
        except Exception as exc:  # a bug here must still answer like a server, not drop the socket
            self._send_error(ClickHouseError(STD_EXCEPTION, f"{type(exc).__name__}: {exc}"), query_id)
            return
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": req.settings.get("session_timezone") or self.server.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(result.summary, separators=(",", ":")),
            "Content-Type": "text/plain; charset=UTF-8",
        }
        if result.fmt is not None:
            headers["X-ClickHouse-Format"] = result.fmt
            headers["Content-Type"] = _CONTENT_TYPES.get(result.fmt, "text/plain; charset=UTF-8")
        self._send(200, result.body, headers)

    def _read_body(self) -> bytes:
        """Reads a Content-Length or chunked body; the client streams inserts chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ValueError("connection closed inside a chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise ValueError("connection closed inside a chunk")
                chunks.append(chunk)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length > 0 else b""
        if len(data) != length:
            raise ValueError("connection closed before the whole body arrived")
        return data

    def _authenticate(self, params: dict[str, str]) -> None:
        """Any user name is accepted; with --password every request must carry that password."""
        expected = self.server.password
        if expected is None:
            return
        user, password = params.get("user", "default"), params.get("password", "")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        if "X-ClickHouse-User" in self.headers:
            user = self.headers["X-ClickHouse-User"]
            password = self.headers.get("X-ClickHouse-Key", "")
        if not hmac.compare_digest(password.encode(), expected.encode()):
            raise ClickHouseError(
                AUTHENTICATION_FAILED,
                f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
            )

    def _build_request(self, params: dict[str, str], body: bytes, readonly: bool) -> QueryRequest:
        if params.get("compress") == "1" or params.get("decompress") == "1":
            raise ClickHouseError(NOT_IMPLEMENTED, "ClickHouse block compression (compress/decompress=1)")
        body = decode_body(body, self.headers.get("Content-Encoding", ""))
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            params = {**params, **self._form_fields(content_type, body)}
            body = b""
        query = params.get("query", "").encode()
        # ClickHouse reads the query parameter, a newline, then the body as one statement.
        sql = query + b"\n" + body if query else body
        settings = {
            k: v for k, v in params.items() if k not in TRANSPORT_PARAMS and not k.startswith("param_")
        }
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        return QueryRequest(
            sql=sql,
            database=params.get("database") or self.headers.get("X-ClickHouse-Database") or None,
            default_format=params.get("default_format")
            or self.headers.get("X-ClickHouse-Format")
            or "TabSeparated",
            params=bound,
            settings=settings,
            readonly=readonly,
        )

    @staticmethod
    def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
        """Form-encoded queries carry ``query`` and ``param_*`` as fields when the URL would be too long."""
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None:
                raise ClickHouseError(
                    NOT_IMPLEMENTED, f"External data ({name}) is not supported by this server"
                )
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload.decode() if isinstance(payload, bytes) else ""
        return fields

    def _send_error(self, exc: ClickHouseError, query_id: str, status: int | None = None) -> None:
        engine = self.server.engine
        name = engine.error_names.get(exc.code, "UNKNOWN_EXCEPTION")
        message = exc.message.rstrip()
        if not message.startswith("Code: "):
            message = f"Code: {exc.code}. DB::Exception: {message}. ({name})"
        if "(version " not in message:
            message += f" (version {engine.version})"
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Exception-Code": str(exc.code),
            "Content-Type": "text/plain; charset=UTF-8",
        }
        self._send(status or _STATUS_BY_NAME.get(name, 500), message.encode() + b"\n", headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("X-ClickHouse-Server-Display-Name", self.server.display_name)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--path", required=True, help="chDB data directory, reused across restarts")
    parser.add_argument("--password", default=None, help="require this password for every user")
    parser.add_argument("--timezone", default="UTC", help="server timezone reported to clients")
    parser.add_argument("--serialize", action="store_true", help="run one query at a time")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    os.environ["TZ"] = args.timezone
    time.tzset()
    os.makedirs(args.path, exist_ok=True)
    engine = Engine(os.path.abspath(args.path), serialize=args.serialize)
    server = Server((args.host, args.port), engine, args.password, args.verbose)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="clickhouse-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    print(f"listening on {host!s}:{port}", flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.drain(timeout=30)
    server.server_close()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
