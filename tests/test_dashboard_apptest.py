"""The dashboard's pages under Streamlit's AppTest, against a real collector child process.

The collector holds demo traffic (`spanscope demo`, run in a subprocess so the SDK's global OTel
state stays out of this process) plus an A/B test of two prompt versions sent as OTLP JSON, so the
significance test has something to find. The dashboard reads it only through the HTTP API, as
`SPANSCOPE_API_URL` tells it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import spanscope.dashboard
from streamlit.testing.v1 import AppTest

from tests.collector_process import CollectorProcess, free_port

APP = Path(spanscope.dashboard.__file__).parent / "app.py"
DEMO_TRACES = 60
AB_CALLS = 40  # per version
AB_PROMPT = "ab-answer"
TIMEOUT = 60

_LIVE: dict[str, CollectorProcess] = {}


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def ab_test_request(calls: int = AB_CALLS, seed: int = 7) -> dict[str, Any]:
    """OTLP JSON: single-span traces, each one LLM call of prompt `ab-answer`; v2 came after v1 (so it is
    the default candidate) and is faster and fails less often, by far more than chance."""
    rng = random.Random(seed)
    now = time.time_ns()
    spans = []
    for version, latency_ms, error_rate, ago_s in (("v1", 420.0, 0.3, (1000, 1800)), ("v2", 240.0, 0.0, (120, 900))):
        for _ in range(calls):
            start = now - rng.randint(*ago_s) * 1_000_000_000
            duration = max(20.0, rng.gauss(latency_ms, 40.0))
            failed = rng.random() < error_rate
            spans.append(
                {
                    "traceId": os.urandom(16).hex(),
                    "spanId": os.urandom(8).hex(),
                    "name": "chat gpt-4o-mini",
                    "kind": 3,
                    "startTimeUnixNano": str(start),
                    "endTimeUnixNano": str(start + int(duration * 1_000_000)),
                    "attributes": [
                        _attr("gen_ai.operation.name", "chat"),
                        _attr("gen_ai.system", "openai"),
                        _attr("gen_ai.request.model", "gpt-4o-mini"),
                        _attr("gen_ai.response.model", "gpt-4o-mini"),
                        _attr("gen_ai.usage.input_tokens", rng.randint(80, 120)),
                        _attr("gen_ai.usage.output_tokens", rng.randint(20, 60)),
                        _attr("gen_ai.prompt.name", AB_PROMPT),
                        _attr("gen_ai.prompt.version", version),
                    ],
                    "status": {"code": 2, "message": "upstream error"} if failed else {},
                }
            )
    resource = [_attr("service.name", "ab-service"), _attr("deployment.environment.name", "demo")]
    return {"resourceSpans": [{"resource": {"attributes": resource}, "scopeSpans": [{"spans": spans}]}]}


def _wait_until(check: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return
        except (httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{what}: still {last!r} after {timeout} s")


def start_demo_collector(data_dir: Path) -> CollectorProcess:
    """A collector with demo traffic and the prompt A/B test, queryable when this returns."""
    proc = CollectorProcess(data_dir).start()
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "spanscope.collector.demo.run",
                "--endpoint",
                proc.url,
                "--traces",
                str(DEMO_TRACES),
                "--seed",
                "1",
            ],
            check=True,
            timeout=180,
            capture_output=True,
        )
        r = httpx.post(f"{proc.url}/v1/traces", json=ab_test_request(), timeout=30)
        assert r.status_code == 200, r.text

        def ready() -> bool:
            s = httpx.get(
                f"{proc.url}/api/metrics/summary", params={"range": "1h", "metrics": "requests"}, timeout=10
            ).json()
            return bool(s["values"]["requests"] >= DEMO_TRACES + 2 * AB_CALLS)

        _wait_until(ready, "demo and A/B traces queryable")
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="session")
def demo_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    """Shared with the browser test (which imports this fixture): one collector, one demo run."""
    if "demo" not in _LIVE:
        _LIVE["demo"] = start_demo_collector(tmp_path_factory.mktemp("dashboard") / "data")
    yield _LIVE["demo"]
    _LIVE["demo"].stop()  # idempotent: each module importing the fixture finalizes at session end


@pytest.fixture()
def api_url(demo_collector: CollectorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPANSCOPE_API_URL", demo_collector.url)
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    return demo_collector.url


def app(page: str | None = None, **params: str | list[str]) -> AppTest:
    """The dashboard as a user opens it: app.py, with these URL parameters, on this page."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"views/{page}.py")
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, "\n".join(str(e.value) for e in at.exception)


