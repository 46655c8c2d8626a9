"""The drift API: reports by query parameters or JSON, history per bucket, 400 on bad parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_support import HOUR, get, insert, iso, start_client
from tests.drift_data import BASE_START, CUR_END, CUR_START, Traffic, traces

WINDOWS: dict[str, Any] = {
    "baseline_start": iso(BASE_START),
    "baseline_end": iso(CUR_START),
    "current_start": iso(CUR_START),
    "current_end": iso(CUR_END),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for c in start_client(tmp_path_factory.mktemp("api-drift")):
        insert(
            c,
            traces("api", Traffic(), 400, BASE_START, HOUR, seed=1)
            + traces("api", Traffic(latency_ms=1600.0), 400, CUR_START, HOUR, seed=2),
        )
        yield c


def signals(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["signals"]}


def test_get_reports_a_latency_shift_as_significant(client: TestClient) -> None:
    report = get(client, "/api/drift", project="api", **WINDOWS)
    s = signals(report)["latency_ms"]
    assert (s["status"], s["statistic"], s["test"]) == ("significant", "psi", "ks")
    assert (s["n_baseline"], s["n_current"]) == (400, 400)
    assert len(s["bin_edges"]) == len(s["baseline"]) + 1 == len(s["current"]) + 1
    assert report["status"] == "significant"


def test_post_with_a_json_request_gives_the_same_report(client: TestClient) -> None:
    body = {**WINDOWS, "signals": ["latency_ms", "model_mix"], "thresholds": {"min_samples": 50}}
    r = client.post("/api/drift", params={"project": "api"}, json=body)
    assert r.status_code == 200, r.text
    posted = signals(r.json())
    got = signals(
        get(client, "/api/drift", project="api", signal=["latency_ms", "model_mix"], min_samples=50, **WINDOWS)
    )
    assert list(posted) == ["latency_ms", "model_mix"]
    assert posted["latency_ms"]["value"] == pytest.approx(got["latency_ms"]["value"])
    assert posted["model_mix"]["status"] == got["model_mix"]["status"] == "stable"


def test_a_trailing_baseline_ends_where_the_current_window_starts(client: TestClient) -> None:
    report = get(
        client, "/api/drift", project="api", current="1h", baseline="2h", current_end=iso(CUR_END), signal="error_rate"
    )
    assert report["current"]["start"] == report["baseline"]["end"]
    assert report["baseline"]["start"].startswith(iso(CUR_END - 3 * HOUR)[:19])


def test_history_gives_psi_per_bucket_against_the_baseline(client: TestClient) -> None:
    h = get(client, "/api/drift/history", project="api", signal="latency_ms", interval="10m", **WINDOWS)
    assert (h["statistic"], h["interval_s"], len(h["points"])) == ("psi", 600, 6)
    assert all(p["value"] > 0.2 for p in h["points"])
    assert sum(p["n"] for p in h["points"]) == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"baseline": "soon"}, "baseline must look like"),
        ({"signal": "vibes"}, "unknown signal"),
        ({"baseline": "7d", "baseline_start": iso(BASE_START)}, "either baseline"),
        ({"baseline_start": iso(BASE_START)}, "both baseline_start and baseline_end"),
        ({"current_start": iso(CUR_END), "current_end": iso(CUR_START)}, "end must be after start"),
        ({"psi_moderate": 0.5, "psi_significant": 0.2}, "psi_moderate must not exceed"),
        ({"current_end": "yesterday"}, "current_end must be ISO-8601"),
    ],
)
def test_bad_parameters_are_refused_with_400_and_a_reason(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    r = client.get("/api/drift", params={"project": "api", **params})
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]


def test_history_of_a_sampled_signal_or_without_a_signal_is_refused(client: TestClient) -> None:
    assert client.get("/api/drift/history", params={"signal": "input_semantic", **WINDOWS}).status_code == 400
    assert client.get("/api/drift/history", params=WINDOWS).status_code == 400


def test_post_with_an_invalid_body_is_refused_with_400(client: TestClient) -> None:
    r = client.post("/api/drift", json={"thresholds": {"p_value": 2}})
    assert r.status_code == 400
    assert "p_value" in r.json()["detail"]
