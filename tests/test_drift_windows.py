"""Window edges in real chDB: counts are exact whatever the edges, overlaps count twice, samples stay bounded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from spanscope.collector.drift import sample
from spanscope.collector.drift.report import drift_report
from spanscope.collector.drift.scope import BASELINE, CURRENT, Windows
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftReport, DriftRequest, DriftSignal

from tests.api_support import BASE, HOUR, insert, start_client, storage_of
from tests.drift_data import Traffic, at, traces

PROJECT = "edges"
START = BASE - 7 * HOUR + 7.3  # traces every 30 s, 7.3 s past the minute, for 6 hours
ROWS = traces(PROJECT, Traffic(), 720, START, 6 * HOUR, seed=11)
# Neither window starts or ends on a minute; the baseline holds 3 whole hours, so every rollup level
# and the raw-span edges all take part.
BASE_LO, BASE_HI = BASE - 7 * HOUR + 20.1, BASE - 3 * HOUR + 95.55
CUR_LO, CUR_HI = BASE_HI, BASE - HOUR + 1900.2


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    for client in start_client(tmp_path_factory.mktemp("drift-windows")):
        insert(client, ROWS)
        yield storage_of(client)


def _request(base: tuple[float, float], cur: tuple[float, float], **fields: Any) -> DriftRequest:
    return DriftRequest(
        baseline_start=at(base[0]), baseline_end=at(base[1]), current_start=at(cur[0]), current_end=at(cur[1]), **fields
    )


def _start(row: dict[str, Any]) -> float:
    return float(row["start_time"])


def _in(lo: float, hi: float, where: Any = lambda r: True) -> list[dict[str, Any]]:
    return [r for r in ROWS if lo <= _start(r) < hi and where(r)]


def _signal(report: DriftReport, name: str) -> DriftSignal:
    return next(s for s in report.signals if s.name == name)


def _llm(r: dict[str, Any]) -> bool:
    return bool(r.get("is_llm_call"))


def test_rate_counts_are_exact_when_windows_cut_minutes_and_hours(storage: Storage) -> None:
    report = drift_report(
        storage, PROJECT, _request((BASE_LO, BASE_HI), (CUR_LO, CUR_HI), signals=["error_rate", "fallback_rate"])
    )
    spans = _signal(report, "error_rate")
    assert (spans.n_baseline, spans.n_current) == (len(_in(BASE_LO, BASE_HI)), len(_in(CUR_LO, CUR_HI)))
    fallback = _signal(report, "fallback_rate")
    for lo, hi, counts in ((BASE_LO, BASE_HI, fallback.baseline_counts), (CUR_LO, CUR_HI, fallback.current_counts)):
        calls = _in(lo, hi, _llm)
        used = sum(1 for r in calls if r.get("fallback_used"))
        assert counts == [used, len(calls) - used]


def test_an_overlapping_fixed_baseline_counts_the_shared_spans_in_both_windows(storage: Storage) -> None:
    base, cur = (BASE_LO, CUR_HI), (CUR_LO, CUR_HI)
    report = drift_report(storage, PROJECT, _request(base, cur, signals=["latency_ms", "fallback_rate", "model_mix"]))
    roots = (len(_in(*base, lambda r: not r["parent_span_id"])), len(_in(*cur, lambda r: not r["parent_span_id"])))
    calls = (len(_in(*base, _llm)), len(_in(*cur, _llm)))
    latency, fallback, models = (_signal(report, n) for n in ("latency_ms", "fallback_rate", "model_mix"))
    assert (latency.n_baseline, latency.n_current) == roots
    assert (fallback.n_baseline, fallback.n_current) == calls
    assert (models.n_baseline, models.n_current) == calls


def test_spread_puts_every_hour_once_and_its_first_hours_far_apart() -> None:
    order = sample.spread(168)
    assert sorted(order) == list(range(168))
    first = sorted(order[: sample.MIN_HOURS])
    assert min(b - a for a, b in itertools.pairwise(first)) >= 168 // (2 * sample.MIN_HOURS)


def test_chosen_hours_hold_the_minimum_spread_or_enough_rows_for_the_sample() -> None:
    busy = [(3600 * i, 1000) for i in range(168)]
    assert len(sample.choose_hours(busy, 250)) == sample.MIN_HOURS
    sparse = [(3600 * i, 10) for i in range(168)]
    assert len(sample.choose_hours(sparse, 250)) == 250 * sample.SPARE // 10


def test_text_samples_are_bounded_deterministic_and_inside_their_window(storage: Storage) -> None:
    req = _request((BASE_LO, BASE_HI), (CUR_LO, CUR_HI))
    windows = Windows.of(*req.windows(datetime.now(UTC)))
    rows = "is_llm_call = 1 AND notEmpty(output)"
    hours = sample.hour_counts(storage, PROJECT, req, windows, [rows])[0]
    sizes, first = sample.sample_texts(storage, PROJECT, req, windows, "output", rows, hours, 40)
    _, again = sample.sample_texts(storage, PROJECT, req, windows, "output", rows, hours, 40)
    assert first == again
    for w, (lo, hi) in ((BASELINE, (BASE_LO, BASE_HI)), (CURRENT, (CUR_LO, CUR_HI))):
        eligible = {r["span_id"] for r in _in(lo, hi, _llm)}
        picked = [s.span_id for s in first if s.window == w]
        assert sizes[w] == len(eligible)
        assert len(picked) == 40 and set(picked) <= eligible
