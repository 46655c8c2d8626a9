"""Drift reports on synthetic traffic in real chDB: shifts are flagged, resampling is not."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy import stats
from spanscope.collector.drift.report import drift_report
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftReport, DriftSignal, DriftThresholds

from tests.api_support import HOUR, insert, start_client, storage_of
from tests.drift_data import BASE_START, CUR_END, CUR_START, TOPICS, Traffic, request, significant, traces

N = 600

SHIFTS: dict[str, Traffic] = {
    "latency": Traffic(latency_ms=1200.0),
    "models": Traffic(models={"gpt-4o-mini": 0.4, "claude-3-5-haiku": 0.2, "gpt-5": 0.4}),
    "longer": Traffic(output_words=60),
    "fallbacks": Traffic(fallback_rate=0.15),
    "topics": Traffic(topics=("shipping", "cooking")),
}


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    for client in start_client(tmp_path_factory.mktemp("drift")):
        rows = []
        for name, shifted in SHIFTS.items():
            rows += traces(name, Traffic(), N, BASE_START, HOUR, seed=1)
            rows += traces(name, shifted, N, CUR_START, HOUR, seed=2)
        rows += traces("same", Traffic(), N, BASE_START, HOUR, seed=3)
        rows += traces("same", Traffic(), N, CUR_START, HOUR, seed=4)
        rows += traces("few", Traffic(), 50, BASE_START, HOUR, seed=5)
        rows += traces("few", Traffic(latency_ms=3000.0), 50, CUR_START, HOUR, seed=6)
        insert(client, rows)
        yield storage_of(client)


@pytest.fixture(scope="module")
def reports(storage: Storage) -> dict[str, DriftReport]:
    return {name: drift_report(storage, name, request()) for name in [*SHIFTS, "same"]}


def signal(report: DriftReport, name: str) -> DriftSignal:
    return next(s for s in report.signals if s.name == name)


def test_latency_times_one_and_a_half_is_flagged_significant(reports: dict[str, DriftReport]) -> None:
    s = signal(reports["latency"], "latency_ms")
    assert s.status == "significant", s.detail
    assert s.current_summary is not None and s.baseline_summary is not None
    assert 1.35 < s.current_summary / s.baseline_summary < 1.65


def test_a_new_model_in_the_mix_is_flagged_significant(reports: dict[str, DriftReport]) -> None:
    s = signal(reports["models"], "model_mix")
    assert s.status == "significant", s.detail
    assert s.categories is not None and "gpt-5" in s.categories
    assert s.baseline_counts[s.categories.index("gpt-5")] == 0


def test_longer_outputs_are_flagged_in_length_tokens_and_cost(reports: dict[str, DriftReport]) -> None:
    assert {"output_length", "output_tokens", "cost_usd"} <= significant(reports["longer"])
    assert signal(reports["longer"], "input_tokens").status == "stable"


def test_a_jump_in_fallback_rate_is_flagged_significant(reports: dict[str, DriftReport]) -> None:
    s = signal(reports["fallbacks"], "fallback_rate")
    assert s.status == "significant", s.detail
    assert s.value is not None and 0.06 < s.value < 0.14


def test_a_topic_shift_in_inputs_is_flagged_and_its_inputs_lead_the_movers(
    reports: dict[str, DriftReport],
) -> None:
    report = reports["topics"]
    assert signal(report, "input_semantic").status == "significant"
    assert report.semantic is not None and len(report.semantic.top_movers) == 10
    new_words = set(TOPICS["shipping"]) | set(TOPICS["cooking"])
    for mover in report.semantic.top_movers:
        assert set(mover.text.rstrip("?").split()) & new_words, mover.text


def test_a_shift_in_one_aspect_leaves_unrelated_signals_unflagged(reports: dict[str, DriftReport]) -> None:
    assert significant(reports["latency"]) == {"latency_ms"}
    assert significant(reports["fallbacks"]) == {"fallback_rate"}
    assert significant(reports["models"]) == {"model_mix"}


def test_the_same_traffic_is_stable_on_every_signal(reports: dict[str, DriftReport]) -> None:
    report = reports["same"]
    assert report.status in ("stable", "moderate")
    assert significant(report) == set()


def test_fewer_values_than_min_samples_are_insufficient_data(storage: Storage) -> None:
    report = drift_report(storage, "few", request())
    assert signal(report, "latency_ms").status == "insufficient_data"
    relaxed = drift_report(storage, "few", request(thresholds=DriftThresholds(min_samples=20)))
    assert signal(relaxed, "latency_ms").status == "significant"


def _raw(storage: Storage, project: str, lo: float, hi: float) -> np.ndarray:
    rows = storage.query(
        "SELECT duration_ms FROM spanscope.spans WHERE project_id = {p:String} AND parent_span_id = '' "
        "AND toUnixTimestamp64Micro(start_time) >= {lo:Int64} AND toUnixTimestamp64Micro(start_time) < {hi:Int64}",
        {"p": project, "lo": int(lo * 1e6), "hi": int(hi * 1e6)},
    )
    return np.array([r[0] for r in rows])


def test_ks_and_psi_agree_with_scipy_and_numpy_on_the_raw_values(
    storage: Storage, reports: dict[str, DriftReport]
) -> None:
    s = signal(reports["latency"], "latency_ms")
    base, cur = _raw(storage, "latency", BASE_START, CUR_START), _raw(storage, "latency", CUR_START, CUR_END)
    ks = stats.ks_2samp(base, cur, method="asymp")
    assert s.test_statistic == pytest.approx(ks.statistic, abs=0.01)
    edges = np.quantile(base, np.linspace(0.1, 0.9, 9))
    b = np.bincount(np.searchsorted(edges, base), minlength=10) / len(base)
    c = np.bincount(np.searchsorted(edges, cur), minlength=10) / len(cur)
    psi = np.sum((c - b) * np.log(np.maximum(c, 1e-4) / np.maximum(b, 1e-4)))
    assert s.value == pytest.approx(float(psi), rel=0.05)


def test_only_the_requested_signals_are_computed(storage: Storage) -> None:
    report = drift_report(storage, "same", request(signals=["latency_ms", "fallback_rate"]))
    assert [s.name for s in report.signals] == ["latency_ms", "fallback_rate"]
    assert report.semantic is None
