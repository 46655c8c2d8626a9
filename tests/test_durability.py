"""Crash safety: what the collector acknowledged is stored exactly once after SIGKILL and restart."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import orjson

from tests.collector_process import CollectorProcess


def _batch(trace_id: str, n: int, offset: int) -> tuple[bytes, list[str]]:
    now = time.time_ns()
    ids = [os.urandom(8).hex() for _ in range(n)]
    spans = [
        {
            "traceId": trace_id,
            "spanId": sid,
            "name": f"step-{offset + i}",
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1_000_000),
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}}],
        }
        for i, sid in enumerate(ids)
    ]
    body = orjson.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": "durability"}}]
                    },
                    "scopeSpans": [{"spans": spans}],
                }
            ]
        }
    )
    return body, ids


def test_sigkill_mid_stream_loses_and_doubles_nothing(tmp_path: Path) -> None:
    proc = CollectorProcess(tmp_path / "data").start()
    trace_id = os.urandom(16).hex()
    acked: list[str] = []
    unacked: list[tuple[bytes, list[str]]] = []
    stop = threading.Event()

    def send() -> None:
        i = 0
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                body, ids = _batch(trace_id, 50, i)
                i += 50
                try:
                    r = client.post(
                        f"{proc.url}/v1/traces", content=body, headers={"Content-Type": "application/json"}
                    )
                    if r.status_code == 200:
                        acked.extend(ids)
                    else:
                        unacked.append((body, ids))
                except httpx.HTTPError:
                    unacked.append((body, ids))
                    time.sleep(0.05)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    while len(acked) < 1000 and time.monotonic() < deadline:  # mid-stream, however loaded the machine
        time.sleep(0.05)
    proc.kill()
    acked_at_kill = len(acked)
    time.sleep(0.3)
    stop.set()
    sender.join()
    assert acked_at_kill > 500, "the stream should have been going for a while"

    proc.start()
    # Like an OTel exporter, retry what got no answer; some of it may already be durable.
    with httpx.Client(timeout=10) as client:
        for body, ids in unacked:
            r = client.post(
                f"{proc.url}/v1/traces", content=body, headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 200, r.text
            acked.extend(ids)

    expected = len(set(acked))
    q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
    assert proc.wait_for_count(q, expected, timeout=60, t=trace_id) == expected
    time.sleep(1.0)
    assert proc.scalar(q, t=trace_id) == expected
    doubles = proc.sql(
        "SELECT span_id, count() AS n FROM spanscope.spans WHERE trace_id = {t:String} GROUP BY span_id HAVING n > 1",
        t=trace_id,
    )
    assert doubles == []
    stored = {
        r["span_id"]
        for r in proc.sql("SELECT span_id FROM spanscope.spans WHERE trace_id = {t:String}", t=trace_id)
    }
    assert stored == set(acked)
    proc.stop()
