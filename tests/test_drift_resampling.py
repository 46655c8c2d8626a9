"""False positives of drift: the same traffic, resampled with new seeds, is rarely flagged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spanscope.collector.drift.report import drift_report
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftReport

from tests.api_support import HOUR, insert, start_client, storage_of
from tests.drift_data import BASE_START, CUR_START, Traffic, request, significant, traces

SEEDS = 20
N = 250


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    for client in start_client(tmp_path_factory.mktemp("drift-resampling")):
        rows = []
        for seed in range(SEEDS):
            rows += traces(f"resampled-{seed}", Traffic(), N, BASE_START, HOUR, seed=100 + 2 * seed)
            rows += traces(f"resampled-{seed}", Traffic(), N, CUR_START, HOUR, seed=101 + 2 * seed)
        insert(client, rows)
        yield storage_of(client)


@pytest.fixture(scope="module")
def reports(storage: Storage) -> list[DriftReport]:
    return [drift_report(storage, f"resampled-{seed}", request(semantic_top=0)) for seed in range(SEEDS)]


def test_resampled_traffic_is_flagged_significant_in_at_most_five_percent_of_seeds(reports: list[DriftReport]) -> None:
    flagged = [(seed, sorted(significant(r))) for seed, r in enumerate(reports) if r.status == "significant"]
    assert len(flagged) <= 0.05 * SEEDS, flagged


def test_resampled_traffic_has_no_signal_below_the_p_value_more_often_than_chance(reports: list[DriftReport]) -> None:
    tested = [s for r in reports for s in r.signals if s.p_value is not None]
    rejected = [s.name for s in tested if s.p_value is not None and s.p_value < 0.01]
    assert len(tested) >= 10 * SEEDS
    assert len(rejected) <= 0.03 * len(tested), rejected
