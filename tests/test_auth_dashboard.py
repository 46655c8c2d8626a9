"""The dashboard's login gate under AppTest, against a real collector that requires keys.

The collector gets an instance admin key (to send a trace) and the dashboard's read key
(SPANSCOPE_DASHBOARD_KEY); the dashboard reads with that key server-side (SPANSCOPE_API_KEY)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import spanscope.dashboard
from streamlit.testing.v1 import AppTest

from tests.collector_process import CollectorProcess

APP = Path(spanscope.dashboard.__file__).parent / "app.py"
ADMIN = secrets.token_hex(24)
DASHBOARD_KEY = secrets.token_hex(24)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    env = {"SPANSCOPE_AUTH": "on", "SPANSCOPE_ADMIN_KEY": ADMIN, "SPANSCOPE_DASHBOARD_KEY": DASHBOARD_KEY}
    proc = CollectorProcess(tmp_path_factory.mktemp("auth-dashboard") / "data", env=env).start()
    start = time.time_ns() - 60_000_000_000
    span = {
        "traceId": os.urandom(16).hex(),
        "spanId": os.urandom(8).hex(),
        "name": "op",
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5_000_000),
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    r = httpx.post(
        proc.url + "/v1/traces",
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        usage = httpx.get(proc.url + "/api/project/usage", headers={"Authorization": f"Bearer {DASHBOARD_KEY}"})
        if usage.status_code == 200 and usage.json()["rows"]:
            break
        time.sleep(0.2)
    yield proc
    proc.stop()


@pytest.fixture
def env(collector: CollectorProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", collector.url)
    monkeypatch.setenv("SPANSCOPE_API_KEY", DASHBOARD_KEY)
    monkeypatch.setenv("SPANSCOPE_DASHBOARD_PASSWORD", PASSWORD)


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


def shown(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.title, *at.caption, *at.error, *at.info)]
    parts += [m.label + m.value for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.usefixtures("env")
def test_nothing_but_the_login_form_shows_before_login() -> None:
    at = app()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Password"]
    assert not at.metric and not at.dataframe


@pytest.mark.usefixtures("env")
def test_a_wrong_password_is_refused() -> None:
    at = app()
    at.text_input[0].input("guess")
    at.button[0].click().run()
    assert "Wrong password" in shown(at)
    assert [t.label for t in at.text_input] == ["Password"]


@pytest.mark.usefixtures("env")
def test_the_right_password_opens_the_dashboard_which_reads_with_its_key_and_never_shows_it() -> None:
    at = app()
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    at.switch_page("views/projects.py").run()
    text = shown(at)
    assert "Project default" in text
    assert DASHBOARD_KEY not in text and ADMIN not in text
    assert not [t for t in at.text_input if t.label == "Password"]


def test_a_dashboard_with_a_key_but_no_login_configured_shows_nothing(
    collector: CollectorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", collector.url)
    monkeypatch.setenv("SPANSCOPE_API_KEY", DASHBOARD_KEY)
    monkeypatch.delenv("SPANSCOPE_DASHBOARD_PASSWORD", raising=False)
    at = app()
    assert "needs a login" in shown(at)
    assert not at.text_input and not at.metric


def test_without_a_key_or_password_the_dashboard_opens_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", "http://127.0.0.1:9")  # nothing listens: the usual error box
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    monkeypatch.delenv("SPANSCOPE_DASHBOARD_PASSWORD", raising=False)
    at = app()
    assert not [t for t in at.text_input if t.label == "Password"]
    assert "not reachable" in shown(at)
