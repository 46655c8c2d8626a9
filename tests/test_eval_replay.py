"""Replay's built-in checks, how a run is compared with its baseline, and how targets are called."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from spanscope.collector.cli import CliError
from spanscope.collector.evals.checks import contains, exact, json_schema, run_checks, similarity
from spanscope.collector.evals.replay import call_target, load_target
from spanscope.collector.evals.runs import compare
from spanscope.schemas.datasets import EvalItemResult, EvalRun, EvalRunDetail, ScoreSummary


def test_exact_ignores_surrounding_whitespace_and_compares_structured_output_as_json() -> None:
    assert exact("  Yes,  30 days.\n", "Yes, 30 days.").score == 1.0  # type: ignore[union-attr]
    assert exact("Yes, 31 days.", "Yes, 30 days.").score == 0.0  # type: ignore[union-attr]
    assert exact('{"b": 1, "a": [2]}', {"a": [2], "b": 1}).score == 1.0  # type: ignore[union-attr]
    assert exact("anything", None) is None


def test_contains_scores_the_share_of_needles_found() -> None:
    r = contains("Open Settings, then Security.", None, {"contains": ["settings", "security", "reset"]})
    assert r is not None and r.score == pytest.approx(2 / 3) and r.reason == "missing: reset"
    assert contains("The answer is 30 days", "30 DAYS", {}).score == 1.0  # type: ignore[union-attr]


def test_json_schema_validates_against_the_item_schema() -> None:
    schema = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}
    assert json_schema('{"answer": "ok"}', None, {"json_schema": schema}, None).score == 1.0  # type: ignore[union-attr]
    bad = json_schema('{"answer": 3}', None, {}, schema)
    assert bad is not None and bad.score == 0.0 and bad.reason.startswith("answer: 3 is not of type 'string'")
    assert json_schema("not json", {"a": 1}, {}, None).reason == "output is not JSON"  # type: ignore[union-attr]
    assert json_schema("text", "text", {}, None) is None


def test_similarity_is_high_for_near_matches_and_low_for_unrelated_text() -> None:
    near = similarity("Refunds are possible within 30 days.", "Refunds are available within 30 days.")
    far = similarity("I am not sure.", "Refunds are available within 30 days.")
    assert near is not None and far is not None and near.score > 0.8 > far.score


def test_a_failed_item_scores_zero_on_every_applicable_check() -> None:
    results = run_checks(["exact", "similarity", "json_schema"], None, "Yes", {}, failed=True)
    assert [(r.name, r.score) for r in results] == [("exact", 0.0), ("similarity", 0.0)]


def _detail(run_id: str, items: dict[str, dict[str, float]]) -> EvalRunDetail:
    names = {n for s in items.values() for n in s}
    means = {n: sum(s[n] for s in items.values() if n in s) / sum(n in s for s in items.values()) for n in names}
    run = EvalRun(
        run_id=run_id,
        dataset="d",
        dataset_version=1,
        target="m:f",
        created_at=datetime.now(UTC),
        metadata={},
        item_count=len(items),
        error_count=0,
        scores={n: ScoreSummary(mean=m, count=len(items)) for n, m in means.items()},
    )
    return EvalRunDetail(run=run, items=[EvalItemResult(item_id=k, scores=v) for k, v in items.items()])


def test_a_mean_that_drops_beyond_the_tolerance_fails_and_names_the_items() -> None:
    base = _detail("a", {"1": {"exact": 1.0}, "2": {"exact": 1.0}})
    cur = _detail("b", {"1": {"exact": 1.0}, "2": {"exact": 0.0}})
    c = compare(cur, base)
    assert not c.passed and c.scores[0].status == "regressed" and c.scores[0].delta == -0.5
    assert [(i.item_id, i.direction) for i in c.items] == [("2", "regressed")]


def test_an_equal_or_better_run_passes_and_small_noise_is_tolerated() -> None:
    base = _detail("a", {"1": {"similarity": 0.90}, "2": {"exact": 0.0}})
    cur = _detail("b", {"1": {"similarity": 0.895}, "2": {"exact": 1.0}})
    c = compare(cur, base, tolerance=0.01)
    assert c.passed
    assert {s.name: s.status for s in c.scores} == {"exact": "improved", "similarity": "unchanged"}


def test_a_threshold_fails_a_run_without_baseline() -> None:
    c = compare(_detail("b", {"1": {"similarity": 0.6}}), None, {"similarity": 0.8})
    assert not c.passed and c.scores[0].below_threshold and c.scores[0].status == "new"


def test_object_inputs_become_keyword_arguments_when_they_fit_the_signature() -> None:
    def answer(question: str, locale: str = "en") -> str:
        return f"{locale}:{question}"

    async def echo(value: object) -> object:
        return value

    assert call_target(answer, {"question": "q", "locale": "fr"}) == "fr:q"
    assert call_target(echo, {"other": 1}) == {"other": 1}


def test_targets_load_from_a_module_or_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "replay_target_mod.py").write_text("def run(x):\n    return x * 2\n")
    monkeypatch.chdir(tmp_path)
    assert load_target("replay_target_mod:run")(2) == 4
    assert load_target(str(tmp_path / "replay_target_mod.py") + ":run")(3) == 6
    with pytest.raises(CliError, match="has no 'missing'"):
        load_target("replay_target_mod:missing")
