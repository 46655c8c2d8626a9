"""Alert state survives a restart: a collector that comes back neither notifies an alert that is still
firing again nor forgets it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.alerts_support import WebhookReceiver, rule, send_spans, wait_until
from tests.collector_process import CollectorProcess
from tests.test_alerts_delivery import ENV, add_rule, settle


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture()
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path_factory.mktemp("alerts-restart") / "data", env=ENV).start()
    yield proc
    proc.stop()


def test_a_restarted_collector_does_not_notify_a_firing_alert_again(
    collector: CollectorProcess, receiver: WebhookReceiver
) -> None:
    path = "/hook/restart"
    add_rule(collector, rule("survives-restart", "svc-restart", [receiver.url + path]))
    send_spans(collector.url, "svc-restart", 5, error=True)
    wait_until(lambda: receiver.at(path), "firing notification")
    collector.stop()
    collector.start()
    wait_until(
        lambda: httpx.get(f"{collector.url}/api/alerts/rules", timeout=10).status_code == 200, "alerts ready again"
    )
    settle(3.0)
    assert len(receiver.at(path)) == 1
    rules = httpx.get(f"{collector.url}/api/alerts/rules", timeout=10).json()["rules"]
    (restarted,) = [r for r in rules if r["rule_id"] == "survives-restart"]
    assert [s["state"] for s in restarted["states"]] == ["firing"]
