"""The alerts API on an in-process collector: validation, rule management, the alerts file, evaluation
on demand (metric and drift rules) and history queries."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from spanscope.collector.alerts.service import AlertConfig, AlertService

from tests.api_support import insert, span, span_id, start_client, trace_id

ALERTS_FILE = """
rules:
  - id: cost-budget
    name: Hourly cost budget
    metric: cost
    window: 1h
    operator: ">"
    threshold: 5
    webhooks: [http://127.0.0.1:9/budget]
  - name: Off-format answers
    metric: off_format_rate
    filters: {kind: generation}
    group_by: model
    window: 15m
    threshold: 0.1
    min_samples: 20
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("alerts-api")
    (tmp / "alerts.yaml").write_text(ALERTS_FILE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPANSCOPE_ALERTS_FILE", str(tmp / "alerts.yaml"))
        mp.setenv("SPANSCOPE_ALERT_INTERVAL_S", "0")  # evaluation on demand only
        yield from start_client(tmp / "data")


def service(client: TestClient) -> AlertService:
    found = [s for s in client.app.state.collector.services if isinstance(s, AlertService)]  # type: ignore[attr-defined]
    return found[0]


def metric_rule(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "p95 latency", "metric": "latency_p95", "window": "5m", "threshold": 1000}
    body.update(fields)
    return body


def error_of(response: Any) -> str:
    return str(response.json()["detail"])


# --------------------------------------------------------------------------- validation


def test_an_unknown_metric_is_refused_with_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/api/alerts/rules", json=metric_rule(metric="latency_p42"))
    assert r.status_code == 422
    assert "metric" in error_of(r) and "latency_p95" in error_of(r)


def test_a_window_that_is_not_whole_minutes_is_refused(client: TestClient) -> None:
    for window in ("5x", "30s", "90s", "40d"):
        r = client.post("/api/alerts/rules", json=metric_rule(window=window))
        assert r.status_code == 422, window
        assert "window" in error_of(r)


def test_a_webhook_must_be_an_http_or_https_url(client: TestClient) -> None:
    for url in ("ftp://example.com/x", "example.com/hook", "http://"):
        r = client.post("/api/alerts/rules", json=metric_rule(webhooks=[url]))
        assert r.status_code == 422, url
        assert "webhook must be an http:// or https:// URL" in error_of(r)


def test_a_metric_rule_needs_a_threshold(client: TestClient) -> None:
    body = metric_rule()
    del body["threshold"]
    r = client.post("/api/alerts/rules", json=body)
    assert r.status_code == 422 and "threshold" in error_of(r)


def test_a_drift_rule_needs_a_known_signal(client: TestClient) -> None:
    r = client.post("/api/alerts/rules", json={"name": "d", "kind": "drift", "drift": {"signal": "vibes"}})
    assert r.status_code == 422 and "unknown drift signal 'vibes'" in error_of(r)


def test_grouping_by_user_is_refused(client: TestClient) -> None:
    r = client.post("/api/alerts/rules", json=metric_rule(group_by="user"))
    assert r.status_code == 422 and "cannot group by user" in error_of(r)


# --------------------------------------------------------------------------- management


def test_rules_are_created_read_replaced_and_deleted(client: TestClient) -> None:
    r = client.post("/api/alerts/rules", json=metric_rule(rule_id="crud", secret="k", group_by="model"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["source"] == "api" and created["signed"] is True and created["secret"] is None
    assert client.get("/api/alerts/rules/crud").json()["group_by"] == "model"

    r = client.put("/api/alerts/rules/crud", json=metric_rule(threshold=2500, operator="gte"))
    assert r.status_code == 200, r.text
    replaced = r.json()
    assert (replaced["threshold"], replaced["operator"], replaced["group_by"]) == (2500, ">=", None)
    assert replaced["signed"] is True, "an omitted secret keeps the current one"
    assert replaced["version"] > created["version"]

    assert client.delete("/api/alerts/rules/crud").status_code == 204
    assert client.get("/api/alerts/rules/crud").status_code == 404
    assert "crud" not in {r["rule_id"] for r in client.get("/api/alerts/rules").json()["rules"]}


def test_creating_an_existing_rule_id_conflicts(client: TestClient) -> None:
    assert client.post("/api/alerts/rules", json=metric_rule(rule_id="twice")).status_code == 201
    r = client.post("/api/alerts/rules", json=metric_rule(rule_id="twice"))
    assert r.status_code == 409 and "PUT" in error_of(r)


def test_the_alerts_file_rules_are_loaded_and_read_only_through_the_api(client: TestClient) -> None:
    listing = client.get("/api/alerts/rules").json()
    by_id = {r["rule_id"]: r for r in listing["rules"]}
    assert by_id["cost-budget"]["source"] == "file"
    assert by_id["off-format-answers"]["group_by"] == "model"  # id made from the name
    assert by_id["off-format-answers"]["filters"]["kind"] == ["generation"]
    assert listing["file"].endswith("alerts.yaml") and listing["file_error"] is None
    r = client.put("/api/alerts/rules/cost-budget", json=metric_rule())
    assert r.status_code == 409 and "alerts file" in error_of(r)
    assert client.delete("/api/alerts/rules/cost-budget").status_code == 409


def test_an_invalid_alerts_file_changes_no_rule_and_is_reported(client: TestClient, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: broken\n  metric: cost\n  window: soon\n  threshold: 1\n")
    svc = service(client)
    before = {r["rule_id"] for r in client.get("/api/alerts/rules").json()["rules"]}
    original = svc.config
    svc.config = AlertConfig(interval_s=0, file=bad)
    try:
        svc.load_file()
        assert svc.file_error is not None and "rule 1 (broken): window" in svc.file_error
        assert any("alerts file" in w for w in client.get("/readyz").json()["warnings"])
        listing = client.get("/api/alerts/rules").json()
        assert listing["file_error"] == svc.file_error
        assert {r["rule_id"] for r in listing["rules"]} == before
    finally:
        svc.config = original
        svc.load_file()
    assert svc.file_error is None


# --------------------------------------------------------------------------- evaluation on demand


def test_evaluating_now_reports_each_group_without_changing_state(client: TestClient) -> None:
    now = time.time()
    rows = []
    for i in range(30):
        for model, ms in (("fast-model", 200.0), ("slow-model", 3000.0)):
            rows.append(span("default", trace_id(i, model), span_id(0), now - 60, ms, kind="generation", model=model))
    insert(client, rows)
    body = metric_rule(rule_id="slow-models", group_by="model", filters={"kind": ["generation"]}, min_samples=10)
    assert client.post("/api/alerts/rules", json=body).status_code == 201
    r = client.post("/api/alerts/rules/slow-models/test")
    assert r.status_code == 200, r.text
    groups = {g["group_key"]: g for g in r.json()["groups"]}
    assert groups["slow-model"]["breached"] is True and groups["slow-model"]["value"] == pytest.approx(3000)
    assert groups["fast-model"]["breached"] is False and groups["fast-model"]["samples"] == 30
    assert "Latency p95 for kind=generation model=slow-model is 3,000 ms (> 1,000 ms)" in groups["slow-model"]["detail"]
    assert client.get("/api/alerts/rules/slow-models").json()["states"] == []


def test_a_drift_rule_fires_on_a_latency_shift(client: TestClient) -> None:
    rng = random.Random(3)
    now = time.time()
    rows = []
    for i in range(300):
        rows.append(
            span("drift", trace_id(i, "base"), span_id(0), now - 7200 - i * 10, rng.gauss(300, 30), service="d")
        )
        rows.append(span("drift", trace_id(i, "cur"), span_id(0), now - 600 - i, rng.gauss(900, 30), service="d"))
    insert(client, rows)
    body = {
        "rule_id": "latency-drift",
        "name": "Latency drift",
        "kind": "drift",
        "window": "1h",
        "filters": {"service": "d"},
        "drift": {"signal": "latency_ms", "baseline": "1d", "min_status": "significant"},
    }
    assert client.post("/api/alerts/rules", json=body, params={"project": "drift"}).status_code == 201
    r = client.post("/api/alerts/rules/latency-drift/test", params={"project": "drift"})
    assert r.status_code == 200, r.text
    (group,) = r.json()["groups"]
    assert group["breached"] is True
    assert "drift is significant" in group["detail"] and group["value"] > 0.2


def test_the_history_range_is_validated(client: TestClient) -> None:
    assert client.get("/api/alerts/events", params={"range": "forever"}).status_code == 400
    assert client.get("/api/alerts/events", params={"range": "1h"}).json() == {"events": []}
