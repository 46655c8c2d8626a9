"""The loop end to end against a real collector: demo traffic → evaluator and human scores → hard
examples → a dataset → exports in four formats → `spanscope eval run` passing, then failing on a
regressed target. Everything goes through the CLI and the HTTP API, as a user and CI would."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import spanscope.dashboard
import yaml
from spanscope.collector.cli import main
from streamlit.testing.v1 import AppTest

from tests.collector_process import CollectorProcess

DASHBOARD = Path(spanscope.dashboard.__file__).parent / "app.py"
PROMPTFOO_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "promptfoo" / "testcase.schema.json").read_text())
EVALUATORS = {
    "evaluators": [
        {"name": "answer_length", "type": "length", "params": {"min": 40}, "match": {"span_name": "answer_question"}},
        {"name": "answer_json", "type": "json_valid", "match": {"kind": "generation"}},
    ]
}
GOOD_TARGET = """
import spanscope.sdk as spanscope

@spanscope.observe(kind="generation", model="gpt-4o-mini")
def answer(question: str) -> str:
    return "Answer: " + " ".join(question.split())
"""
REGRESSED_TARGET = """
def answer(question: str) -> str:
    return "I am not sure."
"""
FLAKY_TARGET = """
def answer(question: str) -> str:
    if "password" in question:
        raise TimeoutError("model timed out")
    return "Answer: " + question
"""


@dataclass
class Loop:
    collector: CollectorProcess
    workdir: Path
    human_scored: str = ""
    golden: list[dict[str, Any]] = field(default_factory=list)

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SPANSCOPE_API_URL": self.collector.url}
        env.pop("SPANSCOPE_API_KEY", None)
        proc = subprocess.run(
            [sys.executable, "-m", "spanscope.collector.cli", *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if expect is not None:
            assert proc.returncode == expect, f"{args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = httpx.request(method, self.collector.url + path, timeout=60, **kwargs)
        assert r.status_code < 300, f"{method} {path} -> {r.status_code}: {r.text}"
        return r.json()


def _wait(what: str, check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    base = tmp_path_factory.mktemp("eval-loop")
    collector = CollectorProcess(base / "data").start()
    try:
        workdir = base / "work"
        workdir.mkdir()
        state = Loop(collector, workdir)
        state.api("PUT", "/api/evaluators", json=EVALUATORS)
        state.cli("demo", "--endpoint", collector.url, "--traces", "30", "--seed", "11")
        _wait(
            "evaluator scores of the demo traffic",
            lambda: collector.scalar("SELECT count() FROM spanscope.scores WHERE source = 'evaluator'"),
        )
        traces = _wait(
            "demo traces", lambda: state.api("GET", "/api/traces", params={"range": "1h", "limit": 50})["items"]
        )
        healthy = next(t for t in traces if not t["error"] and not t["guardrail_blocked"] and not t["has_fallback"])
        score = {"trace_id": healthy["trace_id"], "name": "helpfulness", "value": 0.1, "source": "human"}
        state.api("POST", "/api/scores", json={"scores": [{**score, "comment": "wrong plan price"}]})
        state.human_scored = healthy["trace_id"]
        state.golden = _curate(state, "golden")
        yield state
    finally:
        collector.stop()


def _curate(loop: Loop, name: str) -> list[dict[str, Any]]:
    """A dataset from the last hour's hard examples, each expected output reviewed."""
    loop.cli("datasets", "create", name, "--description", "answers that went wrong in production")
    out = loop.cli("datasets", "add", name, "--from-hard-examples", "--range", "1h", "--limit", "8").stdout
    assert "new version 2" in out
    items = json.loads(loop.cli("datasets", "show", name, "--json").stdout)["items"]
    for item in items[1:]:
        loop.api("PATCH", f"/api/datasets/{name}/items/{item['item_id']}", json={"expected_output": _ideal(item)})
    loop.cli("datasets", "edit", name, items[0]["item_id"], "--expected", _ideal(items[0]))
    return list(json.loads(loop.cli("datasets", "show", name, "--json").stdout)["items"])


def _ideal(item: dict[str, Any]) -> str:
    return "Answer: " + " ".join(str(item["input"]).split())