def url(at: AppTest, key: str) -> list[str] | None:
    """A parameter of the app's URL after the run (AppTest gives one value as a str, several as a list)."""
    value = at.query_params.get(key)
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def plotly_charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def api_get(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(url + path, params=params, timeout=30)
    r.raise_for_status()
    return r.json()


# --------------------------------------------------------------------------- Overview


def test_overview_shows_kpis_time_series_and_breakdowns(api_url: str) -> None:
    at = app(range="1h")
    no_exception(at)
    assert [t.value for t in at.title] == ["Overview"]
    shown = metrics(at)
    for label in (
        "Requests",
        "Latency p95",
        "Cost",
        "Tokens",
        "Error rate",
        "Fallback rate",
        "Guardrail block rate",
        "Off-format rate",
    ):
        assert label in shown, shown
    requests = api_get(api_url, "/api/metrics/summary", range="1h", metrics="requests")["values"]["requests"]
    assert shown["Requests"] == f"{int(requests):,}"
    assert shown["Cost"].startswith("$")
    assert shown["Latency p95"].endswith(("ms", "s"))
    assert shown["Error rate"].endswith("%")
    # 6 time series + cost and latency by model + the same by prompt version
    assert plotly_charts(at) == 10
    assert [t.label for t in at.tabs] == ["By model", "By prompt version"]
    by_model = at.dataframe[0].value
    assert set(by_model["Model"]) >= {"gpt-4o-mini"}
    assert at.dataframe[1].value["Prompt version"].str.contains("@").all()


def test_overview_reads_filters_from_the_url_and_writes_them_back(api_url: str) -> None:
    at = app(range="1h", service=["support-bot"], model="gpt-4o-mini", env="no-such-env")
    no_exception(at)
    assert at.selectbox(key="f_range").value == "1h"
    assert at.multiselect(key="f_service").value == ["support-bot"]
    assert at.multiselect(key="f_model").value == ["gpt-4o-mini"]
    # A value the range does not have is kept (a shared link must not lose it) and matches nothing.
    assert at.multiselect(key="f_env").value == ["no-such-env"]
    assert any("No spans match the filters" in i.value for i in at.info)
    assert url(at, "service") == ["support-bot"]
    assert url(at, "env") == ["no-such-env"]
    assert url(at, "range") == ["1h"]

    at.multiselect(key="f_env").unselect("no-such-env").run()
    no_exception(at)
    shown = metrics(at)
    # A model filter describes that model's calls: volume is LLM calls, not (root) requests.
    assert "LLM calls" in shown and "Requests" not in shown
    assert int(shown["LLM calls"].replace(",", "")) > 0
    assert "env" not in at.query_params
    assert url(at, "model") == ["gpt-4o-mini"]


def test_time_range_presets_and_custom_dates(api_url: str) -> None:
    at = app()
    assert at.selectbox(key="f_range").value == "24h"
    assert "range" not in at.query_params  # the default stays out of the link
    at.selectbox(key="f_range").select("custom").run()
    no_exception(at)
    assert at.date_input(key="f_dates")
    assert "from" in at.query_params and "to" in at.query_params
    # A day long ago has nothing: the empty state, not an error.
    at = app(**{"from": "2021-03-01", "to": "2021-03-02"})
    no_exception(at)
    assert at.selectbox(key="f_range").value == "custom"
    assert any("No traces in this range" in i.value for i in at.info)


# --------------------------------------------------------------------------- Traces


def test_traces_table_filters_and_pagination(api_url: str) -> None:
    at = app("traces", range="1h")
    no_exception(at)
    assert at.title[0].value == "Traces"
    table = at.dataframe[0].value
    assert len(table) == 50
    assert {"Time", "Name", "Input", "Latency", "Cost", "Status", "Flags"} <= set(table.columns)
    next_page = [b for b in at.button if b.label == "Next page →"]
    assert next_page, "140 traces in the range: there must be a second page"
    next_page[0].click().run()
    no_exception(at)
    second = at.dataframe[0].value
    assert set(second["Trace id"]).isdisjoint(set(table["Trace id"]))
    assert any("Page 2" in c.value and "of 140 matching" in c.value for c in at.caption)

    at.selectbox(key="tq_status").select("error").run()
    no_exception(at)
    errors = at.dataframe[0].value
    assert len(errors) > 0 and set(errors["Status"]) == {"error"}
    assert any("Page 1" in c.value for c in at.caption), "a new query starts at the first page"

    at.selectbox(key="tq_status").select("any").run()
    at.selectbox(key="tq_blocked").select("yes").run()
    blocked = at.dataframe[0].value
    assert len(blocked) > 0 and blocked["Flags"].str.contains("blocked").all()

    at.selectbox(key="tq_blocked").select("any").run()
    at.selectbox(key="tq_sort").select("duration").run()
    by_latency = list(at.dataframe[0].value["Latency"])
    assert by_latency == sorted(by_latency, reverse=True)

    at.text_input(key="tq_q").input("password").run()
    found = at.dataframe[0].value
    assert len(found) > 0


def _trace_with(url: str, want: str) -> str:
    """A demo trace id having `want`: "fallback" or "documents"."""
    if want == "fallback":
        items = api_get(url, "/api/traces", range="1h", has_fallback="true", limit=1)["items"]
        assert items, "the demo sends a few fallbacks"
        return str(items[0]["trace_id"])
    for item in api_get(url, "/api/traces", range="1h", kind="retrieval", limit=50)["items"]:
        detail = api_get(url, f"/api/traces/{item['trace_id']}")
        stack = list(detail["spans"])
        while stack:
            s = stack.pop()
            if s["documents"] not in ("", "[]"):
                return str(item["trace_id"])
            stack.extend(s["children"])
    raise AssertionError("no demo trace retrieved documents")


def test_trace_view_from_the_url_shows_waterfall_and_span_details(api_url: str) -> None:
    trace_id = _trace_with(api_url, "fallback")
    detail = api_get(api_url, f"/api/traces/{trace_id}")
    at = app("traces", trace=trace_id)
    no_exception(at)
    assert at.title[0].value == f"Trace: {detail['trace']['name']}"
    assert plotly_charts(at) == 1  # the waterfall
    assert {"Latency", "Cost", "Tokens", "Spans"} <= set(metrics(at))
    assert any("served by a fallback" in m.value for m in at.markdown)
    picker = at.selectbox(key="span_pick")
    assert len(picker.options) == detail["trace"]["span_count"]
    assert url(at, "trace") == [trace_id]

    # The generation attempt that failed: its error, its chat input as messages.
    failed = next(i for i, label in enumerate(picker.options) if "✕ error" in label)
    picker.select(failed).run()
    no_exception(at)
    assert any("LLMError" in e.value or "rror" in e.value for e in at.error)
    roles = {m.name for m in at.chat_message}
    assert {"user"} <= roles
    assert [t.label for t in at.tabs][:2] == ["Input & output", "Attributes"]
    fields = at.dataframe[0].value
    assert {"Model", "Provider", "Status"} <= set(fields["Field"])
    assert any(t.label.startswith("Events (") and t.label != "Events (0)" for t in at.tabs)

    at.button[0].click().run()  # ← All traces
    no_exception(at)
    assert at.title[0].value == "Traces"
    assert "trace" not in at.query_params


def test_trace_view_shows_retrieved_documents_and_scores(api_url: str) -> None:
    trace_id = _trace_with(api_url, "documents")
    at = app("traces")
    at.text_input(key="trace_input").input(trace_id).run()
    no_exception(at)
    assert at.title[0].value.startswith("Trace: ")
    picker = at.selectbox(key="span_pick")
    retrieval = next(i for i, label in enumerate(picker.options) if "(retrieval," in label)
    picker.select(retrieval).run()
    docs_tab = next(t for t in at.tabs if t.label.startswith("Documents ("))
    assert docs_tab.label != "Documents (0)"
    assert any(m.value.startswith("**1. doc-") for m in at.markdown)

    at = app("traces", trace="0" * 31 + "1")
    no_exception(at)
    assert any("No trace" in w.value for w in at.warning)


# --------------------------------------------------------------------------- Cost


def test_cost_page_breakdowns_top_traces_and_projection(api_url: str) -> None:
    at = app("cost", range="1h")
    no_exception(at)
    assert at.title[0].value == "Cost"
    shown = metrics(at)
    assert {"Cost", "Cost per request", "Month to date", "Projected for the month"} <= set(shown)
    money = {k: float(v.strip("$").replace(",", "")) for k, v in shown.items()}
    assert money["Projected for the month"] >= money["Month to date"] > 0
    assert [t.label for t in at.tabs] == ["By model", "By service", "By user", "By prompt version"]
    assert plotly_charts(at) == 2 + 4  # over time, month, and one bar chart per breakdown
    tables = [d.value for d in at.dataframe]
    assert set(tables[0]["Model"]) >= {"gpt-4o-mini"}
    assert abs(tables[0]["Share"].sum() - 1.0) < 0.01
    assert set(tables[1]["Service"]) == {"support-bot", "ab-service"}
    top = tables[-1]
    assert list(top["Cost"]) == sorted(top["Cost"], reverse=True)
    assert top["Open"].str.startswith("traces?trace=").all()

    at = app("cost", range="1h", model="gpt-4o-mini")
    no_exception(at)
    assert "Cost per LLM call" in metrics(at)


# --------------------------------------------------------------------------- Prompt versions


def test_prompt_versions_side_by_side_with_significance(api_url: str) -> None:
    at = app("prompts", range="1h", prompt=AB_PROMPT)
    no_exception(at)
    assert at.title[0].value == "Prompt versions"
    assert at.selectbox(key="pv_prompt").value == AB_PROMPT
    assert url(at, "prompt") == [AB_PROMPT]
    side = at.dataframe[0].value
    assert list(side.columns) == ["", "v1", "v2"]
    sizes = side[side[""].str.startswith("Sample size")].iloc[0]
    assert (sizes["v1"], sizes["v2"]) == (str(AB_CALLS), str(AB_CALLS))
    assert plotly_charts(at) == 3
    assert any(h.value == "Significance" for h in at.subheader)
    tests = at.dataframe[1].value
    latency = tests[tests["Metric"] == "Latency (median)"].iloc[0]
    assert latency["Significant"] == "yes"
    assert latency["Difference"].startswith("-")
    assert any("Latency (median)" in m.value and "better" in m.value for m in at.markdown)

    # Baseline and candidate can be swapped: the difference changes sign.
    at.selectbox(key=f"pv_base_{AB_PROMPT}").select("v2").run()
    at.selectbox(key=f"pv_cand_{AB_PROMPT}").select("v1").run()
    no_exception(at)
    swapped = at.dataframe[1].value
    assert swapped[swapped["Metric"] == "Latency (median)"].iloc[0]["Difference"].startswith("+")


def test_prompt_versions_of_the_demo_prompt(api_url: str) -> None:
    at = app("prompts", range="1h", prompt="support-answer")
    no_exception(at)
    side = at.dataframe[0].value
    assert {"v3", "v4"} <= set(side.columns)
    assert plotly_charts(at) == 3


def test_refresh_fetches_what_the_cache_still_hides(api_url: str) -> None:
    probe = f"refresh probe {os.urandom(4).hex()}"
    at = app("traces", range="1h")
    at.text_input(key="tq_q").input(probe).run()
    assert any("No traces match" in i.value for i in at.info)
    now = time.time_ns()
    span = {
        "traceId": os.urandom(16).hex(),
        "spanId": os.urandom(8).hex(),
        "name": "probe",
        "kind": 1,
        "startTimeUnixNano": str(now - 50_000_000),
        "endTimeUnixNano": str(now),
        "attributes": [_attr("input.value", probe), _attr("openinference.span.kind", "CHAIN")],
    }
    body = {
        "resourceSpans": [
            {"resource": {"attributes": [_attr("service.name", "probe")]}, "scopeSpans": [{"spans": [span]}]}
        ]
    }
    assert httpx.post(f"{api_url}/v1/traces", json=body, timeout=30).status_code == 200
    _wait_until(lambda: api_get(api_url, "/api/traces", range="1h", q=probe)["items"], "the probe trace")
    at.run()
    assert any("No traces match" in i.value for i in at.info), "cached for 30 s"
    next(b for b in at.button if b.label == "Refresh").click().run()
    no_exception(at)
    assert list(at.dataframe[0].value["Input"]) == [probe]


# --------------------------------------------------------------------------- failure and empty states


@pytest.mark.parametrize("page", [None, "traces", "cost", "prompts"])
def test_unreachable_collector_shows_an_error_box_not_an_exception(
    page: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    at = app(page, trace="ab" * 16)
    no_exception(at)
    assert time.monotonic() - started < 20
    assert at.error, "an error box"
    assert "not reachable" in at.error[0].value
    assert "SPANSCOPE_API_URL" in at.error[0].value
    assert url(at, "trace") == ["ab" * 16], "the link survives until the collector is back"


def test_empty_project_shows_how_to_send_the_first_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = CollectorProcess(tmp_path / "empty").start()
    try:
        monkeypatch.setenv("SPANSCOPE_API_URL", empty.url)
        for page in (None, "traces", "cost", "prompts"):
            at = app(page)
            no_exception(at)
            assert any("No traces in this range" in i.value for i in at.info), page
            code = "\n".join(c.value for c in at.code)
            assert "from spanscope.sdk import init, observe" in code
            assert f'init(endpoint="{empty.url}"' in code
            assert "OTEL_EXPORTER_OTLP_ENDPOINT" in code
            assert "spanscope demo" in code
    finally:
        empty.stop()
