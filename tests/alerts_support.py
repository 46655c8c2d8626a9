"""Helpers of the alert tests: a webhook receiver on loopback and OTLP JSON spans to breach rules with."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@dataclass
class WebhookReceiver:
    """Records every POST. Paths decide the answer: /fail/… answers 500, /hang/… answers only after
    `hang_s` (or when the receiver stops), anything else 204."""

    hang_s: float = 30.0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw))
                if self.path.startswith("/hang/"):
                    receiver._release.wait(receiver.hang_s)
                status = 500 if self.path.startswith("/fail/") else 204
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the collector gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        self._release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: still {last!r} after {timeout} s")


def spans_request(service: str, count: int, error: bool, model: str = "gpt-4o-mini") -> dict[str, Any]:
    """OTLP JSON with `count` single-span traces of `service`, ended a moment ago, all failed or all OK."""
    now = time.time_ns()
    spans = []
    for i in range(count):
        start = now - 2_000_000_000 - i * 1_000_000
        spans.append(
            {
                "traceId": os.urandom(16).hex(),
                "spanId": os.urandom(8).hex(),
                "name": "chat",
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 150_000_000),
                "attributes": [
                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                    {"key": "gen_ai.request.model", "value": {"stringValue": model}},
                ],
                "status": {"code": 2, "message": "upstream error"} if error else {"code": 1},
            }
        )
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


def send_spans(base_url: str, service: str, count: int, error: bool) -> httpx.Response:
    r = httpx.post(f"{base_url}/v1/traces", json=spans_request(service, count, error), timeout=10)
    assert r.status_code == 200, r.text
    return r


def rule(name: str, service: str, webhooks: list[str], **fields: Any) -> dict[str, Any]:
    """An error-rate rule on one service: fires above 50 % errors in the last 5 minutes."""
    body: dict[str, Any] = {
        "rule_id": name,
        "name": name,
        "metric": "error_rate",
        "filters": {"service": [service]},
        "window": "5m",
        "operator": ">",
        "threshold": 0.5,
        "webhooks": webhooks,
    }
    body.update(fields)
    return body
