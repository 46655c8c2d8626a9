"""A real collector in a child process, as users run it: `spanscope collector`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CollectorProcess:
    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SPANSCOPE_BATCH_INTERVAL_S": "0.2", **(env or {})}
        if "SPANSCOPE_CLICKHOUSE_URL" not in (env or {}):
            self.env.pop("SPANSCOPE_CLICKHOUSE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"collector-{self.port}.log"

    def start(self, wait_ready: bool = True) -> CollectorProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spanscope.collector.cli",
                "collector",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                "info",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait("/readyz" if wait_ready else "/healthz")
        return self

    def wait(self, path: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"collector exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"collector not answering {path}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        r = httpx.post(self.url + "/api/sql", json={"query": query, "params": params}, timeout=60)
        if r.status_code != 200:
            raise AssertionError(f"SQL failed ({r.status_code}): {r.text}")
        doc = r.json()
        names = [m["name"] for m in doc["meta"]]
        return [dict(zip(names, row, strict=True)) for row in doc["data"]]

    def scalar(self, query: str, **params: Any) -> Any:
        rows = self.sql(query, **params)
        return next(iter(rows[0].values())) if rows else None

    def wait_for_count(self, query: str, expected: int, timeout: float = 30.0, **params: Any) -> int:
        """Polls a count() query until it reaches `expected` (or times out, returning the last value)."""
        deadline = time.monotonic() + timeout
        value = -1
        while time.monotonic() < deadline:
            value = int(self.scalar(query, **params) or 0)
            if value >= expected:
                return value
            time.sleep(0.1)
        return value
