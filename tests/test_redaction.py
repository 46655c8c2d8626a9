"""Redaction rules on text: what is replaced, what is left alone, and that JSON content stays JSON."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from spanscope.collector.security.redaction import (
    PolicySet,
    RedactionState,
    load_file,
    redact_rows,
    redactor_for,
)
from spanscope.schemas.redaction import CustomRedactionRule, RedactionConfig
from spanscope.schemas.redaction_rules import luhn_ok
from spanscope.sdk import redact as sdk_redact

DEFAULT = redactor_for(RedactionConfig())
assert DEFAULT is not None


def redact(text: str) -> tuple[str, dict[str, int]]:
    counts: Counter[str] = Counter()
    out = DEFAULT.text(text, counts)  # type: ignore[union-attr]
    return out, dict(counts)


SECRETS = [
    ("email", "write to jane.roe+billing@example.co.uk today"),
    ("phone", "call +44 20 7946 0958 now"),
    ("phone", "call (415) 555-0100 now"),
    ("phone", "call 415-555-0100 now"),
    ("phone", "ring 06 12 34 56 78 tonight"),
    ("card_number", "card 4111 1111 1111 1111 exp 12/29"),
    ("card_number", "amex 378282246310005."),
    ("openai_key", "OPENAI_API_KEY is sk-proj-Abcdefghijklmnopqrstuvwxyz012345 ok"),
    ("anthropic_key", "use sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123 please"),
    ("aws_access_key", "aws AKIAIOSFODNN7EXAMPLE creds"),
    ("secret_assignment", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ok"),
    ("stripe_key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc now"),
    ("google_api_key", "maps key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q here"),
    ("github_token", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here"),
    ("slack_token", "slack xoxb-123456789012-abcdefABCDEF here"),
    ("jwt", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9Pl here"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"),
]


@pytest.mark.parametrize(("rule", "text"), SECRETS, ids=[f"{r}-{i}" for i, (r, _) in enumerate(SECRETS)])
def test_builtin_rule_replaces_the_secret_with_its_marker(rule: str, text: str) -> None:
    out, counts = redact(text)
    assert counts == {rule: 1}, out
    assert f"[REDACTED:{rule}]" in out


def test_bearer_and_assignments_keep_their_key_and_lose_their_value() -> None:
    out, counts = redact('Authorization: Bearer abcdefghijklmnop.qrstuvwxyz123 and db_password="hunter22x"')
    assert out == 'Authorization: Bearer [REDACTED:bearer_token] and db_password="[REDACTED:secret_assignment]"'
    assert counts == {"bearer_token": 1, "secret_assignment": 1}


@pytest.mark.parametrize(
    "text",
    [
        "trace 1763700000000000000 at 2025-01-31 12:30:00, version 1.2.3, order 12345678",
        "total 1,234.56 EUR for 3 items on 01-02-2025; ip 10.0.0.1; port 8080",
        "card-like but invalid 4111 1111 1111 1112 and span 00f067aa0ba902b7",
        "the secretary: Jane and the keyboard layout; tokens: 128; max_tokens=256",
        "Bearer authentication is described in RFC 6750",
        "risk-averse desk-based ask-me-anything",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == (text, {})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.sampled_from([t for _, t in SECRETS])), max_size=6))
def test_the_sdk_default_redactor_masks_exactly_what_the_collector_redacts(parts: list[str]) -> None:
    text = " ".join(parts)
    assert sdk_redact.default_redactor(text) == redact(text)[0]


def test_luhn_accepts_valid_card_numbers_and_rejects_others() -> None:
    assert luhn_ok("4539 1488 0343 6467") and luhn_ok("5555555555554444")
    assert not luhn_ok("4539 1488 0343 6468") and not luhn_ok("1234567812345670") and not luhn_ok("0000000000000")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.sampled_from([t for _, t in SECRETS])), max_size=6))
def test_redacting_json_text_keeps_it_valid_json(parts: list[str]) -> None:
    doc = [{"role": "user", "content": "\n".join(parts)}, {"k": parts}]
    encoded = orjson.dumps(doc).decode()
    out, _ = redact(encoded)
    orjson.loads(out)


def test_secret_at_the_start_of_a_json_escaped_line_is_found() -> None:
    encoded = orjson.dumps({"content": "key:\nsk-proj-Abcdefghijklmnopqrstuvwxyz012345\nbob@example.com"}).decode()
    out, counts = redact(encoded)
    assert counts == {"openai_key": 1, "email": 1}
    assert orjson.loads(out)["content"] == "key:\n[REDACTED:openai_key]\n[REDACTED:email]"


def test_custom_rule_replaces_only_its_value_group() -> None:
    config = RedactionConfig(
        builtins=False, custom_rules=[CustomRedactionRule(name="employee", pattern=r"EMP-(?P<v>\d{6})")]
    )
    redactor = redactor_for(config)
    assert redactor is not None
    counts: Counter[str] = Counter()
    assert redactor.text("badge EMP-123456, mail a@b.example.com", counts) == (
        "badge EMP-[REDACTED:employee], mail a@b.example.com"
    )
    assert counts == {"employee": 1}


def test_disabled_builtins_are_not_applied() -> None:
    redactor = redactor_for(RedactionConfig(disabled_builtins=["email"]))
    assert redactor is not None
    counts: Counter[str] = Counter()
    assert redactor.text("mail a@b.example.com, call +44 20 7946 0958", counts) == (
        "mail a@b.example.com, call [REDACTED:phone]"
    )


def test_rows_are_redacted_per_project_in_text_columns_and_attribute_maps() -> None:
    policies = PolicySet(
        RedactionConfig().model_dump_json(), {"raw": RedactionConfig(builtins=False).model_dump_json()}
    )
    rows = [
        {
            "project_id": p,
            "input": "mail a@b.example.com",
            "output": "ok",
            "attributes": {"http.header": "Bearer abcdefghijklmnopqrstuvwxyz"},
            "resource_attributes": {"process.command_line": "run --password=hunter22x"},
        }
        for p in ("default", "raw")
    ]
    counts = redact_rows(rows, policies)
    assert counts == {"email": 1, "bearer_token": 1, "secret_assignment": 1}
    assert rows[0]["input"] == "mail [REDACTED:email]"
    assert rows[0]["attributes"]["http.header"] == "Bearer [REDACTED:bearer_token]"
    assert rows[0]["resource_attributes"]["process.command_line"] == "run --password=[REDACTED:secret_assignment]"
    assert rows[1]["input"] == "mail a@b.example.com"


def test_invalid_custom_patterns_are_refused() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        CustomRedactionRule(name="bad", pattern="(unclosed")
    with pytest.raises(ValidationError, match="empty string"):
        CustomRedactionRule(name="empty", pattern="x*")


def test_redaction_file_sets_defaults_and_projects(tmp_path: Path) -> None:
    path = tmp_path / "redaction.yaml"
    path.write_text(
        "defaults:\n  disabled_builtins: [phone]\n"
        "projects:\n  acme:\n    custom_rules:\n      - {name: ticket, pattern: 'TCK-\\d+'}\n"
    )
    state = RedactionState(load_file(path))
    assert state.config("other") == (RedactionConfig(disabled_builtins=["phone"]), "default")
    config, source = state.config("acme")
    assert source == "file" and config.custom_rules[0].name == "ticket"


def test_redaction_file_with_an_unknown_builtin_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "redaction.yaml"
    path.write_text("defaults:\n  disabled_builtins: [ssn]\n")
    with pytest.raises(ValueError, match="unknown built-in rule"):
        load_file(path)


def test_api_rules_survive_a_restart_through_the_cache(tmp_path: Path) -> None:
    config = RedactionConfig(builtins=False)
    RedactionState(load_file(None), tmp_path).set_api("acme", config)
    assert RedactionState(load_file(None), tmp_path).config("acme") == (config, "api")
