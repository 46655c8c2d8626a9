"""Schemathesis over the query API's OpenAPI schema: generated requests to every `/api` operation of a
live collector with data never get a 5xx.

Bounded for the suite; a longer run:

    SPANSCOPE_API_FUZZ_EXAMPLES=200 python -m pytest -q -p no:timeout tests/test_api_fuzz.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.collector_process import CollectorProcess
from tests.conftest import fixture_request

EXAMPLES = int(os.environ.get("SPANSCOPE_API_FUZZ_EXAMPLES", "3"))
PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path_factory.mktemp("api-fuzz") / "data").start()
    for name in ("openinference-openai", "otel-genai-openai-v2", "otel-genai-openai-v2-content"):
        r = httpx.post(f"{proc.url}/v1/traces", content=fixture_request(name).SerializeToString(), headers=PB)
        assert r.status_code == 200, r.text
    proc.wait_for_count("SELECT count() FROM spanscope.spans", 8)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api_schema(live: CollectorProcess) -> Any:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    return schema.include(path_regex="^/api/")


def test_api_never_answers_with_a_server_error(api_schema: Any) -> None:
    """Every operation in turn, through hypothesis directly (schemathesis' pytest plugin follows
    pytest's internals too closely to survive its upgrades)."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=30)

        try:
            call()
        except Exception as exc:  # one line per failing operation, all operations still run
            failures.append(f"{operation.label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    assert operations > 20, "the schema lists the query API's operations"
    assert not failures, "\n".join(failures)
