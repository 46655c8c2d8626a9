"""A local OpenAI-compatible chat server with production-like failures, so the demo needs no API key.

The primary model sometimes answers 429 (rate limit) or 500, latency grows with output length, and
now and then the answer is off-format (prose or truncated JSON instead of the requested JSON).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Per model: failure probabilities, off-format probability, seconds per output token, quality.
PROFILES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {
        "rate_limit": 0.22,
        "error": 0.03,
        "off_format": 0.1,
        "s_per_token": 0.0012,
        "base": 0.12,
    },
    "claude-3-5-haiku-20241022": {
        "rate_limit": 0.02,
        "error": 0.01,
        "off_format": 0.03,
        "s_per_token": 0.0016,
        "base": 0.2,
    },
    "gpt-4o": {"rate_limit": 0.05, "error": 0.01, "off_format": 0.02, "s_per_token": 0.002, "base": 0.25},
}
DEFAULT_PROFILE = {"rate_limit": 0.0, "error": 0.0, "off_format": 0.0, "s_per_token": 0.001, "base": 0.05}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _context_sentences(messages: list[dict[str, Any]]) -> list[str]:
    text = " ".join(str(m.get("content", "")) for m in messages if m.get("role") in ("system", "user"))
    found = re.findall(r"\[(doc-\d+)\] ([^\[]+)", text)
    return [f"{body.strip()} [{doc}]" for doc, body in found]


class FakeLLM:
    """Runs the server on a background thread; `url` is the OpenAI-style base URL."""

    def __init__(self, seed: int | None = None, speed: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.speed = speed
        self._lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-llm", daemon=True)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _roll(self) -> float:
        with self._lock:
            return self.rng.random()

    def complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """(status, response, seconds to wait) for one chat completion request."""
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        prof = PROFILES.get(model, DEFAULT_PROFILE)
        if self._roll() < prof["rate_limit"]:
            return (
                429,
                {"error": {"type": "rate_limit_exceeded", "message": f"Rate limit reached for {model}"}},
                0.02,
            )
        if self._roll() < prof["error"]:
            return 500, {"error": {"type": "server_error", "message": "The server had an error"}}, 0.05
        sentences = _context_sentences(messages)
        if sentences:
            answer = " ".join(sentences[:2])
            citations = re.findall(r"\[(doc-\d+)\]", answer)
        else:
            answer, citations = "INSUFFICIENT_DATA", []
        wants_json = "json" in json.dumps(body.get("response_format") or {}) or "JSON" in json.dumps(messages)
        content = json.dumps({"answer": re.sub(r" \[doc-\d+\]", "", answer), "citations": citations})
        if wants_json and self._roll() < prof["off_format"]:
            content = (
                f"Sure! Here is the answer: {answer}" if self._roll() < 0.5 else content[: len(content) // 2]
            )
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in messages)
        completion_tokens = _tokens(content)
        delay = (prof["base"] + completion_tokens * prof["s_per_token"] * (0.5 + self._roll())) / self.speed
        resp = {
            "id": f"chatcmpl-{int(time.time() * 1000)}{int(self._roll() * 1e6)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model if model in PROFILES else "fake-model",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, resp, delay

    def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, text in enumerate(items):
            rng = random.Random(str(text))
            data.append(
                {"object": "embedding", "index": i, "embedding": [rng.uniform(-1, 1) for _ in range(8)]}
            )
        tokens = sum(_tokens(str(t)) for t in items)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "invalid JSON"}})
                    return
                if self.path.endswith("/chat/completions"):
                    status, resp, delay = llm.complete(body)
                    time.sleep(delay)
                    self._send(status, resp)
                elif self.path.endswith("/embeddings"):
                    self._send(200, llm.embed(body))
                else:
                    self._send(404, {"error": {"message": f"unknown path {self.path}"}})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

        return Handler
