"""Scores in the dashboard's trace view (AppTest against a real collector): thumbs up/down with a
comment creates a human score; evaluator, boolean and categorical scores show as badges."""

from __future__ import annotations

import os
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


def one_trace() -> tuple[str, str, dict[str, Any]]:
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    start = time.time_ns() - 30_000_000_000
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "answer",
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 300_000_000),
        "attributes": [
            {"key": "spanscope.span.kind", "value": {"stringValue": "generation"}},
            {"key": "spanscope.output", "value": {"stringValue": "Paris."}},
        ],
    }
    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
    return trace_id, span_id, body


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(collector URL, trace id, span id) of one stored trace with a categorical and a boolean score."""
    proc = CollectorProcess(tmp_path_factory.mktemp("scores-dashboard") / "data").start()
    try:
        trace_id, span_id, body = one_trace()
        assert httpx.post(f"{proc.url}/v1/traces", json=body, timeout=10).status_code == 200
        proc.wait_for_count("SELECT count() FROM spanscope.trace_summary WHERE trace_id = {t:String}", 1, t=trace_id)
        scores = [
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "name": "topic",
                "string_value": "geography",
                "data_type": "categorical",
                "source": "api",
            },
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "name": "json_ok",
                "value": 0,
                "data_type": "boolean",
                "source": "evaluator",
            },
        ]
        assert httpx.post(f"{proc.url}/api/scores", json={"scores": scores}, timeout=10).status_code == 200
        yield proc.url, trace_id, span_id
    finally:
        proc.stop()


@pytest.fixture()
def opened(trace: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[AppTest, str, str]:
    url, trace_id, _ = trace
    monkeypatch.setenv("SPANSCOPE_API_URL", url)
    monkeypatch.setenv("SPANSCOPE_DASHBOARD_USER", "ana@example.com")
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["trace"] = trace_id
    at.switch_page("views/traces.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, url, trace_id


def human_scores(url: str, trace_id: str) -> list[dict[str, Any]]:
    scores = httpx.get(f"{url}/api/traces/{trace_id}/scores", timeout=10).json()["scores"]
    return [s for s in scores if s["source"] == "human"]


def test_thumbs_down_with_a_comment_creates_a_human_score(opened: tuple[AppTest, str, str]) -> None:
    at, url, trace_id = opened
    at.feedback(key=f"fb_choice_{trace_id}").set_value(0)
    at.text_input(key=f"fb_comment_{trace_id}").input("wrong city")
    at.button(key="fb_send").click().run()
    assert not at.exception
    assert any("feedback was saved" in s.value for s in at.success)
    (score,) = human_scores(url, trace_id)
    assert (score["name"], score["value"], score["data_type"]) == ("user_feedback", 0.0, "boolean")
    assert (score["comment"], score["author"], score["span_id"]) == ("wrong city", "ana@example.com", None)
    # The new score shows at once (the cache was cleared), and the form is reset.
    assert any("user_feedback" in m.value and "thumb_down: 1" in m.value for m in at.markdown)
    assert at.text_input(key=f"fb_comment_{trace_id}").value == ""


def test_sending_without_choosing_thumbs_up_or_down_saves_nothing(opened: tuple[AppTest, str, str]) -> None:
    at, url, trace_id = opened
    before = len(human_scores(url, trace_id))
    at.button(key="fb_send").click().run()
    assert any("Pick thumbs up or down" in w.value for w in at.warning)
    assert len(human_scores(url, trace_id)) == before


def test_categorical_and_boolean_scores_show_as_badges(opened: tuple[AppTest, str, str]) -> None:
    at, _, _ = opened
    text = " ".join(m.value for m in at.markdown)
    assert "topic: geography" in text
    assert "json_ok: 0 true · 1 false" in text


def test_the_trace_list_filters_by_a_score_label(trace: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, trace_id, _ = trace
    monkeypatch.setenv("SPANSCOPE_API_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.switch_page("views/traces.py")
    at.run()
    at.selectbox(key="tq_score").set_value("topic").run()
    at.text_input(key="tq_score_value").input("geography").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Trace id"]) == [trace_id]
    at.text_input(key="tq_score_value").input("history").run()
    assert any("No traces match" in i.value for i in at.info)