def test_hard_examples_come_from_evaluator_and_human_scores_of_demo_traffic(loop: Loop) -> None:
    found = loop.api("GET", "/api/hard-examples", params={"range": "1h", "limit": 200})["items"]
    reasons = {r for h in found for r in h["reasons"]}
    assert {"evaluator_failure", "low_score", "guardrail_block"} <= reasons
    human = next(h for h in found if h["trace_id"] == loop.human_scored)
    assert "helpfulness = 0.1 (human)" in human["details"]
    evaluator_failed = loop.collector.scalar(
        "SELECT uniqExact(trace_id) FROM spanscope.scores WHERE source = 'evaluator' AND value = 0"
    )
    assert sum("evaluator_failure" in h["reasons"] for h in found) == evaluator_failed


def test_a_curated_dataset_exports_in_all_four_formats(loop: Loop) -> None:
    items = loop.golden
    assert all(i["source_trace_id"] and i["expected_output"] == _ideal(i) for i in items)
    files = {}
    for fmt in ("jsonl", "promptfoo", "openai_evals", "csv"):
        path = loop.workdir / f"golden.{fmt}"
        loop.cli("datasets", "export", "golden", "--format", fmt, "-o", str(path))
        files[fmt] = path.read_text()
    assert [json.loads(line)["item_id"] for line in files["jsonl"].splitlines()] == [i["item_id"] for i in items]
    cases = yaml.safe_load(files["promptfoo"])
    assert len(cases) == len(items)
    for case in cases:
        jsonschema.validate(case, PROMPTFOO_SCHEMA)
    evals = [json.loads(line) for line in files["openai_evals"].splitlines()]
    assert len(evals) == len(items)
    for line in evals:
        assert set(line) == {"input", "ideal"} and line["input"][-1]["role"] == "user"
        assert line["ideal"] == "Answer: " + " ".join(line["input"][-1]["content"].split())
    rows = list(csv.DictReader(io.StringIO(files["csv"])))
    assert [r["expected_output"] for r in rows] == [i["expected_output"] for i in items]
    assert {"input", "expected_output", "metadata_source_trace_id"} <= set(rows[0])
    v1 = loop.workdir / "v1.jsonl"
    loop.cli("datasets", "export", "golden", "--format", "jsonl", "--version", "1", "-o", str(v1))
    assert v1.read_text() == ""


def test_replay_passes_then_a_regressed_target_fails_the_gate(loop: Loop) -> None:
    items = loop.golden
    (loop.workdir / "bot_good.py").write_text(GOOD_TARGET)
    (loop.workdir / "bot_bad.py").write_text(REGRESSED_TARGET)
    first = loop.cli("eval", "run", "golden", "--target", "bot_good:answer", "--threshold", "exact=0.9")
    assert "PASS" in first.stdout
    second = loop.cli("eval", "run", "golden", "--target", "bot_good:answer")
    assert "PASS" in second.stdout and "unchanged" in second.stdout
    bad = loop.cli("eval", "run", "golden", "--target", "bot_bad:answer", expect=1)
    assert "REGRESSED" in bad.stdout and "FAIL: " in bad.stdout
    assert "regressed items (" in bad.stdout
    runs = loop.api("GET", "/api/eval-runs", params={"dataset": "golden"})["runs"]
    assert len(runs) == 3
    assert runs[0]["scores"]["exact"]["mean"] == 0.0 and runs[1]["scores"]["exact"]["mean"] == 1.0
    assert {"answer_length", "answer_json"} <= set(runs[1]["scores"])
    detail = loop.api("GET", f"/api/eval-runs/{runs[1]['run_id']}")
    assert [i["item_id"] for i in detail["items"]] == [i["item_id"] for i in items]


