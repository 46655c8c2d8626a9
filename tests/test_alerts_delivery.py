"""Alert rules against a real collector process: firing, cooldown, resolution, restarts, and webhooks
that fail or hang while spans keep flowing in. Webhooks go to a receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.alerts_support import WebhookReceiver, rule, send_spans, wait_until
from tests.collector_process import CollectorProcess, free_port

ENV = {
    "SPANSCOPE_ALERT_INTERVAL_S": "0.5",
    "SPANSCOPE_ALERT_WEBHOOK_TIMEOUT_S": "2",
    "SPANSCOPE_ALERT_WEBHOOK_RETRIES": "1",
    "SPANSCOPE_ALERT_WEBHOOK_BACKOFF_S": "0.1",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path_factory.mktemp("alerts") / "data", env=ENV).start()
    yield proc
    proc.stop()


def add_rule(collector: CollectorProcess, body: dict[str, object]) -> dict[str, object]:
    r = httpx.post(f"{collector.url}/api/alerts/rules", json=body, timeout=10)
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def events(collector: CollectorProcess, rule_id: str) -> list[dict[str, object]]:
    r = httpx.get(f"{collector.url}/api/alerts/events", params={"rule_id": rule_id, "range": "1h"}, timeout=10)
    assert r.status_code == 200, r.text
    found: list[dict[str, object]] = r.json()["events"]
    return found


def settle(seconds: float = 2.0) -> None:
    """Lets the evaluator (every 0.5 s) run several more times."""
    time.sleep(seconds)


def test_breached_rule_fires_exactly_once(collector: CollectorProcess, receiver: WebhookReceiver) -> None:
    path = "/hook/once"
    add_rule(collector, rule("fires-once", "svc-once", [receiver.url + path]))
    send_spans(collector.url, "svc-once", 10, error=True)
    wait_until(lambda: receiver.at(path), "firing notification")
    settle()
    send_spans(collector.url, "svc-once", 5, error=True)  # still breached: no new notification
    settle()
    got = receiver.at(path)
    assert len(got) == 1
    body = got[0].body
    assert body["status"] == "firing"
    assert body["rule"]["id"] == "fires-once"
    assert body["rule"]["metric"] == "error_rate"
    assert body["value"] == 1.0 and body["samples"] == 10
    assert body["dedup_key"] == got[0].headers["x-spanscope-dedup-key"]
    assert "Error rate for service=svc-once is 100.00%" in body["message"]


def test_recovery_sends_resolved_with_its_own_dedup_key(collector: CollectorProcess, receiver: WebhookReceiver) -> None:
    path = "/hook/resolve"
    add_rule(collector, rule("resolves", "svc-resolve", [receiver.url + path]))
    send_spans(collector.url, "svc-resolve", 5, error=True)
    wait_until(lambda: receiver.at(path), "firing notification")
    send_spans(collector.url, "svc-resolve", 20, error=False)  # 5 of 25 failed: 20 % < 50 %
    got = wait_until(lambda: len(receiver.at(path)) >= 2 and receiver.at(path), "resolved notification")
    firing, resolved = (g.body for g in got)
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert resolved["value"] == pytest.approx(0.2)
    assert resolved["started_at"] == firing["started_at"]
    assert resolved["dedup_key"] != firing["dedup_key"]
    # A delivery is recorded once the webhook has answered, so after the receiver saw it.
    kinds = wait_until(
        lambda: (k := [e["event"] for e in events(collector, "resolves")]).count("delivered") >= 2 and k,
        "both deliveries recorded",
    )
    assert kinds.count("firing") == 1 and kinds.count("resolved") == 1 and kinds.count("delivered") == 2


def test_refiring_within_the_cooldown_is_recorded_but_not_notified(
    collector: CollectorProcess, receiver: WebhookReceiver
) -> None:
    path = "/hook/cooldown"
    add_rule(collector, rule("cools-down", "svc-flap", [receiver.url + path], cooldown="1h"))
    send_spans(collector.url, "svc-flap", 5, error=True)
    wait_until(lambda: receiver.at(path), "firing notification")
    send_spans(collector.url, "svc-flap", 20, error=False)
    wait_until(lambda: len(receiver.at(path)) >= 2, "resolved notification")
    send_spans(collector.url, "svc-flap", 40, error=True)  # 45 of 65 failed: breached again
    wait_until(
        lambda: [
            e for e in events(collector, "cools-down") if e["event"] == "firing" and e["delivery"] == "suppressed"
        ],
        "second firing recorded as suppressed",
    )
    settle()
    assert [g.body["status"] for g in receiver.at(path)] == ["firing", "resolved"]


def test_deliveries_are_signed_with_the_rule_secret(collector: CollectorProcess, receiver: WebhookReceiver) -> None:
    path = "/hook/signed"
    saved = add_rule(collector, rule("signed", "svc-signed", [receiver.url + path], secret="s3cret"))
    assert saved["signed"] is True and saved["secret"] is None
    send_spans(collector.url, "svc-signed", 3, error=True)
    (got,) = wait_until(lambda: receiver.at(path), "signed notification")
    expected = "sha256=" + hmac.new(b"s3cret", got.raw, hashlib.sha256).hexdigest()
    assert got.headers["x-spanscope-signature"] == expected


def test_failing_webhooks_are_retried_recorded_and_counted(
    collector: CollectorProcess, receiver: WebhookReceiver
) -> None:
    refused = f"http://127.0.0.1:{free_port()}/nobody"
    add_rule(collector, rule("failing", "svc-fail", [receiver.url + "/fail/x", refused]))
    send_spans(collector.url, "svc-fail", 3, error=True)
    failures = wait_until(
        lambda: len(f := [e for e in events(collector, "failing") if e["event"] == "delivery_failed"]) == 2 and f,
        "both deliveries recorded as failed",
    )
    by_url = {e["webhook_url"]: e for e in failures}
    assert by_url[receiver.url + "/fail/x"]["http_status"] == 500
    assert by_url[receiver.url + "/fail/x"]["attempts"] == 2  # one retry
    assert len(receiver.at("/fail/x")) == 2
    assert "ConnectError" in str(by_url[refused]["error"])
    text = httpx.get(f"{collector.url}/metrics", timeout=10).text
    failed = [ln for ln in text.splitlines() if ln.startswith('spanscope_alert_notifications_total{outcome="failed"}')]
    assert failed and float(failed[0].split()[-1]) >= 2


def test_a_hanging_webhook_stalls_neither_ingest_nor_other_alerts(
    collector: CollectorProcess, receiver: WebhookReceiver
) -> None:
    add_rule(collector, rule("hangs", "svc-hang", [receiver.url + "/hang/x"] * 4))
    send_spans(collector.url, "svc-hang", 3, error=True)
    wait_until(lambda: len(receiver.at("/hang/x")) >= 4, "every delivery worker stuck in the hanging webhook")

    before = int(collector.scalar("SELECT count() FROM spanscope.spans WHERE service = 'svc-during-hang'") or 0)
    slowest = 0.0
    for _ in range(20):
        t = time.perf_counter()
        send_spans(collector.url, "svc-during-hang", 50, error=False)
        slowest = max(slowest, time.perf_counter() - t)
    assert slowest < 1.0, f"an OTLP request took {slowest:.2f} s while the webhook hung"
    stored = collector.wait_for_count(
        "SELECT count() FROM spanscope.spans WHERE service = 'svc-during-hang'", before + 1000
    )
    assert stored == before + 1000

    path = "/hook/while-hanging"
    add_rule(collector, rule("meanwhile", "svc-meanwhile", [receiver.url + path]))
    send_spans(collector.url, "svc-meanwhile", 3, error=True)
    wait_until(lambda: [e for e in events(collector, "meanwhile") if e["event"] == "firing"], "other rule evaluated")
