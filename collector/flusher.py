"""Moves acknowledged rows from the write-ahead log into ClickHouse in large batches.

Runs on its own thread, off the request path. A batch is recorded as in flight before it is
inserted and committed after, and its insert carries a deduplication token made from its log
position, so a crash at any point stores every acknowledged span exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from spanscope.collector import wal
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.storage import Storage

log = logging.getLogger("spanscope.flusher")

# A batch is inserted once the log has been quiet this long, without waiting for the interval: a
# burst, or a lone exporter's request, becomes queryable at once; a steady stream still builds up
# large inserts.
QUIET_S = 0.2


class Flusher:
    def __init__(
        self,
        storage: Storage,
        log_: wal.WriteAheadLog,
        metrics: CollectorMetrics,
        batch_max_rows: int = 50_000,
        batch_max_bytes: int = 64 << 20,
        interval_s: float = 1.0,
        on_stored: Callable[[list[bytes]], None] | None = None,
    ) -> None:
        self.storage = storage
        self.wal = log_
        self.metrics = metrics
        self.batch_max_rows = batch_max_rows
        self.batch_max_bytes = batch_max_bytes
        self.interval_s = interval_s
        self.on_stored = on_stored
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spanscope-flusher", daemon=True)
        self.healthy = True
        self.last_error = ""

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stops after a final attempt to drain what is durable."""
        deadline = time.monotonic() + drain_timeout_s
        while self.wal.checkpoint < self.wal.durable and time.monotonic() < deadline and self.healthy:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout=drain_timeout_s)

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                if self.flush_once():
                    backoff = 0.2
                    self.healthy = True
            except Exception as exc:
                self.metrics.storage_errors.inc()
                self.healthy = False
                self.last_error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                log.warning("insert into ClickHouse failed, retrying in %.1fs: %s", backoff, self.last_error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                self.storage.reset()

    def flush_once(self) -> bool:
        """One batch from the log into ClickHouse; False when there was nothing to do."""
        w = self.wal
        if w.inflight and w.inflight[0] == w.checkpoint:
            start, end = w.inflight
            records = w.read(start, 0, 0, end=end)
        else:
            if not w.wait_for_data(w.checkpoint, timeout=0.5):
                self.metrics.queue_depth.set(w.backlog_bytes)
                return False
            self._build_up()
            start = w.checkpoint
            records = w.read(start, self.batch_max_rows, self.batch_max_bytes)
            if not records:
                return False
            end = records[-1].end
        if not records:  # the in-flight range vanished (should not happen): skip it
            w.commit(end, 0)
            return True
        token = w.begin(start, end)
        self._insert(records, token)
        nbytes = sum(r.end.offset - r.start.offset for r in records)
        w.commit(end, nbytes)
        self.metrics.queue_depth.set(w.backlog_bytes)
        return True

    def _build_up(self) -> None:
        """Lets a batch build up (ClickHouse wants few large inserts) until the interval is over, a
        full batch is waiting, or no request has been logged for QUIET_S."""
        w = self.wal
        now = time.monotonic()
        deadline = now + self.interval_s
        last, changed = w.durable, now
        while now < deadline and w.backlog_bytes < self.batch_max_bytes:
            if self._stop.wait(min(QUIET_S / 4, deadline - now)):
                return
            now = time.monotonic()
            if w.durable != last:
                last, changed = w.durable, now
            elif now - changed >= QUIET_S:
                return

    def _insert(self, records: list[wal.Record], token: str) -> None:
        spans = [r.payload for r in records if r.type == wal.REC_SPANS]
        content = [r.payload for r in records if r.type == wal.REC_CONTENT]
        rows = sum(r.rows for r in records if r.type == wal.REC_SPANS)
        if spans:
            t0 = time.perf_counter()
            self.storage.insert_json_rows("spans", spans, f"{token}:spans")
            self.metrics.batch_latency.observe(time.perf_counter() - t0)
            self.metrics.batch_rows.observe(rows)
            self.metrics.spans_stored.inc(rows)
        if content:
            self.storage.insert_json_rows("span_content", content, f"{token}:content")
            self._patch_spans(content)
        if self.on_stored and spans:
            self.on_stored(spans)

    def _patch_spans(self, payloads: list[bytes]) -> None:
        """Applies content that arrived after its span; a no-op for spans not stored yet."""
        rows: list[dict[str, Any]] = [orjson.loads(line) for p in payloads for line in p.split(b"\n") if line]
        keys = [r["trace_id"] + r["span_id"] for r in rows]
        self.storage.patch_content(
            trace_ids=sorted({r["trace_id"] for r in rows}),
            keys=keys,
            inputs=[r["input"] for r in rows],
            outputs=[r["output"] for r in rows],
            finish_reasons=[r.get("finish_reasons") or [] for r in rows],
        )
