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
from spanscope.collector.config import Settings
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.normalize import (
    ContentPatch,
    NormalizeContext,
    content_from_logs,
    merge_content,
    normalize,
)
from spanscope.collector.normalize.wrappers import WrapperTracker
from spanscope.collector.pricing import PriceTable
from spanscope.collector.security.redaction import RedactionState, load_file, redact_patch, redact_rows

log = logging.getLogger("spanscope.ingest")

CONTENT_KINDS = frozenset({"generation", "embedding"})


# Bodies at least this large are decoded and normalised in a worker process; smaller ones inline,
# where the round trip to a worker would cost more than it saves.
POOL_MIN_BYTES = 64 * 1024

_worker_prices: PriceTable | None = None


def _init_worker(price_file: Path | None) -> None:
    global _worker_prices
    _worker_prices = PriceTable.load(price_file)


def _decode_and_normalize(
    raw: bytes, mtype: str, limits: otlp.Limits, ctx_args: dict[str, Any]
) -> tuple[list[dict[str, Any]], int, str, dict[str, int]]:
    """Runs in a worker process (or inline): the CPU-bound part of a traces request, redaction
    included, so secrets are gone before anything is written; returns redactions per rule."""
    policies = ctx_args.pop("redaction")
    decoded = otlp.decode_traces(raw, mtype, limits)
    if not decoded.spans:
        return [], decoded.rejected, decoded.error_message, {}
    prices = ctx_args.pop("prices", None) or _worker_prices
    assert prices is not None
    rows = normalize(decoded.spans, NormalizeContext(prices=prices, **ctx_args))
    return rows, decoded.rejected, decoded.error_message, redact_rows(rows, policies)


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


class _Lru(OrderedDict[Any, Any]):
    """A bounded mapping that forgets its oldest entries."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        log_: wal.WriteAheadLog,
        metrics: CollectorMetrics,
        prices: PriceTable,
    ) -> None:
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
        self._pending_content: _Lru = _Lru(100_000)  # content that arrived before its span
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

    def _read_body(self, body: bytes, content_type: str | None, encoding: str | None) -> tuple[str, bytes]:
        mtype = otlp.media_type(content_type)
        if len(body) > self.settings.max_body_bytes:
            raise otlp.PayloadError(
                f"body of {len(body)} bytes exceeds the limit of {self.settings.max_body_bytes}", 413
            )
        return mtype, otlp.decompress(body, encoding, self.settings.max_body_bytes)

    async def traces(
        self,
        body: bytes,
        content_type: str | None,
        encoding: str | None,
        project_id: str | None = None,
        project_from_resource: bool = True,
    ) -> IngestResult:
        mtype, raw = self._read_body(body, content_type, encoding)
        digest = hashlib.blake2b(raw, digest_size=wal.HASH_BYTES, key=(project_id or "").encode()[:64]).digest()
        if digest in self._seen_requests:
            self.metrics.duplicate_requests.inc()
            return IngestResult(0, 0, duplicate=True)
        ctx_args = self._ctx_args(project_id, project_from_resource)
        ctx_args["redaction"] = self.redaction.policies
        if self._pool is not None and len(raw) >= POOL_MIN_BYTES:
            loop = asyncio.get_running_loop()
            rows, rejected, message, redacted = await loop.run_in_executor(
                self._pool, _decode_and_normalize, raw, mtype, self.limits, ctx_args
            )
        else:
            ctx_args["prices"] = self.prices
            rows, rejected, message, redacted = _decode_and_normalize(raw, mtype, self.limits, ctx_args)
        for rule, n in redacted.items():
            self.metrics.redactions.labels(rule).inc(n)
        self.metrics.spans_received.inc(len(rows) + rejected)
        if rejected:
            self.metrics.spans_rejected.labels("invalid").inc(rejected)
        if not rows:
            if rejected:
                raise otlp.PayloadError(f"all {rejected} spans were rejected: {message}")
            return IngestResult(0, 0)
        if project_from_resource:  # spans that named another project keep that project's retention
            project = ctx_args["project_id"]
            for row in rows:
                if row["project_id"] != project:
                    row["retention_days"] = self.retention_of(row["project_id"])
        self._wrappers.mark(rows)
        self._attach_pending_content(rows)
        payload = b"\n".join(orjson.dumps(r) for r in rows)
        record = wal.encode(wal.REC_SPANS, len(rows), digest, payload)
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
        self.metrics.spans_accepted.inc(len(rows))
        return IngestResult(len(rows), rejected, message)

    def _attach_pending_content(self, rows: list[dict[str, Any]]) -> None:
        pending = self._pending_content
        if not pending:
            return
        for row in rows:
            if row.get("kind") in CONTENT_KINDS:
                patch = pending.pop((row["trace_id"], row["span_id"]), None)
                if patch is not None:
                    merge_content(row, patch)

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
