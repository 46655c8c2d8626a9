"""Starts tests/clickhouse_http.py as a subprocess so tests can talk HTTP to a chDB-backed "server".

A subprocess, not a thread: chDB hosts one engine per process, and the code under test may open
its own embedded engine. The handle keeps the port and data directory so a test can stop, kill
and restart the server to check what survives.

Typical registration in a conftest::

    @pytest.fixture
    def clickhouse_http(tmp_path):
        with start_clickhouse_http(tmp_path) as server:
            yield server
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

SERVER_SCRIPT = Path(__file__).with_name("clickhouse_http.py")
_LISTENING_RE = re.compile(rb"listening on [^\s:]+:(\d+)")


class ServerHandle:
    """One clickhouse_http server process; restartable on the same port and data directory."""

    def __init__(self, data_dir: Path, *, database: str = "spanscope", password: str | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.database = database
        self.password = password
        self.port = 0  # 0 until the first start, when the server picks a free port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """URL in the form SPANSCOPE_CLICKHOUSE_URL expects: http://user:password@host:port/database."""
        return f"http://default:{quote(self.password or '', safe='')}@127.0.0.1:{self.port}/{self.database}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> ServerHandle:
        """Starts the process and returns once /ping answers; the first start chooses the port."""
        if self.running:
            raise RuntimeError(f"clickhouse_http already running on port {self.port}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        cmd = [sys.executable, str(SERVER_SCRIPT), "--port", str(self.port), "--path", str(self.data_dir)]
        if self.password is not None:
            cmd += ["--password", self.password]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse_http exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"clickhouse_http not ready after {timeout:.0f}s:\n{self.log_tail()}")
            match = _LISTENING_RE.search(self.log_path.read_bytes()[log_offset:])
            if match and self._ping(int(match.group(1))):
                self.port = int(match.group(1))
                return self
            time.sleep(0.05)

    @staticmethod
    def _ping(port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                return bool(resp.read() == b"Ok.\n")
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, the clean shutdown path; escalates to SIGKILL if the server hangs.

        Returns the exit status (0 after a clean shutdown, negative for a signal), None if not started.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code, self.proc = self.proc.returncode, None
        return code

    def kill(self) -> None:
        """SIGKILL, to check what a crash leaves on disk."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, size: int = 4000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-size:].decode(errors="replace")

    def client(self, **kwargs: Any) -> Any:
        """A clickhouse-connect HTTP client for this server, configured like spanscope's storage."""
        import clickhouse_connect

        options: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": "default",
            "password": self.password or "",
            "autogenerate_session_id": False,
            **kwargs,
        }
        return clickhouse_connect.get_client(**options)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_clickhouse_http(
    tmp_path: Path, *, database: str = "spanscope", password: str | None = None, name: str = "clickhouse"
) -> ServerHandle:
    """Starts a server with its data in ``tmp_path/name``; use the handle as a context manager."""
    handle = ServerHandle(tmp_path / name, database=database, password=password)
    try:
        return handle.start()
    except BaseException:
        with contextlib.suppress(Exception):
            handle.kill()
        raise


__all__ = ["SERVER_SCRIPT", "ServerHandle", "start_clickhouse_http"]
