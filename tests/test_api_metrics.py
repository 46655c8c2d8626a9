"""Metrics API on real embedded storage: each metric of DESIGN §6 computed right from known spans."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from spanscope.collector.api.querying import TimeRange, plan_rollup
from spanscope.schemas.metrics import Metric

from tests.api_support import BASE, HOUR, get, insert, iso, span, span_id, start_client, trace_id

WINDOW = {"start": iso(BASE), "end": iso(BASE + 3 * HOUR)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_client(tmp_path_factory.mktemp("api-metrics"))


def summary(client: TestClient, project: str, **params: Any) -> dict[str, Any]:
    params = {**WINDOW, **params}
    return get(client, "/api/metrics/summary", project=project, **params)


def test_requests_count_root_spans_and_spans_count_every_span(client: TestClient) -> None:
    rows = []
    for t in range(3):
        tid = trace_id(t, "req")
        rows.append(span("req", tid, span_id(0), BASE + 600 + t))
        rows += [span("req", tid, span_id(c), BASE + 600 + t, parent=span_id(0)) for c in (1, 2)]
    insert(client, rows)
    values = summary(client, "req")["values"]
    assert values["requests"] == 3
    assert values["spans"] == 9


def test_latency_above_30_seconds_is_reported_not_clamped(client: TestClient) -> None:
    durations = [1000.0] * 7 + [45_000.0, 50_000.0, 60_000.0]
    insert(
        client,
        [span("slow", trace_id(i, "slow"), span_id(0), BASE + 900 + i, d) for i, d in enumerate(durations)],
    )
    values = summary(client, "slow", metrics=["latency_max", "latency_p99", "trace_latency_p99"])["values"]
    assert values["latency_max"] == 60_000.0
    assert values["latency_p99"] >= 45_000.0
    assert values["trace_latency_p99"] >= 45_000.0


@pytest.mark.parametrize("source", ["rollup", "spans"])
def test_latency_percentiles_of_a_uniform_distribution_are_within_tdigest_tolerance(
    client: TestClient, source: str
) -> None:
    project = "uniform"
    if source == "rollup":  # insert once, read twice
        rows = [
            span(project, trace_id(i, project), span_id(0), BASE + 60 * (i % 150) + i / 1000, float(i))
            for i in range(1, 1001)
        ]
        insert(client, rows)
    values = summary(client, project, source=source, metrics=["latency_p50", "latency_p95", "latency_p99"])["values"]
    for metric, exact in (("latency_p50", 500.5), ("latency_p95", 950.05), ("latency_p99", 990.01)):
        assert values[metric] == pytest.approx(exact, abs=10.0), metric


def test_error_rate_is_error_spans_over_all_spans_per_kind(client: TestClient) -> None:
    rows = []
    for i in range(10):
        rows.append(
            span(
                "err",
                trace_id(i, "err"),
                span_id(1),
                BASE + 1200 + i,
                kind="generation",
                status="ERROR" if i < 4 else "OK",
            )
        )
        rows.append(
            span(
                "err",
                trace_id(i, "err"),
                span_id(2),
                BASE + 1200 + i,
                kind="retrieval",
                status="ERROR" if i < 1 else "UNSET",
            )
        )
    insert(client, rows)
    assert summary(client, "err")["values"]["error_rate"] == pytest.approx(5 / 20)
    table = get(client, "/api/metrics/breakdown", project="err", dimension="kind", **WINDOW)
    rates = {r["group"]: r["values"]["error_rate"] for r in table["rows"]}
    assert rates == {"generation": pytest.approx(0.4), "retrieval": pytest.approx(0.1)}


def test_fallback_rate_is_fallbacks_over_logical_llm_calls(client: TestClient) -> None:
    rows = []
    for i in range(8):
        rows.append(
            span(
                "fb",
                trace_id(i, "fb"),
                span_id(1),
                BASE + 1500 + i,
                kind="generation",
                is_llm_call=1,
                fallback_used=1 if i < 2 else 0,
                fallback_attempts=2 if i < 2 else 0,
            )
        )
    for i in range(2):  # the failed first attempts: not logical calls
        rows.append(
            span(
                "fb",
                trace_id(i, "fb"),
                span_id(2),
                BASE + 1500 + i,
                kind="generation",
                is_llm_call=0,
                fallback_attempt=1,
                status="ERROR",
                parent=span_id(1),
            )
        )
    insert(client, rows)
    values = summary(client, "fb")["values"]
    assert values["llm_calls"] == 8
    assert values["fallbacks"] == 2
    assert values["fallback_rate"] == pytest.approx(0.25)


def test_guardrail_block_rate_counts_block_and_modify_over_guardrail_spans_with_a_verdict(
    client: TestClient,
) -> None:
    verdicts = ["pass"] * 6 + ["block"] * 2 + ["modify", ""]
    rows = [
        span("gr", trace_id(i, "gr"), span_id(1), BASE + 1800 + i, kind="guardrail", guardrail_verdict=v)
        for i, v in enumerate(verdicts)
    ]
    rows.append(span("gr", trace_id(99, "gr"), span_id(1), BASE + 1800, kind="tool", guardrail_verdict="block"))
    insert(client, rows)
    values = summary(client, "gr")["values"]
    assert values["guardrail_checks"] == 9
    assert values["guardrail_blocks"] == 3
    assert values["guardrail_block_rate"] == pytest.approx(3 / 9)


def test_off_format_rate_is_invalid_over_validated_generations(client: TestClient) -> None:
    rows = []
    for i in range(15):
        validated = i < 10
        rows.append(
            span(
                "fmt",
                trace_id(i, "fmt"),
                span_id(1),
                BASE + 2100 + i,
                kind="generation",
                output_validated=int(validated),
                output_valid=1 if validated and i >= 3 else 0,
            )
        )
    insert(client, rows)
    values = summary(client, "fmt")["values"]
    assert values["validated"] == 10
    assert values["off_format"] == 3
    assert values["off_format_rate"] == pytest.approx(0.3)


def test_cost_and_tokens_are_sums(client: TestClient) -> None:
    rows = [
        span(
            "cost",
            trace_id(i, "cost"),
            span_id(1),
            BASE + 2400 + i,
            kind="generation",
            cost_usd=0.01 * (i + 1),
            input_tokens=100 * (i + 1),
            output_tokens=10 * (i + 1),
            total_tokens=110 * (i + 1),
        )
        for i in range(3)
    ]
    insert(client, rows)
    values = summary(client, "cost")["values"]
    assert values["cost"] == pytest.approx(0.06)
    assert (values["input_tokens"], values["output_tokens"], values["total_tokens"]) == (600, 60, 660)


def test_rates_without_a_denominator_are_none(client: TestClient) -> None:
    insert(client, [span("nodenom", trace_id(1, "nodenom"), span_id(0), BASE + 600)])
    values = summary(client, "nodenom")["values"]
    assert values["fallback_rate"] is None
    assert values["guardrail_block_rate"] is None
    assert values["off_format_rate"] is None


def test_summary_compares_with_the_previous_period_of_equal_length(client: TestClient) -> None:
    rows = [span("prev", trace_id(i, "prev"), span_id(0), BASE + 2 * HOUR + 1800 + i) for i in range(6)]
    rows += [span("prev", trace_id(100 + i, "prev"), span_id(0), BASE + HOUR + 1800 + i) for i in range(4)]
    insert(client, rows)
    body = get(client, "/api/metrics/summary", project="prev", start=iso(BASE + 2 * HOUR), end=iso(BASE + 3 * HOUR))
    assert body["values"]["requests"] == 6
    assert body["previous"]["requests"] == 4
    assert body["change"]["requests"] == pytest.approx(0.5)
    assert body["previous_start"] == iso(BASE + HOUR)


def test_timeseries_has_every_bucket_with_zero_counts_in_gaps(client: TestClient) -> None:
    rows = [span("gaps", trace_id(i, "gaps"), span_id(0), BASE + 600 + i) for i in range(2)]
    rows.append(span("gaps", trace_id(9, "gaps"), span_id(0), BASE + 2400))
    insert(client, rows)
    body = get(
        client,
        "/api/metrics/timeseries",
        project="gaps",
        start=iso(BASE),
        end=iso(BASE + HOUR),
        interval="10m",
        metrics=["requests", "error_rate"],
    )
    assert body["interval_s"] == 600
    assert len(body["timestamps"]) == 6
    assert body["timestamps"][0] == iso(BASE)
    values = body["series"][0]["values"]
    assert values["requests"] == [0, 2, 0, 0, 1, 0]
    assert values["error_rate"] == [None, 0, None, None, 0, None]


@pytest.mark.parametrize(
    ("range_", "interval_s"),
    [("1h", 60), ("6h", 120), ("24h", 600), ("7d", 3600), ("30d", 21600), ("400d", 172800)],
)
def test_timeseries_interval_is_chosen_from_the_range(client: TestClient, range_: str, interval_s: int) -> None:
    body = get(client, "/api/metrics/timeseries", project="empty", range=range_, metrics=["requests"])
    assert body["interval_s"] == interval_s
    assert 24 <= len(body["timestamps"]) <= 201


def test_timeseries_refuses_an_interval_giving_too_many_buckets(client: TestClient) -> None:
    body = get(client, "/api/metrics/timeseries", expect=400, project="empty", range="30d", interval="1m")
    assert "interval" in body["detail"]


def _model_rows(project: str) -> list[dict[str, Any]]:
    rows = []
    n = 0
    for model, count in (("a", 5), ("b", 3), ("c", 2), ("d", 1), ("", 3)):
        for _ in range(count):
            rows.append(
                span(project, trace_id(n, project), span_id(1), BASE + 1800 + n, kind="generation", model=model)
            )
            n += 1
    return rows


def test_timeseries_by_model_keeps_the_top_groups_and_sums_the_rest_as_other(client: TestClient) -> None:
    insert(client, _model_rows("groups"))
    body = get(
        client,
        "/api/metrics/timeseries",
        project="groups",
        group_by="model",
        top=2,
        metrics=["spans"],
        interval="1h",
        **WINDOW,
    )
    totals = {s["group"]: sum(s["values"]["spans"]) for s in body["series"]}
    assert totals == {"a": 5, "b": 3, "__other__": 3}


def test_timeseries_without_other_keeps_only_the_top_groups(client: TestClient) -> None:
    insert(client, _model_rows("groups2"))
    body = get(
        client,
        "/api/metrics/timeseries",
        project="groups2",
        group_by="model",
        top=2,
        other=False,
        metrics=["spans"],
        interval="1h",
        **WINDOW,
    )
    assert [s["group"] for s in body["series"]] == ["a", "b"]


def test_breakdown_by_user_reads_raw_spans_and_sorts_by_cost(client: TestClient) -> None:
    rows = [
        span(
            "users",
            trace_id(i, "users"),
            span_id(1),
            BASE + 600 + i,
            kind="generation",
            user_id=u,
            cost_usd=c,
        )
        for i, (u, c) in enumerate([("u1", 0.25), ("u2", 0.25), ("u1", 0.25), ("u3", 0.0)])
    ]
    insert(client, rows)
    body = get(client, "/api/metrics/breakdown", project="users", dimension="user", sort_by="cost", **WINDOW)
    assert body["source"] == "spans"
    assert [(r["group"], r["values"]["cost"]) for r in body["rows"]] == [
        ("u1", 0.5),
        ("u2", 0.25),
        ("u3", 0.0),
    ]


def test_prompt_version_groups_are_named_prompt_at_version(client: TestClient) -> None:
    rows = [
        span(
            "pv",
            trace_id(i, "pv"),
            span_id(1),
            BASE + 600 + i,
            kind="generation",
            prompt_name="answer",
            prompt_version=str(1 + i % 2),
        )
        for i in range(5)
    ]
    insert(client, rows)
    body = get(client, "/api/metrics/breakdown", project="pv", dimension="prompt_version", **WINDOW)
    assert {r["group"]: r["values"]["spans"] for r in body["rows"]} == {"answer@1": 3, "answer@2": 2}


def _mixed(project: str, start: float, count: int, step_s: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        tid, t = trace_id(i, project), start + i * step_s
        rows.append(span(project, tid, span_id(0), t, 100.0 + (i * 37) % 900, kind="chain", service=f"s{i % 2}"))
        rows.append(
            span(
                project,
                tid,
                span_id(1),
                t,
                50.0 + (i * 53) % 5000,
                parent=span_id(0),
                kind="generation",
                model=f"m{i % 3}",
                is_llm_call=1,
                fallback_used=int(i % 7 == 0),
                cost_usd=0.001 * (i % 5),
                status="ERROR" if i % 11 == 0 else "OK",
                output_validated=1,
                output_valid=int(i % 4 != 0),
            )
        )
        rows.append(
            span(
                project,
                tid,
                span_id(2),
                t,
                20.0,
                parent=span_id(0),
                kind="guardrail",
                guardrail_verdict="block" if i % 9 == 0 else "pass",
            )
        )
    return rows


def test_rollups_and_raw_spans_give_the_same_metrics(client: TestClient) -> None:
    insert(client, _mixed("same", BASE + 60, 300, 30.0))
    every = [m.value for m in Metric]
    rollup = summary(client, "same", source="rollup", metrics=every)["values"]
    raw = summary(client, "same", source="spans", metrics=every)["values"]
    for metric in Metric:
        if rollup[metric] is None or "latency_p" in metric:
            assert (rollup[metric] is None) == (raw[metric] is None), metric
            if rollup[metric] is not None:
                assert rollup[metric] == pytest.approx(raw[metric], rel=0.05), metric
        else:
            assert rollup[metric] == pytest.approx(raw[metric]), metric


def test_daily_and_hourly_rollups_count_like_raw_spans_over_days(client: TestClient) -> None:
    midnight = BASE // 86400 * 86400
    first, last = midnight - 2 * 86400 - 5 * HOUR, midnight + 4 * HOUR
    insert(client, _mixed("days", first, int((last - first) / 1800), 1800.0))
    lo, hi = first - 600, last + 600  # minutes, 5 hours, 2 days, 4 hours, minutes
    tables = [arm[0] for arm in plan_rollup(TimeRange(int(lo * 1e6), int(hi * 1e6))).arms]
    assert sorted(tables) == ["rollup_day", "rollup_hour", "rollup_hour", "rollup_minute", "rollup_minute"]
    params = {"start": iso(lo), "end": iso(hi), "compare": False}
    rollup = summary(client, "days", **params)["values"]
    raw = summary(client, "days", source="spans", **params)["values"]
    for metric in ("requests", "spans", "errors", "cost", "fallbacks", "guardrail_blocks", "off_format"):
        assert rollup[metric] == pytest.approx(raw[metric]), metric
    assert rollup["requests"] == (last - first) / 1800


def test_rollup_plans_cover_the_range_without_gaps_or_overlaps() -> None:
    for start, end in ((0.0, 59.0), (3599.0, 4 * 3600 + 1.0), (86400 - 61.0, 3 * 86400 + 7261.0)):
        plan = plan_rollup(TimeRange(int((1_700_000_000 + start) * 1e6), int((1_700_000_000 + end) * 1e6)))
        arms = sorted(plan.arms, key=lambda a: a[2])
        assert arms[0][2] == plan.start_s and arms[-1][3] == plan.end_s
        assert all(a[3] == b[2] for a, b in itertools.pairwise(arms))


def test_raw_only_filters_refuse_the_rollup_source(client: TestClient) -> None:
    body = get(client, "/api/metrics/summary", expect=400, project="x", user_id="u1", source="rollup")
    assert "spans" in body["detail"]


def test_the_default_summary_leaves_out_span_latency_percentiles_of_mixed_kinds(client: TestClient) -> None:
    values = summary(client, "empty")["values"]
    assert "trace_latency_p95" in values and "latency_p95" not in values


def test_definitions_describe_every_metric(client: TestClient) -> None:
    body = get(client, "/api/metrics/definitions")
    assert {m["metric"] for m in body["metrics"]} == {m.value for m in Metric}
