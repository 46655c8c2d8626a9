"""Redaction at the collector: secrets are replaced before the write-ahead log and ClickHouse."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.collector_process import CollectorProcess

EMAIL = "jane.roe@example.com"
CARD = "4111 1111 1111 1111"
KEY = "sk-proj-Zyxwvutsrqponmlkjihgfedcba987654"
TICKET = "TCK-884422"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    root = tmp_path_factory.mktemp("redaction")
    rules = root / "redaction.yaml"
    rules.write_text(
        "projects:\n"
        "  acme:\n    custom_rules:\n      - {name: ticket, pattern: 'TCK-\\d{6}'}\n"
        "  raw:\n    builtins: false\n"
    )
    proc = CollectorProcess(root / "data", env={"SPANSCOPE_REDACTION_FILE": str(rules)}).start()
    yield proc
    proc.stop()


def _kv(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _send(collector: CollectorProcess, project: str, text: str) -> str:
    """One OTel GenAI generation with `text` in its input, output and an attribute; its trace id."""
    trace_id, now = os.urandom(16).hex(), time.time_ns()
    messages = orjson.dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}]).decode()
    output = orjson.dumps([{"role": "assistant", "parts": [{"type": "text", "content": f"Noted: {text}"}]}]).decode()
    span = {
        "traceId": trace_id,
        "spanId": os.urandom(8).hex(),
        "name": "chat gpt-4o-mini",
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 1_000_000),
        "attributes": [
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.request.model", "gpt-4o-mini"),
            _kv("gen_ai.input.messages", messages),
            _kv("gen_ai.output.messages", output),
            _kv("app.note", text),
        ],
    }
    body = {
        "resourceSpans": [
            {"resource": {"attributes": [_kv("spanscope.project", project)]}, "scopeSpans": [{"spans": [span]}]}
        ]
    }
    r = httpx.post(f"{collector.url}/v1/traces", content=orjson.dumps(body), headers=JSON)
    assert r.status_code == 200, r.text
    return trace_id


def _stored(collector: CollectorProcess, trace_id: str) -> dict[str, Any]:
    q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
    assert collector.wait_for_count(q, 1, t=trace_id) == 1
    rows = collector.sql(
        "SELECT input, output, attributes['app.note'] AS note FROM spanscope.spans WHERE trace_id = {t:String}",
        t=trace_id,
    )
    return rows[0]


def test_secrets_in_input_output_and_attributes_are_redacted_in_clickhouse(collector: CollectorProcess) -> None:
    row = _stored(collector, _send(collector, "default", f"I am {EMAIL}, card {CARD}, key {KEY}"))
    for column in ("input", "output", "note"):
        text = row[column]
        assert EMAIL not in text and CARD not in text and KEY not in text, (column, text)
        for rule in ("email", "card_number", "openai_key"):
            assert f"[REDACTED:{rule}]" in text, (column, text)
    assert orjson.loads(row["input"])[0]["content"].startswith("I am [REDACTED:email]")


def test_secrets_never_reach_the_write_ahead_log(collector: CollectorProcess) -> None:
    secret = f"k-{os.urandom(6).hex()}@example.org"
    _stored(collector, _send(collector, "default", f"mail {secret}"))
    wal = collector.data_dir / "wal"
    assert any(wal.iterdir())
    assert all(secret.encode() not in f.read_bytes() for f in wal.rglob("*") if f.is_file())


def test_redactions_are_counted_per_rule_in_metrics(collector: CollectorProcess) -> None:
    def count(rule: str) -> float:
        text = httpx.get(f"{collector.url}/metrics").text
        m = re.search(rf'^spanscope_redactions_total\{{rule="{rule}"\}} ([0-9.e+]+)$', text, re.M)
        return float(m.group(1)) if m else 0.0

    before = count("aws_access_key")
    _stored(collector, _send(collector, "default", "aws AKIAIOSFODNN7EXAMPLE"))
    assert count("aws_access_key") - before == 3  # input, output and the attribute


def test_file_rules_apply_to_their_project_only(collector: CollectorProcess) -> None:
    acme = _stored(collector, _send(collector, "acme", f"ticket {TICKET} from {EMAIL}"))
    assert acme["note"] == "ticket [REDACTED:ticket] from [REDACTED:email]"
    other = _stored(collector, _send(collector, "default", f"ticket {TICKET}"))
    assert other["note"] == f"ticket {TICKET}"
    raw = _stored(collector, _send(collector, "raw", f"mail {EMAIL}"))
    assert raw["note"] == f"mail {EMAIL}"


def test_rules_set_through_the_api_apply_to_new_spans_and_can_be_reset(collector: CollectorProcess) -> None:
    api = f"{collector.url}/api/redaction"
    rules = {"disabled_builtins": ["email"], "custom_rules": [{"name": "badge", "pattern": r"BDG(?P<v>\d{4})"}]}
    r = httpx.put(api, params={"project": "beta"}, json=rules)
    assert r.status_code == 200, r.text
    view = httpx.get(api, params={"project": "beta"}).json()
    assert view["source"] == "api"
    assert {b["name"]: b["enabled"] for b in view["builtin_rules"]}["email"] is False
    row = _stored(collector, _send(collector, "beta", f"BDG1234 {EMAIL}"))
    assert row["note"] == f"BDG[REDACTED:badge] {EMAIL}"
    stored = collector.sql("SELECT count() AS n FROM spanscope.redaction_rules WHERE project_id = 'beta'")
    assert stored[0]["n"] >= 1  # shared with every collector of the database
    assert httpx.delete(api, params={"project": "beta"}).json()["source"] == "default"
    row = _stored(collector, _send(collector, "beta", f"BDG1234 {EMAIL}"))
    assert row["note"] == "BDG1234 [REDACTED:email]"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"custom_rules": [{"name": "bad", "pattern": "(unclosed"}]}, "invalid regular expression"),
        ({"disabled_builtins": ["ssn"]}, "unknown built-in rule"),
        ({"custom_rules": [{"name": "email", "pattern": "x"}]}, "built-in rule name"),
    ],
    ids=["bad-pattern", "unknown-builtin", "name-clash"],
)
def test_invalid_rules_are_refused_with_a_4xx_and_a_message(
    collector: CollectorProcess, rules: dict[str, Any], message: str
) -> None:
    r = httpx.put(f"{collector.url}/api/redaction", params={"project": "gamma"}, json=rules)
    assert r.status_code in (400, 422) and message in r.text, r.text
    assert httpx.get(f"{collector.url}/api/redaction", params={"project": "gamma"}).json()["source"] == "default"


def test_preview_shows_what_a_text_would_become(collector: CollectorProcess) -> None:
    r = httpx.post(f"{collector.url}/api/redaction/preview", params={"project": "acme"}, json={"text": TICKET})
    assert r.json() == {"text": "[REDACTED:ticket]", "redactions": {"ticket": 1}}


def test_message_content_sent_as_log_events_is_redacted(collector: CollectorProcess) -> None:
    trace_id, span_id, now = os.urandom(16).hex(), os.urandom(8).hex(), time.time_ns()
    record = {
        "timeUnixNano": str(now),
        "traceId": trace_id,
        "spanId": span_id,
        "eventName": "gen_ai.user.message",
        "attributes": [_kv("event.name", "gen_ai.user.message"), _kv("gen_ai.system", "openai")],
        "body": {"kvlistValue": {"values": [_kv("content", f"reach me at {EMAIL}")]}},
    }
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}
    r = httpx.post(f"{collector.url}/v1/logs", content=orjson.dumps(logs), headers=JSON)
    assert r.status_code == 200, r.text
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "chat gpt-4o-mini",
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 1_000_000),
        "attributes": [_kv("gen_ai.operation.name", "chat"), _kv("gen_ai.request.model", "gpt-4o-mini")],
    }
    traces = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert httpx.post(f"{collector.url}/v1/traces", content=orjson.dumps(traces), headers=JSON).status_code == 200
    row = _stored(collector, trace_id)
    assert EMAIL not in row["input"] and "reach me at [REDACTED:email]" in row["input"], row
    content = collector.sql("SELECT input FROM spanscope.span_content WHERE trace_id = {t:String}", t=trace_id)
    assert content and all(EMAIL not in c["input"] for c in content)


def test_unreadable_redaction_file_stops_the_collector_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults:\n  disabled_builtins: [nope]\n")
    proc = CollectorProcess(tmp_path / "data", env={"SPANSCOPE_REDACTION_FILE": str(bad)})
    with pytest.raises(RuntimeError, match="unknown built-in rule"):
        proc.start()
