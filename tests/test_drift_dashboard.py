"""The Drift page under Streamlit's AppTest, against a real collector child process holding a
baseline three days ago and slower, differently mixed traffic in the last hours."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import spanscope.dashboard
from streamlit.testing.v1 import AppTest

from tests.collector_process import CollectorProcess

APP = Path(spanscope.dashboard.__file__).parent / "app.py"
CALLS = 200
TIMEOUT = 60


def _attr(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def calls(ago_s: tuple[int, int], latency_ms: float, models: list[str], seed: int) -> list[dict[str, Any]]:
    """Single-span traces: one LLM call each."""
    rng = random.Random(seed)
    now = time.time_ns()
    spans = []
    for _ in range(CALLS):
        start = now - rng.randint(*ago_s) * 1_000_000_000
        duration = rng.lognormvariate(0, 0.3) * latency_ms
        model = rng.choice(models)
        spans.append(
            {
                "traceId": os.urandom(16).hex(),
                "spanId": os.urandom(8).hex(),
                "name": "chat",
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + int(duration * 1_000_000)),
                "attributes": [
                    _attr("gen_ai.operation.name", "chat"),
                    _attr("gen_ai.request.model", model),
                    _attr("gen_ai.response.model", model),
                    _attr("gen_ai.usage.input_tokens", rng.randint(80, 120)),
                    _attr("gen_ai.usage.output_tokens", rng.randint(20, 60)),
                ],
            }
        )
    return spans


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc = CollectorProcess(tmp_path_factory.mktemp("drift-dashboard") / "data").start()
    try:
        spans = calls((3 * 86400, 3 * 86400 + 3600), 400.0, ["gpt-4o-mini"], 1)
        spans += calls((600, 7200), 800.0, ["gpt-4o-mini", "gpt-5"], 2)
        body = {
            "resourceSpans": [
                {"resource": {"attributes": [_attr("service.name", "drift-svc")]}, "scopeSpans": [{"spans": spans}]}
            ]
        }
        assert httpx.post(f"{proc.url}/v1/traces", json=body, timeout=30).status_code == 200
        deadline = time.monotonic() + 60
        while True:
            s = httpx.get(f"{proc.url}/api/drift", params={"signal": "latency_ms"}, timeout=30).json()
            if s["signals"][0]["n_current"] == CALLS and s["signals"][0]["n_baseline"] == CALLS:
                break
            assert time.monotonic() < deadline, s
            time.sleep(0.5)
        os.environ["SPANSCOPE_API_URL"] = proc.url
        yield proc.url
    finally:
        os.environ.pop("SPANSCOPE_API_URL", None)
        proc.stop()


def drift_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("views/drift.py")
    return at.run()


def test_the_signal_table_flags_the_slower_calls_and_the_new_model(api_url: str) -> None:
    at = drift_page()
    assert not at.exception, "\n".join(str(e.value) for e in at.exception)
    assert at.title[0].value == "Drift"
    table = at.dataframe[0].value.set_index("Signal")
    assert table.loc["Latency (ms)", "Status"] == "significant"
    assert table.loc["Model mix", "Status"] == "significant"
    assert table.loc["Input tokens per call", "Status"] == "stable"


def test_the_selected_signal_shows_both_distributions_and_its_psi_over_time(api_url: str) -> None:
    at = drift_page()
    at.selectbox(key="drift_signal").set_value("latency_ms").run()
    assert not at.exception, "\n".join(str(e.value) for e in at.exception)
    bars, history = (c.proto for c in at.get("plotly_chart"))
    assert '"name":"baseline"' in bars.spec.replace(" ", "") and '"name":"current"' in bars.spec.replace(" ", "")
    assert "psi per" in history.spec
