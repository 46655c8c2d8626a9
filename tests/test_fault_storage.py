"""Storage outage mid-stream (HTTP path): acknowledged spans are stored exactly once after it returns.

tests/test_storage_http.py checks the 503 once the log is full with the server already down; here a
client keeps streaming, like an OTel exporter, while the ClickHouse server is stopped (or killed in
the middle of an insert) and later restarted: the collector keeps acknowledging into its log up to the
backlog limit, answers 503 with Retry-After past it, and drains the backlog when the server returns.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.clickhouse_http_fixture import ServerHandle, start_clickhouse_http
from tests.collector_process import CollectorProcess

BATCH = 25


@pytest.fixture
def clickhouse(tmp_path: Path) -> Iterator[ServerHandle]:
    with start_clickhouse_http(tmp_path / "clickhouse") as server:
        yield server


def _batch(trace_id: str) -> tuple[bytes, list[str]]:
    now = time.time_ns()
    ids = [os.urandom(8).hex() for _ in range(BATCH)]
    spans = [
        {"traceId": trace_id, "spanId": sid, "name": "step", "startTimeUnixNano": str(now), "endTimeUnixNano": str(now)}
        for sid in ids
    ]
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}), ids


class Stream:
    """A client sending batches until stopped; a refused batch is retried after Retry-After."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.trace_id = os.urandom(16).hex()
        self.acked: list[str] = []
        self.refusals: list[tuple[int, str, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                body, ids = _batch(self.trace_id)
                while not self.stop.is_set():
                    r = client.post(f"{self.url}/v1/traces", content=body, headers={"Content-Type": "application/json"})
                    if r.status_code == 200:
                        self.acked.extend(ids)
                        break
                    self.refusals.append((r.status_code, r.headers.get("Retry-After", ""), r.text[:200]))
                    self.stop.wait(min(float(r.headers.get("Retry-After") or 1), 0.5))  # bounded for the test
                time.sleep(0.01)

    def wait_for(self, condition: object, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.05)
        assert condition(), "stream did not reach the expected state in time"  # type: ignore[operator]


@pytest.mark.parametrize("outage", ["stop", "kill"], ids=["server-stopped", "server-killed"])
def test_storage_outage_mid_stream_stores_every_acknowledged_span_exactly_once(
    tmp_path: Path, clickhouse: ServerHandle, outage: str
) -> None:
    proc = CollectorProcess(
        tmp_path / "data",
        env={"SPANSCOPE_CLICKHOUSE_URL": clickhouse.url, "SPANSCOPE_WAL_MAX_BACKLOG_BYTES": "600000"},
    ).start()
    stream = Stream(proc.url)
    try:
        stream.thread.start()
        q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
        assert proc.wait_for_count(q, 10 * BATCH, t=stream.trace_id) >= 10 * BATCH  # flowing into ClickHouse
        getattr(clickhouse, outage)()
        acked_at_outage = len(stream.acked)
        stream.wait_for(lambda: any(code == 503 for code, _, _ in stream.refusals))  # the log filled up
        assert len(stream.acked) > acked_at_outage, f"no acknowledgement while storage was down: {stream.refusals[:3]}"
        assert all(code == 503 and int(retry) > 0 for code, retry, _ in stream.refusals), stream.refusals[:5]
        clickhouse.start()
        refused = len(stream.refusals)
        stream.wait_for(lambda: len(stream.acked) >= acked_at_outage + 40 * BATCH)  # flowing again
        stream.stop.set()
        stream.thread.join()
        assert len(stream.refusals) >= refused

        expected = set(stream.acked)
        assert proc.wait_for_count(q, len(expected), timeout=60, t=stream.trace_id) == len(expected)
        time.sleep(1.0)  # nothing more arrives late
        client = clickhouse.client()
        rows = client.query(
            "SELECT span_id, count() FROM spanscope.spans WHERE trace_id = {t:String} GROUP BY span_id",
            parameters={"t": stream.trace_id},
        ).result_rows
        assert {sid for sid, _ in rows} == expected
        assert [sid for sid, n in rows if n > 1] == []
    finally:
        stream.stop.set()
        if stream.thread.is_alive():
            stream.thread.join()
        proc.stop()