def test_replayed_items_are_traced_with_their_run_and_item(loop: Loop) -> None:
    items = loop.golden
    loop.api("POST", "/api/datasets", json={"name": "traced", "items": items})
    (loop.workdir / "bot_traced.py").write_text(GOOD_TARGET)
    loop.cli("eval", "run", "traced", "--target", "bot_traced:answer", "--no-evaluators")
    run = loop.api("GET", "/api/eval-runs", params={"dataset": "traced"})["runs"][0]
    trace_ids = {i["trace_id"] for i in loop.api("GET", f"/api/eval-runs/{run['run_id']}")["items"]}
    assert len(trace_ids) == len(items)
    rows = _wait(
        "replay spans",
        lambda: loop.collector.sql(
            "SELECT trace_id, kind, environment, attributes['spanscope.eval.item_id'] AS item FROM spanscope.spans "
            "WHERE start_time > now() - INTERVAL 1 HOUR AND attributes['spanscope.eval.run_id'] = {r:String} "
            "AND parent_span_id = ''",
            r=run["run_id"],
        ),
    )
    assert {r["trace_id"] for r in rows} == trace_ids
    assert {r["item"] for r in rows} == {i["item_id"] for i in items}
    assert {r["environment"] for r in rows} == {"eval"}
    hard = loop.api("GET", "/api/hard-examples", params={"range": "1h", "limit": 500})["items"]
    assert not trace_ids & {h["trace_id"] for h in hard}


def test_a_target_that_raises_is_a_failed_item_not_a_crash(loop: Loop) -> None:
    loop.cli("datasets", "create", "flaky")
    loop.api(
        "POST",
        "/api/datasets/flaky/items",
        json={"items": [{"input": q, "expected_output": "Answer: " + q} for q in ("reset my password", "refund?")]},
    )
    (loop.workdir / "bot_flaky.py").write_text(FLAKY_TARGET)
    out = loop.cli("eval", "run", "flaky", "--target", "bot_flaky:answer", "--check", "exact", "--no-evaluators")
    assert "1 failed" in out.stdout and "TimeoutError: model timed out" in out.stdout
    run = loop.api("GET", "/api/eval-runs", params={"dataset": "flaky"})["runs"][0]
    assert (run["error_count"], run["scores"]["exact"]["mean"]) == (1, 0.5)


def test_unknown_datasets_and_bad_targets_are_one_line_usage_errors(
    loop: Loop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", loop.collector.url)
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    for args, message in (
        (["eval", "run", "nope", "--target", "bot_good:answer"], "spanscope: dataset 'nope' not found in project"),
        (["datasets", "export", "nope", "--format", "csv"], "spanscope: dataset 'nope' not found in project"),
        (["datasets", "show", "golden", "--version", "99"], "spanscope: dataset 'golden' has no version 99"),
        (["eval", "run", "golden", "--target", "no_such_module:answer"], "spanscope: cannot import no_such_module"),
        (["eval", "run", "golden", "--target", "answer"], "spanscope: --target must look like module:function"),
        (["eval", "run", "golden", "--target", "x:y", "--baseline", "0123abcd"], "spanscope: eval run '0123abcd'"),
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith(message), (args, err)
        assert len(err.strip().splitlines()) == 1, err


def _page(loop: Loop, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    monkeypatch.setenv("SPANSCOPE_API_URL", loop.collector.url)
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60)
    at.query_params["range"] = "1h"
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, "\n".join(str(e.value) for e in at.exception)
    return at


def test_the_hard_examples_page_reviews_an_example_into_a_dataset(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    loop.api("POST", "/api/datasets", json={"name": "reviewed"})
    at = _page(loop, monkeypatch, "hard_examples")
    assert len(at.dataframe[0].value) > 0
    dataset_box = next(s for s in at.selectbox if s.label == "Dataset")
    dataset_box.set_value("reviewed").run()
    area = next(t for t in at.text_area if t.label.startswith("Expected output"))
    area.set_value("The reviewed answer.").run()
    next(b for b in at.button if b.label == "Add to dataset").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("Added to reviewed"), [m.value for m in [*at.success, *at.info]]
    items = loop.api("GET", "/api/datasets/reviewed/items")["items"]
    assert [i["expected_output"] for i in items] == ["The reviewed answer."]
    assert items[0]["source_trace_id"]


def test_the_datasets_page_shows_versions_items_exports_and_run_comparison(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _page(loop, monkeypatch, "datasets")
    next(s for s in at.selectbox if s.label == "Dataset").set_value("golden").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Export JSONL", "Export promptfoo (YAML)", "Export OpenAI Evals", "Export CSV"]
    frames = [f.value for f in at.dataframe]
    assert any("Expected output" in f.columns and len(f) == len(loop.golden) for f in frames), frames
    assert any("Status" in f.columns for f in frames), frames
