"""Webhook delivery on worker threads of its own.

Rule evaluation only puts notifications on a bounded queue, so a webhook that hangs or fails costs
the workers' time (a timeout per attempt, a few retries with backoff) and never the evaluator's or
the ingest path's. A full queue drops the notification and says so in the history.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from spanscope.schemas.alerts import AlertNotification, DeliveryResult

log = logging.getLogger("spanscope.alerts")

SIGNATURE_HEADER = "X-Spanscope-Signature"
DEDUP_HEADER = "X-Spanscope-Dedup-Key"
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_STOP = object()


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as receivers verify it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    client: httpx.Client,
    url: str,
    notification: AlertNotification,
    secret: str | None,
    retries: int,
    backoff_s: float,
    stop: threading.Event | None = None,
) -> DeliveryResult:
    """POSTs the notification, retrying transport errors and 408/429/5xx with exponential backoff."""
    body = notification.model_dump_json().encode()
    headers = {"Content-Type": "application/json", DEDUP_HEADER: notification.dedup_key}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    status, error = 0, ""
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        try:
            response = client.post(url, content=body, headers=headers)
            status = response.status_code
            if 200 <= status < 300:
                return DeliveryResult(url=url, ok=True, http_status=status, attempts=attempts)
            error = f"HTTP {status}: {response.text[:200]}"
            if status not in _RETRY_STATUS:
                break
        except httpx.TimeoutException as exc:
            status, error = 0, f"timed out ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            status, error = 0, f"{type(exc).__name__}: {exc}"[:300]
        if attempt < retries:
            delay = min(backoff_s * 2**attempt, 30.0)
            if stop is not None and stop.wait(delay):
                error += " (collector stopping)"
                break
            if stop is None:
                threading.Event().wait(delay)
    return DeliveryResult(url=url, ok=False, http_status=status, attempts=attempts, error=error)


@dataclass(frozen=True)
class Delivery:
    project: str
    rule_id: str
    rule_name: str
    url: str
    secret: str | None
    notification: AlertNotification


class WebhookDispatcher:
    """A bounded queue drained by a few worker threads, each with its own HTTP client."""

    def __init__(
        self,
        on_result: Callable[[Delivery, DeliveryResult], None],
        *,
        workers: int = 4,
        queue_size: int = 1000,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self.on_result = on_result
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self.retries = retries
        self.backoff_s = backoff_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"spanscope-webhook-{i}", daemon=True) for i in range(workers)
        ]

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, headers={"User-Agent": "spanscope-alerts/1"})

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def submit(self, delivery: Delivery) -> bool:
        """False when the queue is full (the caller records the drop)."""
        try:
            self._queue.put_nowait(delivery)
            return True
        except queue.Full:
            return False

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stops promptly: queued notifications are abandoned, a request in flight runs to its timeout."""
        self._stop.set()
        for _ in self._threads:
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                break
        for t in self._threads:
            if t.is_alive():
                t.join(timeout_s / max(1, len(self._threads)))

    def _work(self) -> None:
        with self.client() as client:
            while not self._stop.is_set():
                item = self._queue.get()
                if item is _STOP or self._stop.is_set():
                    return
                assert isinstance(item, Delivery)
                result = post_webhook(
                    client, item.url, item.notification, item.secret, self.retries, self.backoff_s, self._stop
                )
                try:
                    self.on_result(item, result)
                except Exception:
                    log.exception("recording the delivery to %s failed", item.url)
