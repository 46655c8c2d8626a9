"""Headless Chromium opens every dashboard page, served by `spanscope dashboard`, against a live
collector with demo data: the expected heading, rendered Plotly charts (or the table), no
Streamlit exception and no error box. Screenshots go to tests/artifacts/ for people to look at.

Streamlit renders in the browser over a websocket, so the test drives Chromium through the
DevTools protocol (a small client on `websockets`) and waits for the page to settle instead of
sleeping a fixed time.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector_process import CollectorProcess, free_port
from tests.test_dashboard_apptest import AB_PROMPT, demo_collector  # noqa: F401 - the shared fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (url path, title) of every page in the dashboard's menu, read from app.py so a new page is covered.
PAGE_TITLES = re.findall(
    r'st\.Page\("views/(\w+)\.py", title="([^"]+)"',
    (Path(__file__).parents[1] / "dashboard" / "app.py").read_text(),
)

ARTIFACTS = Path(__file__).parent / "artifacts"
WIDTH, HEIGHT = 1400, 1000
PAGE_TIMEOUT_S = 40


def chromium_path() -> str | None:
    for candidate in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class Chrome:
    """Just enough of the DevTools protocol: open a URL, evaluate JavaScript, click, screenshot."""

    def __init__(self, binary: str) -> None:
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="spanscope-chromium-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Chromium did not start (exit code {self.proc.poll()})")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=64 * 2**20, open_timeout=10)
        self.ids = itertools.count(1)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", page=True)
        self.resize(HEIGHT)

    def call(self, method: str, page: bool = False, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params}
        if page:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result

    def js(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", page=True, expression=expression, returnByValue=True)
        return reply["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", page=True, url=url)

    def resize(self, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            page=True,
            width=WIDTH,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", page=True, type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> None:
        """The whole page: Streamlit scrolls inside its main element, so grow the viewport to fit it."""
        height = int(self.js("document.querySelector('[data-testid=stMain]')?.scrollHeight || 0") or HEIGHT)
        self.resize(min(max(height, HEIGHT), 8000))
        time.sleep(1.0)  # charts re-layout for the new viewport
        data = self.call("Page.captureScreenshot", page=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        self.resize(HEIGHT)

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


# A page has settled when the script finished, nothing is stale, the heading is there, the charts
# have drawn their data (a `g.trace` per series) and the DOM stopped changing.
STATE = """(() => {
  const main = document.querySelector('[data-testid=stMain]');
  return {
    running: !!document.querySelector('[data-testid=stStatusWidget]'),
    stale: document.querySelectorAll('[data-stale=true]').length,
    h1: [...document.querySelectorAll('[data-testid=stMain] h1')].map(e => e.innerText.trim()),
    h3: [...document.querySelectorAll('[data-testid=stMain] h3')].map(e => e.innerText.trim()),
    plots: [...document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')]
      .filter(p => p.querySelector('svg.main-svg g.cartesianlayer g.trace')).length,
    tables: document.querySelectorAll('[data-testid=stDataFrame]').length,
    exceptions: [...document.querySelectorAll('[data-testid=stException]')].map(e => e.innerText.slice(0, 800)),
    errors: [...document.querySelectorAll('[data-testid=stAlertContentError]')].map(e => e.innerText),
    size: main ? main.innerHTML.length : 0,
    url: location.href,
  };
})()"""


def settle(chrome: Chrome, heading: str, plots: int, timeout: float = PAGE_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    stable = 0
    while time.monotonic() < deadline:
        state = chrome.js(STATE) or {}
        done = (
            not state.get("running")
            and not state.get("stale")
            and any(h.startswith(heading) for h in state.get("h1", []))
            and state.get("plots", 0) >= plots
        )
        if state.get("exceptions"):
            return state
        stable = stable + 1 if done and state.get("size") == last.get("size") else 0
        last = state
        if stable >= 3:
            return state
        time.sleep(0.4)
    raise AssertionError(f"page did not settle on {heading!r} with {plots} chart(s) in {timeout} s: {last}")


@pytest.fixture(scope="module")
def chrome() -> Iterator[Chrome]:
    binary = chromium_path()
    if binary is None:
        pytest.fail(
            "Chromium is not installed, so the dashboard cannot be checked in a browser. "
            "Install Debian's package: apt-get update && apt-get install -y chromium"
        )
    browser = Chrome(binary)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def dashboard(demo_collector: CollectorProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    """`spanscope dashboard` in its own process group (it runs Streamlit as a child of its own)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("dashboard-log") / "dashboard.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spanscope.collector.cli",
                "dashboard",
                "--port",
                str(port),
                "--api",
                demo_collector.url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "SPANSCOPE_API_KEY"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dashboard did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def fallback_trace(collector: CollectorProcess) -> tuple[str, str]:
    r = httpx.get(f"{collector.url}/api/traces", params={"range": "1h", "has_fallback": "true", "limit": 1}, timeout=30)
    item = r.json()["items"][0]
    return str(item["trace_id"]), str(item["name"])


def check_page(chrome: Chrome, url: str, heading: str, plots: int, shot: str) -> dict[str, Any]:
    chrome.open(url)
    time.sleep(0.5)
    state = settle(chrome, heading, plots)
    ARTIFACTS.mkdir(exist_ok=True)
    chrome.screenshot(ARTIFACTS / f"dashboard-{shot}.png")
    assert not state["exceptions"], f"Streamlit exception on {url}:\n" + "\n".join(state["exceptions"])
    assert not state["errors"], f"error box on {url}: {state['errors']}"
    assert any(h.startswith(heading) for h in state["h1"])
    assert state["plots"] >= plots
    return state


def test_every_page_renders_in_chromium(
    chrome: Chrome,
    dashboard: str,
    demo_collector: CollectorProcess,  # noqa: F811
) -> None:
    # First a shared link to one trace, on the freshly started server: the page must come with the
    # sidebar and menu.
    trace_id, name = fallback_trace(demo_collector)
    state = check_page(chrome, f"{dashboard}/traces?trace={trace_id}", f"Trace: {name}", 1, "trace")
    assert any("Waterfall" in h for h in state["h3"])
    assert f"trace={trace_id}" in state["url"]
    assert chrome.js("document.querySelectorAll('[data-testid=stSidebarNavLink]').length") == len(PAGE_TITLES)
    assert chrome.js("!!document.querySelector('[data-testid=stSidebar] [data-testid=stMultiSelect]')")

    state = check_page(chrome, f"{dashboard}/", "Overview", 10, "overview")
    assert any("Breakdown" in h for h in state["h3"])

    state = check_page(chrome, f"{dashboard}/traces", "Traces", 0, "traces")
    assert state["tables"] >= 1, "the traces table"

    check_page(chrome, f"{dashboard}/cost", "Cost", 6, "cost")

    state = check_page(chrome, f"{dashboard}/prompts?prompt={AB_PROMPT}", "Prompt versions", 3, "prompts")
    assert any("Significance" in h for h in state["h3"])


def test_every_other_page_opens_without_an_error(
    chrome: Chrome,
    dashboard: str,
    demo_collector: CollectorProcess,  # noqa: F811
) -> None:
    covered = {"overview", "traces", "cost", "prompts"}
    others = [(path, title) for path, title in PAGE_TITLES if path not in covered]
    assert others, "the menu lists more pages than the four checked above"
    for path, title in others:
        check_page(chrome, f"{dashboard}/{path}?range=1h", title, 0, path)


def test_filters_stay_in_the_url_across_pages(chrome: Chrome, dashboard: str) -> None:
    """A shared link reproduces the view: the filters survive a click on another page in the menu."""
    check_page(chrome, f"{dashboard}/?range=1h&service=support-bot", "Overview", 10, "overview-filtered")
    assert chrome.js("document.querySelector('[data-testid=stSidebar]').innerText.includes('support-bot')")
    chrome.js(
        "[...document.querySelectorAll('[data-testid=stSidebarNavLink]')]"
        ".find(a => a.innerText.trim().endsWith('Cost')).click()"
    )  # innerText starts with the icon
    state = settle(chrome, "Cost", 6)
    assert not state["exceptions"]
    assert "/cost" in state["url"]
    assert "range=1h" in state["url"] and "service=support-bot" in state["url"], state["url"]


def test_clicking_a_waterfall_bar_opens_that_span(
    chrome: Chrome,
    dashboard: str,
    demo_collector: CollectorProcess,  # noqa: F811
) -> None:
    trace_id, name = fallback_trace(demo_collector)
    chrome.open(f"{dashboard}/traces?trace={trace_id}")
    settle(chrome, f"Trace: {name}", 1)
    picked = "document.querySelector('[data-testid=stMain] [data-testid=stSelectbox] input[aria-label=Span]').value"
    before = chrome.js(picked)
    chrome.js("document.querySelector('[data-testid=stPlotlyChart]').scrollIntoView({block: 'center'})")
    time.sleep(0.3)
    bars = chrome.js(
        "[...document.querySelectorAll('[data-testid=stPlotlyChart] g.point path')]"
        ".map(p => { const r = p.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"
    )
    assert bars and len(bars) >= 5, bars
    x, y, w, h = max(bars, key=lambda b: b[1])  # the bottom bar: the last span, not the root
    chrome.click(x + max(w, 2) / 2, y + h / 2)
    deadline = time.monotonic() + 20
    after = before
    while time.monotonic() < deadline and after == before:
        time.sleep(0.3)
        after = chrome.js(picked)
    assert before.startswith(name), before
    assert after != before, f"the span picker still shows {before!r}"
    assert "answer_question" not in str(after)
