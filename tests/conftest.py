"""Shared fixtures: real collectors in child processes on loopback, real storage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector_process import CollectorProcess

FIXTURES = Path(__file__).parent / "fixtures" / "otlp"


@pytest.fixture(scope="session")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    """One collector on embedded chDB shared by the tests that only add data."""
    proc = CollectorProcess(tmp_path_factory.mktemp("embedded") / "data").start()
    yield proc
    proc.stop()


def fixture_request(name: str, shift_to_now: bool = True) -> ExportTraceServiceRequest:
    """A captured third-party payload, its timestamps moved to now so it passes the clock check."""
    req = ExportTraceServiceRequest.FromString((FIXTURES / name / "traces.pb").read_bytes())
    if shift_to_now:
        spans = [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
        delta = time.time_ns() - max(s.end_time_unix_nano for s in spans)
        for s in spans:
            s.start_time_unix_nano += delta
            s.end_time_unix_nano += delta
            for e in s.events:
                e.time_unix_nano += delta
    return req
