"""The ingest path: validate, normalise and make durable before acknowledging.

Spans are normalised once, on arrival, and the write-ahead log holds the finished JSON rows, so
the flusher only concatenates log records into ClickHouse inserts and every span is decoded
exactly once. Message content that instrumentations send as log records is attached to its span
whichever of the two requests arrives first: content that comes first waits in memory (and in
`span_content`, for restarts) and is merged when the span arrives; content that comes later is
applied to the stored span by the flusher.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import multiprocessing
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from spanscope.collector import otlp, wal
from spanscope.collector.allocator import tune_heap
from spanscope.collector.config import Settings
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.normalize import (
    ContentPatch,
    NormalizeContext,
    content_from_logs,
    merge_content,
    normalize,
)
from spanscope.collector.normalize.wrappers import WrapperTracker, as_wrapper
from spanscope.collector.pricing import PriceTable
from spanscope.collector.security.redaction import RedactionState, load_file, redact_patch, redact_rows

log = logging.getLogger("spanscope.ingest")

CONTENT_KINDS = frozenset({"generation", "embedding"})
# Content waiting for its span is forgotten, oldest first, past this many bytes.
PENDING_CONTENT_BYTES = 64 << 20


# Bodies at least this large are decompressed, decoded and normalised in a worker process; smaller
# ones inline, where the round trip to a worker would cost more than it saves. A compressed body is
# sent as it came (a gzip OTLP body is about a seventh of its decoded size).
POOL_MIN_BYTES = 64 * 1024
POOL_MIN_COMPRESSED_BYTES = 8 * 1024

_worker_prices: PriceTable | None = None
WORKER_GC_THRESHOLD = 10_000


def _init_worker(price_file: Path | None) -> None:
    global _worker_prices
    tune_heap()
    _worker_prices = PriceTable.load(price_file)
    # A request's rows are a thousand fresh dicts that live until it is answered, then all go at
    # once: the default collector would scan them a dozen times per request for cycles they never
    # form. Scan less often, and never the modules and tables loaded above.
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, 20, 100)


@dataclass(slots=True)
class PreparedSpans:
    """A traces request made ready for the log: one JSONEachRow line per accepted span, plus what
    the main process still needs per row (cross-request state lives there), so a worker sends back
    compact bytes and the main process does no per-span work for most rows."""

    lines: list[bytes]
    # (trace_id, span_id, parent_span_id) of the generation and embedding rows, and their row indices
    llm: list[tuple[str, str, str]]
    llm_rows: list[int]
    # (row index, project) of the rows a resource attribute moved to another project
    moved: list[tuple[int, str]]
    rejected: int
    message: str
    redacted: dict[str, int]


def _decode_and_normalize(
    body: bytes, encoding: str, mtype: str, limits: otlp.Limits, max_body: int, ctx_args: dict[str, Any]
) -> PreparedSpans:
    """Runs in a worker process (or inline): the CPU-bound part of a traces request, redaction
    included, so secrets are gone before anything is written; returns redactions per rule."""
    policies = ctx_args.pop("redaction")
    decoded = otlp.decode_traces(otlp.decompress(body, encoding, max_body), mtype, limits)
    if not decoded.spans:
        return PreparedSpans([], [], [], [], decoded.rejected, decoded.error_message, {})
    prices = ctx_args.pop("prices", None) or _worker_prices
    assert prices is not None
    rows = normalize(decoded.spans, NormalizeContext(prices=prices, **ctx_args))
    redacted = redact_rows(rows, policies)
    project = ctx_args["project_id"]
    dumps = orjson.dumps
    lines = [dumps(r) for r in rows]
    llm_rows = [i for i, r in enumerate(rows) if r.get("kind") in CONTENT_KINDS]
    llm = [(rows[i]["trace_id"], rows[i]["span_id"], rows[i]["parent_span_id"]) for i in llm_rows]
    moved = [(i, r["project_id"]) for i, r in enumerate(rows) if r["project_id"] != project]
    return PreparedSpans(lines, llm, llm_rows, moved, decoded.rejected, decoded.error_message, redacted)


class Overloaded(RuntimeError):
    """Too much in flight: the client should retry after `retry_after` seconds."""

    def __init__(self, message: str, status: int, retry_after: int) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class IngestResult:
    accepted: int
    rejected: int
    message: str = ""
    duplicate: bool = False


class _Lru:
    """A bounded mapping that forgets its oldest entries: past `capacity` entries, and past
    `max_weight` in all when `weigh` gives each value a weight (the bytes of waiting content)."""

    def __init__(self, capacity: int, max_weight: int = 0, weigh: Callable[[Any], int] | None = None) -> None:
        self.capacity = capacity
        self.max_weight = max_weight
        self.weigh = weigh
        self.weight = 0
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def put(self, key: Any, value: Any) -> None:
        self.pop(key)
        self._items[key] = value
        self.weight += self.weigh(value) if self.weigh else 0
        while len(self._items) > self.capacity or (self.max_weight and self.weight > self.max_weight):
            self.pop(next(iter(self._items)))

    def pop(self, key: Any, default: Any = None) -> Any:
        if key not in self._items:
            return default
        value = self._items.pop(key)
        self.weight -= self.weigh(value) if self.weigh else 0
        return value


def _content_bytes(patch: ContentPatch) -> int:
    return len(patch.input) + len(patch.output) + 200  # 200: key, object and reason overhead


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        log_: wal.WriteAheadLog,
        metrics: CollectorMetrics,
        prices: PriceTable,
    ) -> None:
        tune_heap()  # this process receives, logs and inserts every request's rows
        self.settings = settings
        self.wal = log_
        self.metrics = metrics
        self.limits = otlp.Limits(
            max_attributes=settings.max_attributes,
            max_attribute_bytes=settings.max_attribute_bytes,
            max_content_bytes=settings.max_content_bytes,
            max_past_s=settings.max_clock_skew_s,
            max_future_s=settings.max_future_s,
        )
        self.prices = prices
        self.redaction = RedactionState(load_file(settings.redaction_file), settings.data_dir)
        # Days a project's rows are kept (the collector sets this to its project settings).
        self.retention_of: Callable[[str], int] = lambda _project: settings.retention_days
        self._seen_requests: _Lru = _Lru(200_000)
        # Content that arrived before its span (or after it: then it waits here until forgotten).
        self._pending_content = _Lru(100_000, PENDING_CONTENT_BYTES, _content_bytes)
        self._wrappers = WrapperTracker()
        self._inflight_bytes = 0
        self.max_inflight_bytes = 4 * settings.max_body_bytes * 16
        self._pool: ProcessPoolExecutor | None = None
        if settings.ingest_workers > 0:
            self._pool = ProcessPoolExecutor(
                settings.ingest_workers,
                mp_context=multiprocessing.get_context("spawn"),  # never fork a process running chDB
                initializer=_init_worker,
                initargs=(settings.price_file,),
            )
        for h in log_.scan_hashes():
            self._seen_requests.put(h, None)

    def _ctx_args(self, project_id: str | None, from_resource: bool) -> dict[str, Any]:
        project = project_id or self.settings.project
        return {
            "project_id": project,
            "retention_days": self.retention_of(project),
            "project_from_resource": from_resource,
            "max_content_bytes": self.settings.max_content_bytes,
        }

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _admit(self, size: int) -> None:
        if self.wal.backlog_bytes + size > self.wal.max_backlog_bytes:
            self.metrics.overload.labels("503").inc()
            raise Overloaded("storage is behind: the write-ahead log backlog is full, retry later", 503, 5)
        if self._inflight_bytes + size > self.max_inflight_bytes:
            self.metrics.overload.labels("429").inc()
            raise Overloaded("too many requests in flight, retry later", 429, 1)

    def _check_body(self, body: bytes, content_type: str | None, encoding: str | None) -> tuple[str, str]:
        """Media type and encoding of a body within the size limit (415, 413 otherwise)."""
        mtype = otlp.media_type(content_type)
        enc = otlp.content_encoding(encoding)
        if len(body) > self.settings.max_body_bytes:
            raise otlp.PayloadError(
                f"body of {len(body)} bytes exceeds the limit of {self.settings.max_body_bytes}", 413
            )
        return mtype, enc

    def _read_body(self, body: bytes, content_type: str | None, encoding: str | None) -> tuple[str, bytes]:
        mtype, enc = self._check_body(body, content_type, encoding)
        return mtype, otlp.decompress(body, enc, self.settings.max_body_bytes)

    async def traces(
        self,
        body: bytes,
        content_type: str | None,
        encoding: str | None,
        project_id: str | None = None,
        project_from_resource: bool = True,
    ) -> IngestResult:
        mtype, enc = self._check_body(body, content_type, encoding)
        # An exporter retries with the very bytes it sent, so the body as received identifies a request.
        hasher = hashlib.blake2b(digest_size=wal.HASH_BYTES, key=(project_id or "").encode()[:64])
        hasher.update(f"{mtype};{enc};".encode())
        hasher.update(body)
        digest = hasher.digest()
        if digest in self._seen_requests:
            self.metrics.duplicate_requests.inc()
            return IngestResult(0, 0, duplicate=True)
        ctx_args = self._ctx_args(project_id, project_from_resource)
        ctx_args["redaction"] = self.redaction.policies
        args = (body, enc, mtype, self.limits, self.settings.max_body_bytes, ctx_args)
        if self._pool is not None and len(body) >= (POOL_MIN_COMPRESSED_BYTES if enc else POOL_MIN_BYTES):
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(self._pool, _decode_and_normalize, *args)
        else:
            ctx_args["prices"] = self.prices
            prepared = _decode_and_normalize(*args)
        rejected, message, lines = prepared.rejected, prepared.message, prepared.lines
        for rule, n in prepared.redacted.items():
            self.metrics.redactions.labels(rule).inc(n)
        self.metrics.spans_received.inc(len(lines) + rejected)
        if rejected:
            self.metrics.spans_rejected.labels("invalid").inc(rejected)
        if not lines:
            if rejected:
                raise otlp.PayloadError(f"all {rejected} spans were rejected: {message}")
            return IngestResult(0, 0)
        self._finish_rows(prepared, project_from_resource)
        payload = b"\n".join(lines)
        record = wal.encode(wal.REC_SPANS, len(lines), digest, payload)
        self._admit(len(record))
        self._seen_requests.put(digest, None)
        self._inflight_bytes += len(record)
        try:
            await self.wal.append([record])
        except BaseException:
            self._seen_requests.pop(digest, None)
            raise
        finally:
            self._inflight_bytes -= len(record)
        self.metrics.spans_accepted.inc(len(lines))
        return IngestResult(len(lines), rejected, message)

    def _finish_rows(self, prepared: PreparedSpans, project_from_resource: bool) -> None:
        """What needs the collector's own state, applied to the few rows it concerns (each one
        re-read from its line and written back): the retention of spans that named another
        project, generations that turn out to wrap others, and content that arrived first."""
        retention: dict[int, int] = {}
        if project_from_resource:  # spans that named another project keep that project's retention
            retention = {i: self.retention_of(project) for i, project in prepared.moved}
        wrappers: set[int] = set()
        patches: dict[int, ContentPatch] = {}
        if prepared.llm:
            rows = prepared.llm_rows
            wrappers = {rows[j] for j in self._wrappers.wrappers(prepared.llm)}
            pending = self._pending_content
            if pending:
                for i, (trace_id, span_id, _) in zip(rows, prepared.llm, strict=True):
                    patch = pending.pop((trace_id, span_id), None)
                    if patch is not None:
                        patches[i] = patch
        lines = prepared.lines
        for i in {*retention, *wrappers, *patches}:
            row = orjson.loads(lines[i])
            if i in retention:
                row["retention_days"] = retention[i]
            if i in wrappers:
                as_wrapper(row)
            patch = patches.get(i)
            if patch is not None:
                merge_content(row, patch)
            lines[i] = orjson.dumps(row)

    async def logs(
        self, body: bytes, content_type: str | None, encoding: str | None, project_id: str | None = None
    ) -> IngestResult:
        mtype, raw = self._read_body(body, content_type, encoding)
        records, skipped = otlp.decode_logs(raw, mtype)
        if skipped:
            self.metrics.log_records.labels("no_span_context").inc(skipped)
        patches = content_from_logs(records, self.settings.max_content_bytes)
        if not patches:
            self.metrics.log_records.labels("ignored").inc(len(records))
            return IngestResult(0, 0)
        project = project_id or self.settings.project
        redacted: Counter[str] = Counter()
        for patch in patches.values():
            redact_patch(patch, project, self.redaction.policies, redacted)
        for rule, n in redacted.items():
            self.metrics.redactions.labels(rule).inc(n)
        lines = []
        for (trace_id, span_id), patch in patches.items():
            self._pending_content.put((trace_id, span_id), patch)
            row = _content_row(project, trace_id, span_id, patch)
            row["retention_days"] = self.retention_of(project)
            lines.append(orjson.dumps(row))
        digest = hashlib.blake2b(raw, digest_size=wal.HASH_BYTES).digest()
        record = wal.encode(wal.REC_CONTENT, len(lines), digest, b"\n".join(lines))
        self._admit(len(record))
        await self.wal.append([record])
        self.metrics.log_records.labels("content").inc(len(records))
        return IngestResult(len(records), 0)

    def restore_pending(self, rows: list[dict[str, Any]]) -> None:
        """Content stored before a restart whose span has not arrived yet."""
        for r in rows:
            patch = ContentPatch(r["input"], r["output"], list(r.get("finish_reasons") or []))
            self._pending_content.put((r["trace_id"], r["span_id"]), patch)


def _content_row(project: str, trace_id: str, span_id: str, patch: ContentPatch) -> dict[str, Any]:
    return {
        "project_id": project,
        "trace_id": trace_id,
        "span_id": span_id,
        "time": patch_time(),
        "input": patch.input,
        "output": patch.output,
        "finish_reasons": patch.finish_reasons,
    }


def patch_time() -> str:
    ns = time.time_ns()
    return f"{ns // 1_000_000_000}.{(ns // 1000) % 1_000_000:06d}"
