"""Prompt version comparison (with significance tests) and the cost endpoint."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, HOUR, get, insert, iso, span, span_id, start_client, trace_id

WINDOW = {"start": iso(BASE), "end": iso(BASE + 3 * HOUR)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_client(tmp_path_factory.mktemp("api-prompts"))


def calls(
    project: str,
    version: str,
    n: int,
    latency: list[float],
    errors: int,
    offset: int = 0,
    fallbacks: int = 0,
    invalid: int = 0,
    cost: float = 0.01,
) -> list[dict[str, Any]]:
    """n logical LLM calls of prompt `p` at `version`: the first `errors` fail, the next `fallbacks` were
    served by a fallback, `invalid` of them produced off-format output."""
    rows = []
    for i in range(n):
        rows.append(
            span(
                project,
                trace_id(offset + i, project),
                span_id(1),
                BASE + 600 + (offset + i) % 3000,
                latency[i % len(latency)],
                kind="generation",
                is_llm_call=1,
                prompt_name="p",
                prompt_version=version,
                status="ERROR" if i < errors else "OK",
                fallback_used=int(errors <= i < errors + fallbacks),
                output_validated=1,
                output_valid=int(i >= invalid),
                cost_usd=cost,
            )
        )
    return rows


def versions(client: TestClient, project: str, **params: Any) -> dict[str, Any]:
    return get(client, "/api/prompts/p/versions", project=project, **{**WINDOW, **params})


def comparison_by_metric(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["metric"]: t for t in body["comparison"]["tests"]}


def test_version_stats_are_computed_per_version(client: TestClient) -> None:
    insert(client, calls("stats", "1", 20, [100.0], errors=2, fallbacks=4, invalid=5))
    insert(client, calls("stats", "2", 10, [300.0], errors=0, offset=100, cost=0.05))
    body = versions(client, "stats")
    v1, v2 = body["versions"]
    assert (v1["version"], v1["calls"], v2["calls"]) == ("1", 20, 10)
    assert (v1["error_rate"], v1["fallback_rate"], v1["off_format_rate"]) == (0.1, 0.2, 0.25)
    assert v1["latency_p50"] == pytest.approx(100.0)
    assert (v1["cost_per_call"], v2["cost_per_call"]) == (pytest.approx(0.01), pytest.approx(0.05))


def test_a_real_difference_between_versions_is_significant(client: TestClient) -> None:
    rng = random.Random(1)
    insert(client, calls("sig", "1", 300, [rng.gauss(400, 50) for _ in range(300)], errors=6))
    insert(client, calls("sig", "2", 300, [rng.gauss(600, 50) for _ in range(300)], errors=60, offset=1000))
    tests = comparison_by_metric(versions(client, "sig", baseline="1", candidate="2"))
    assert tests["latency_ms"]["test"] == "mann-whitney-u"
    assert tests["latency_ms"]["significant"] and tests["latency_ms"]["p_value"] < 1e-6
    assert tests["latency_ms"]["difference"] == pytest.approx(200, abs=30)
    assert tests["error_rate"]["test"] == "chi-square"
    assert tests["error_rate"]["significant"]
    assert tests["error_rate"]["difference"] == pytest.approx(0.18)


def test_versions_drawn_from_the_same_distribution_are_not_significant(client: TestClient) -> None:
    rng = random.Random(2)
    same = [rng.gauss(500, 80) for _ in range(400)]
    insert(client, calls("same", "1", 200, same[:200], errors=10))
    insert(client, calls("same", "2", 200, same[200:], errors=11, offset=1000))
    tests = comparison_by_metric(versions(client, "same"))
    assert not tests["latency_ms"]["significant"]
    assert tests["latency_ms"]["p_value"] > 0.05
    assert not tests["error_rate"]["significant"]
    assert not tests["cost_per_call_usd"]["significant"]


def test_sparse_rates_are_compared_with_fishers_exact_test(client: TestClient) -> None:
    insert(client, calls("sparse", "1", 10, [100.0], errors=0))
    insert(client, calls("sparse", "2", 10, [100.0], errors=3, offset=100))
    tests = comparison_by_metric(versions(client, "sparse"))
    assert tests["error_rate"]["test"] == "fisher-exact"
    assert tests["error_rate"]["p_value"] == pytest.approx(0.2105, abs=1e-3)


def test_the_default_comparison_is_the_two_newest_versions(client: TestClient) -> None:
    rows = calls("order", "a", 5, [100.0], 0)
    rows += [
        {**r, "start_time": f"{float(r['start_time']) + 3600:.6f}"} for r in calls("order", "b", 5, [100.0], 0, 50)
    ]
    rows += [
        {**r, "start_time": f"{float(r['start_time']) + 7000:.6f}"} for r in calls("order", "c", 5, [100.0], 0, 99)
    ]
    insert(client, rows)
    body = versions(client, "order")
    assert [v["version"] for v in body["versions"]] == ["a", "b", "c"]
    assert (body["comparison"]["baseline"], body["comparison"]["candidate"]) == ("b", "c")


def test_scores_are_averaged_per_version_and_compared(client: TestClient) -> None:
    insert(client, calls("scored", "1", 4, [100.0], 0))
    insert(client, calls("scored", "2", 4, [100.0], 0, offset=10))
    scores = [{"trace_id": trace_id(i, "scored"), "name": "quality", "value": 0.5} for i in range(4)]
    scores += [{"trace_id": trace_id(10 + i, "scored"), "name": "quality", "value": 1.0} for i in range(4)]
    assert client.post("/api/scores", params={"project": "scored"}, json={"scores": scores}).status_code == 200
    body = versions(client, "scored")
    assert body["versions"][0]["scores"] == {"quality": {"mean": 0.5, "count": 4}}
    assert body["versions"][1]["scores"] == {"quality": {"mean": 1.0, "count": 4}}
    assert "score:quality" in comparison_by_metric(body)


def test_an_unknown_prompt_is_404_and_an_unknown_version_400(client: TestClient) -> None:
    get(client, "/api/prompts/p/versions", expect=404, project="nobody", **WINDOW)
    insert(client, calls("ver", "1", 3, [100.0], 0))
    body = get(client, "/api/prompts/p/versions", expect=400, project="ver", baseline="1", candidate="9", **WINDOW)
    assert "'9'" in body["detail"]


def test_prompts_are_listed_with_their_versions(client: TestClient) -> None:
    insert(client, calls("list", "1", 3, [100.0], 0) + calls("list", "2", 2, [100.0], 0, offset=10))
    (prompt,) = get(client, "/api/prompts", project="list", **WINDOW)["prompts"]
    assert (prompt["prompt_name"], prompt["versions"], prompt["calls"]) == ("p", ["1", "2"], 5)


def spend(project: str) -> list[dict[str, Any]]:
    rows = []
    for i, (model, service, user, cost) in enumerate(
        [("big", "web", "u1", 0.5), ("big", "web", "u2", 0.25), ("small", "batch", "u1", 0.125)]
    ):
        tid = trace_id(i, project)
        rows.append(span(project, tid, span_id(0), BASE + 600 + i, service=service, user_id=user, name=f"job{i}"))
        rows.append(
            span(
                project,
                tid,
                span_id(1),
                BASE + 600 + i,
                parent=span_id(0),
                kind="generation",
                model=model,
                service=service,
                user_id=user,
                cost_usd=cost,
                is_llm_call=1,
                prompt_name="p",
                prompt_version="1",
            )
        )
    return rows


def test_cost_is_broken_down_by_model_service_user_and_prompt_version(client: TestClient) -> None:
    insert(client, spend("spend"))
    body = get(client, "/api/cost", project="spend", **WINDOW)
    assert body["total_usd"] == pytest.approx(0.875)
    assert [(r["key"], r["cost_usd"], r["llm_calls"]) for r in body["by_model"]] == [
        ("big", 0.75, 2),
        ("small", 0.125, 1),
    ]
    assert body["by_model"][0]["share"] == pytest.approx(0.75 / 0.875)
    assert [(r["key"], r["cost_usd"]) for r in body["by_service"]] == [("web", 0.75), ("batch", 0.125)]
    assert [(r["key"], r["cost_usd"]) for r in body["by_user"]] == [("u1", 0.625), ("u2", 0.25)]
    assert [(r["key"], r["cost_usd"]) for r in body["by_prompt_version"]] == [("p@1", 0.875)]
    assert [(t["name"], t["cost_usd"]) for t in body["top_traces"]] == [("job0", 0.5), ("job1", 0.25), ("job2", 0.125)]


def test_month_end_projection_adds_the_trailing_daily_rate_for_the_days_left(client: TestClient) -> None:
    now = time.time()
    stamps = [now - 86400 * k - 1800 for k in range(7)]  # $1 a day for the last 7 days
    insert(
        client,
        [
            span("month", trace_id(k, "month"), span_id(1), t, kind="generation", cost_usd=1.0)
            for k, t in enumerate(stamps)
        ],
    )
    body = get(client, "/api/cost", project="month", range="7d")
    month_start = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    mtd = sum(1.0 for t in stamps if t >= month_start.timestamp())
    assert body["month_start"] == month_start.isoformat().replace("+00:00", "Z")
    assert body["month_to_date_usd"] == pytest.approx(mtd)
    nxt = datetime(month_start.year + (month_start.month == 12), month_start.month % 12 + 1, 1, tzinfo=UTC)
    days_left = (nxt.timestamp() - now) / 86400
    rate = 7.0 / ((now - (min(stamps) // 3600 * 3600)) / 86400)
    assert body["projected_month_end_usd"] == pytest.approx(mtd + rate * days_left, rel=0.01)
    assert sum(d["cost_usd"] for d in body["daily"]) == pytest.approx(mtd)


def test_cost_follows_the_global_service_and_model_filters(client: TestClient) -> None:
    insert(client, spend("spendf"))
    body = get(client, "/api/cost", project="spendf", service="web", **WINDOW)
    assert body["total_usd"] == pytest.approx(0.75)
    assert [r["key"] for r in body["by_model"]] == ["big"]
    assert [t["name"] for t in body["top_traces"]] == ["job0", "job1"]
    by_model = get(client, "/api/cost", project="spendf", model="small", **WINDOW)
    assert by_model["total_usd"] == pytest.approx(0.125)
    assert [(r["key"], r["cost_usd"]) for r in by_model["by_user"]] == [("u1", 0.125)]


def test_prompt_lists_and_versions_follow_the_global_filters(client: TestClient) -> None:
    rows = calls("pf", "1", 4, [100.0], 0)
    rows += [{**r, "service": "batch"} for r in calls("pf", "2", 3, [100.0], 0, offset=10)]
    insert(client, rows)
    (prompt,) = get(client, "/api/prompts", project="pf", service="batch", **WINDOW)["prompts"]
    assert (prompt["versions"], prompt["calls"]) == (["2"], 3)
    body = versions(client, "pf", service="batch")
    assert [(v["version"], v["calls"]) for v in body["versions"]] == [("2", 3)]
