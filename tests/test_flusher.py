"""Insert batching: a steady stream builds large inserts, a pause makes what came queryable at once."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.collector_process import CollectorProcess

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def slow_batches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    """A collector whose batches may build up for 30 s."""
    proc = CollectorProcess(tmp_path_factory.mktemp("flusher"), env={"SPANSCOPE_BATCH_INTERVAL_S": "30"}).start()
    try:
        yield proc
    finally:
        proc.stop()


def _request(service: str, n: int) -> bytes:
    now = time.time_ns()
    trace_id = os.urandom(16).hex()
    spans = [
        {"traceId": trace_id, "spanId": os.urandom(8).hex(), "name": "step", "startTimeUnixNano": str(now),
         "endTimeUnixNano": str(now + 1_000_000)}
        for _ in range(n)
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return orjson.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]})


def _inserts(proc: CollectorProcess) -> float:
    text = httpx.get(f"{proc.url}/metrics").text
    match = re.search(r"^spanscope_batch_rows_count (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def _count(proc: CollectorProcess, service: str) -> int:
    return int(proc.scalar("SELECT count() FROM spanscope.spans WHERE service = {s:String}", s=service) or 0)


def test_a_lone_request_is_queryable_long_before_the_interval(slow_batches: CollectorProcess) -> None:
    started = time.monotonic()
    assert httpx.post(f"{slow_batches.url}/v1/traces", content=_request("lone", 3), headers=JSON).status_code == 200
    assert slow_batches.wait_for_count("SELECT count() FROM spanscope.spans WHERE service = 'lone'", 3, 20) == 3
    assert time.monotonic() - started < 10


def test_a_steady_stream_is_inserted_in_one_batch(slow_batches: CollectorProcess) -> None:
    before = _inserts(slow_batches)
    for _ in range(8):
        r = httpx.post(f"{slow_batches.url}/v1/traces", content=_request("stream", 5), headers=JSON)
        assert r.status_code == 200
        time.sleep(0.05)
    assert slow_batches.wait_for_count("SELECT count() FROM spanscope.spans WHERE service = 'stream'", 40, 20) == 40
    assert _inserts(slow_batches) - before <= 2
    assert _count(slow_batches, "stream") == 40


def test_the_interval_bounds_how_long_a_batch_builds_up(tmp_path: Path) -> None:
    proc = CollectorProcess(tmp_path, env={"SPANSCOPE_BATCH_INTERVAL_S": "1"}).start()
    try:
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 4:  # never quiet for 0.2 s: only the interval ends a batch
            assert httpx.post(f"{proc.url}/v1/traces", content=_request("busy", 2), headers=JSON).status_code == 200
            sent += 2
            time.sleep(0.05)
        assert proc.wait_for_count("SELECT count() FROM spanscope.spans WHERE service = 'busy'", sent, 20) == sent
        assert _inserts(proc) >= 3
    finally:
        proc.stop()
