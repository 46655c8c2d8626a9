"""The alerts CLI (`spanscope alerts …`) and the dashboard's Alerts page, both against a real collector
process that loaded an alerts file, through the HTTP API only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import spanscope.dashboard
from spanscope.collector.cli import main
from streamlit.testing.v1 import AppTest

from tests.alerts_support import WebhookReceiver, rule, send_spans, wait_until
from tests.collector_process import CollectorProcess
from tests.test_alerts_delivery import ENV

APP = Path(spanscope.dashboard.__file__).parent / "app.py"
ALERTS_FILE = """
- id: daily-budget
  name: Daily cost budget
  metric: cost
  window: 1d
  threshold: 50
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[CollectorProcess]:
    tmp = tmp_path_factory.mktemp("alerts-clients")
    (tmp / "alerts.yaml").write_text(ALERTS_FILE)
    proc = CollectorProcess(tmp / "data", env={**ENV, "SPANSCOPE_ALERTS_FILE": str(tmp / "alerts.yaml")}).start()
    try:
        send_spans(proc.url, "svc-cli", 6, error=True)
        r = httpx.post(
            f"{proc.url}/api/alerts/rules", json=rule("errors-cli", "svc-cli", [receiver.url + "/cli"]), timeout=10
        )
        assert r.status_code == 201, r.text
        wait_until(lambda: receiver.at("/cli"), "the seeded rule fired")
    except BaseException:
        proc.stop()
        raise
    yield proc
    proc.stop()


def cli(collector: CollectorProcess, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["alerts", "--api", collector.url, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- CLI


def test_list_shows_file_rules_and_what_is_firing(
    collector: CollectorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(collector, capsys, "list")
    assert code == 0
    lines = {ln.split()[0]: ln for ln in out.splitlines()[1:]}
    assert "cost > 50" in lines["daily-budget"] and " file " in lines["daily-budget"]
    assert "FIRING (all)" in lines["errors-cli"]


def test_add_test_and_delete_a_rule_from_options(
    collector: CollectorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        collector, capsys, "add", "--id", "cli-rule", "--name", "CLI errors", "--metric", "errors",
        "--filter", "service=svc-cli", "--op", ">=", "--threshold", "3", "--window", "10m",
    )  # fmt: skip
    assert code == 0 and "saved cli-rule: CLI errors (errors >= 3 over 10m)" in out
    code, out, _ = cli(collector, capsys, "test", "cli-rule")
    assert code == 0 and "[BREACHED] CLI errors: Errors for service=svc-cli is 6 (>= 3)" in out
    code, out, _ = cli(collector, capsys, "delete", "cli-rule")
    assert code == 0
    code, out, _ = cli(collector, capsys, "list")
    assert "cli-rule" not in out


def test_add_reads_rules_from_a_yaml_file(
    collector: CollectorProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text(
        "rules:\n  - name: Fallbacks per model\n    metric: fallback_rate\n    group_by: model\n    threshold: 0.2\n"
    )
    code, out, _ = cli(collector, capsys, "add", "--file", str(f))
    assert code == 0 and "saved fallbacks-per-model" in out
    listed = httpx.get(f"{collector.url}/api/alerts/rules/fallbacks-per-model", timeout=10).json()
    assert (listed["metric"], listed["group_by"], listed["source"]) == ("fallback_rate", "model", "api")


def test_a_refused_rule_is_one_line_and_exit_code_2(
    collector: CollectorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        collector, capsys, "add", "--name", "bad", "--metric", "cost", "--threshold", "1", "--window", "5x"
    )
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "(422)" in err and "window: Value error, durations look like" in err


def test_history_lists_the_firing_and_its_delivery(
    collector: CollectorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    wait_until(
        lambda: any(
            e["event"] == "delivered" for e in httpx.get(f"{collector.url}/api/alerts/events").json()["events"]
        ),
        "delivery recorded",
    )
    code, out, _ = cli(collector, capsys, "history", "--rule", "errors-cli")
    assert code == 0
    events = [ln.split()[4] for ln in out.splitlines()[1:]]  # date, time, rule, group, event
    assert events.count("firing") == 1 and events.count("delivered") == 1


def test_test_notify_posts_a_test_notification(
    collector: CollectorProcess, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(collector, capsys, "test", "errors-cli", "--notify")
    assert code == 0 and f"webhook {receiver.url}/cli: HTTP 204" in out
    assert [r.body["status"] for r in receiver.at("/cli")] == ["firing", "test"]


# --------------------------------------------------------------------------- dashboard


def test_alerts_page_shows_rules_firing_state_and_history(
    collector: CollectorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPANSCOPE_API_URL", collector.url)
    monkeypatch.delenv("SPANSCOPE_API_KEY", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["range"] = "1h"
    at.switch_page("views/alerts.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Alerts"
    shown = {m.label: m.value for m in at.metric}
    assert shown["Firing now"] == "1"
    assert int(shown["Notifications delivered"]) >= 1
    rules = at.dataframe[0].value
    by_id = dict(zip(rules["Rule"], rules["State"], strict=True))
    assert by_id["errors-cli"] == "🔴 firing (all)" and by_id["daily-budget"] == "🟢 ok"
    history = at.dataframe[1].value
    assert "🔴 firing" in set(history["Event"]) and "✉️ delivered" in set(history["Event"])

    at.selectbox(key="al_rule").select("daily-budget").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Rule"]) == ["daily-budget"]
    assert at.query_params.get("rule") in ("daily-budget", ["daily-budget"])
