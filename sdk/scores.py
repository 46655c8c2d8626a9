"""Scores (evaluations, user feedback) sent to the collector in the background.

    spanscope.score("helpfulness", 0.8)                       # the current span
    spanscope.score("thumbs_up", True, comment="user click")   # data type inferred: boolean
    spanscope.score("label", "off-topic", trace_id=tid)        # a trace, by id (categorical)

`score()` never blocks and never raises: it validates, puts the score on a bounded queue and
returns whether it was queued. A daemon thread posts batches as JSON to `{endpoint}/api/scores`
with urllib, retrying transient failures twice; what cannot be delivered is counted in `stats()`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

from .diagnostics import incr, internal_error, log_once

DataType = Literal["numeric", "categorical", "boolean"]
SCORES_PATH = "/api/scores"
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
MAX_NAME_CHARS = 200  # the collector's limits (schemas.models.ScoreIn)
MAX_TEXT_CHARS = 10_000
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_STOP = object()


class ScoreSender:
    """Bounded queue + one lazily started daemon thread posting batches of scores."""

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        *,
        max_queue_size: int = 10_000,
        batch_size: int = 100,
        timeout_s: float = 5.0,
        retries: int = 2,
    ) -> None:
        self.url = endpoint.rstrip("/") + SCORES_PATH
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._max_queue_size = max_queue_size
        self._batch_size = batch_size
        self._timeout_s = timeout_s
        self._retries = retries
        self._closed = False
        self.last_failed = False
        self._reset()

    def _reset(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(self._max_queue_size)
        self._cond = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._pid = os.getpid()

    def after_fork(self) -> None:
        """In a forked child: the parent's thread does not exist here; start clean."""
        self._reset()

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            self._reset()
        if self._thread is None or not self._thread.is_alive():
            with self._cond:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="spanscope-scores", daemon=True)
                    self._thread.start()

    def submit(self, item: dict[str, Any]) -> bool:
        if self._closed:
            incr("scores_dropped")
            log_once("scores:closed", "spanscope: score after shutdown() dropped")
            return False
        self._ensure_thread()
        with self._cond:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                incr("scores_dropped")
                log_once(
                    "scores:full", "spanscope: score queue full (%d), dropping scores", self._max_queue_size
                )
                return False
            self._pending += 1
        incr("scores_queued")
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self._batch_size:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            try:
                self._send(batch)
            except Exception as exc:
                incr("scores_failed", len(batch))
                internal_error("score send", exc)
            with self._cond:
                self._pending -= len(batch)
                self._cond.notify_all()
            if stop:
                return

    def _send(self, batch: list[dict[str, Any]]) -> None:
        body = json.dumps({"scores": batch}, ensure_ascii=False).encode("utf-8")
        error: BaseException | None = None
        for attempt in range(self._retries + 1):
            request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                    response.read()
                incr("scores_sent", len(batch))
                self.last_failed = False
                return
            except urllib.error.HTTPError as exc:
                error = exc
                retryable = exc.code in _RETRYABLE_STATUS
            except (urllib.error.URLError, OSError) as exc:
                error = exc
                retryable = True
            if not retryable or attempt == self._retries or self._closed:
                break
            self._wake.wait(min(0.25 * 2**attempt, 2.0))
        incr("scores_failed", len(batch))
        self.last_failed = True
        log_once("scores:send", "spanscope: could not send %d scores to %s: %r", len(batch), self.url, error)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued score was sent or given up on; False on timeout or when the
        last batch could not be delivered."""
        if self._pid != os.getpid():
            return True
        with self._cond:
            drained = self._cond.wait_for(lambda: self._pending <= 0, timeout_s)
        return drained and not self.last_failed

    def close(self, timeout_s: float = 5.0) -> None:
        if self._closed:
            return
        self.flush(timeout_s)
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_STOP)
            thread.join(max(0.0, min(timeout_s, 1.0)))


_sender: ScoreSender | None = None


def set_sender(sender: ScoreSender | None) -> None:
    global _sender
    _sender = sender


def get_sender() -> ScoreSender | None:
    return _sender


def _infer(value: Any, data_type: str | None) -> tuple[DataType, float | None, str | None]:
    """(data_type, numeric value, string value) for the collector's score payload."""
    if data_type is None:
        if isinstance(value, bool):
            data_type = "boolean"
        elif isinstance(value, int | float):
            data_type = "numeric"
        elif isinstance(value, str):
            data_type = "categorical"
        else:
            raise ValueError(f"cannot infer a score type from {type(value).__name__}")
    if data_type == "boolean":
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{value!r} is not a boolean")
            flag = lowered in ("true", "1", "yes")
        elif isinstance(value, bool | int | float) and value in (0, 1):
            flag = bool(value)
        else:
            raise ValueError(f"{value!r} is not a boolean")
        return "boolean", 1.0 if flag else 0.0, "true" if flag else "false"
    if data_type == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not finite")
        return "numeric", number, None
    if data_type == "categorical":
        if value is None:
            raise ValueError("a categorical score needs a value")
        numeric = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        return "categorical", numeric, str(value)
    raise ValueError(f"unknown data_type {data_type!r} (numeric, categorical or boolean)")


def score(
    name: str,
    value: float | int | bool | str,
    *,
    trace_id: str | None = None,
    span_id: str | None = None,
    comment: str | None = None,
    data_type: DataType | None = None,
) -> bool:
    """Attach a score to the current span (default), or to `trace_id`/`span_id` (hex ids).

    The data type is inferred (bool → boolean, number → numeric, str → categorical) unless given.
    Returns True when the score was queued for sending; never raises. Scores in a trace that head
    sampling dropped are not sent (there is nothing to attach them to).
    """
    try:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise ValueError(f"a score needs a name of 1 to {MAX_NAME_CHARS} characters")
        if trace_id is None:
            context = trace.get_current_span().get_span_context()
            if not context.is_valid:
                incr("scores_dropped")
                log_once(
                    "scores:no-trace", "spanscope: score(%r) outside any span and without trace_id", name
                )
                return False
            if not context.trace_flags.sampled:
                incr("scores_dropped")
                return False
            trace_id = format(context.trace_id, "032x")
            if span_id is None:
                span_id = format(context.span_id, "016x")
        trace_id = str(trace_id).lower()
        if not _HEX32.match(trace_id) or trace_id == "0" * 32:
            raise ValueError(f"trace_id {trace_id!r} is not 32 hex digits")
        if span_id is not None:
            span_id = str(span_id).lower()
            if not _HEX16.match(span_id) or span_id == "0" * 16:
                raise ValueError(f"span_id {span_id!r} is not 16 hex digits")
        kind, number, text = _infer(value, data_type)
        sender = _sender
        if sender is None:
            incr("scores_dropped")
            log_once("scores:no-init", "spanscope: score() before spanscope.init(); scores are dropped")
            return False
        if text is not None and len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
        if comment is not None:
            comment = str(comment)[:MAX_TEXT_CHARS]
        return sender.submit(
            {
                "score_id": uuid.uuid4().hex,  # lets the collector drop a retried duplicate
                "trace_id": trace_id,
                "span_id": span_id,
                "name": name,
                "value": number,
                "string_value": text,
                "data_type": kind,
                "source": "sdk",
                "comment": comment,
                "timestamp": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            }
        )
    except ValueError as exc:
        incr("scores_dropped")
        log_once(f"scores:invalid:{name}", "spanscope: invalid score %r dropped: %s", name, exc)
        return False
    except Exception as exc:
        incr("scores_dropped")
        internal_error("score", exc)
        return False
