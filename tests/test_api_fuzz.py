"""Schemathesis over the query API's OpenAPI schema: generated requests to every `/api` operation of a
live collector with data never get a 5xx.

Bounded for the suite; a longer run:

    SPANSCOPE_API_FUZZ_EXAMPLES=200 python -m pytest -q -p no:timeout tests/test_api_fuzz.py

(more than 3 examples also turns on schemathesis' coverage phase: boundary values of every parameter).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.collector_process import CollectorProcess
from tests.conftest import fixture_request

EXAMPLES = int(os.environ.get("SPANSCOPE_API_FUZZ_EXAMPLES", "3"))
COVERAGE = EXAMPLES > 3
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
    # The coverage phase (boundary values of every parameter) runs only in the longer run.
    phases = {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}}
    config = schemathesis.Config.from_dict({"phases": phases})
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", config=config)
    return schema.include(path_regex="^/api/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_with_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error], timeout=30)
