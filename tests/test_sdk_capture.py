"""Safe serialisation of captured values, masking and the built-in redactors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Iterator

import pytest
import spanscope.sdk as spanscope
from pydantic import BaseModel
from spanscope.schemas import attributes as A
from spanscope.schemas.attributes import SS_TRUNCATED_SUFFIX
from spanscope.sdk import redact
from spanscope.sdk.capture import MAX_DEPTH, MAX_ITEMS, serialize, to_json
from spanscope.sdk.testing import SpanRecorder, record_spans

# --- serialisation -----------------------------------------------------------------------------------


def test_a_cycle_becomes_a_marker_instead_of_an_error() -> None:
    data: dict[str, object] = {"name": "loop"}
    data["self"] = data
    assert json.loads(to_json(data)) == {"name": "loop", "self": "<cycle>"}


def test_common_non_json_types_are_converted() -> None:
    class Colour(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    class Item(BaseModel):
        sku: str

    value = {
        "when": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        "colour": Colour.RED,
        "point": Point(1, 2),
        "item": Item(sku="A1"),
        "blob": b"\x00\x01",
        "tags": {"x"},
        "pair": (1, 2),
    }
    assert json.loads(to_json(value)) == {
        "when": "2024-05-01T12:00:00+00:00",
        "colour": "red",
        "point": {"x": 1, "y": 2},
        "item": {"sku": "A1"},
        "blob": "<2 bytes>",
        "tags": ["x"],
        "pair": [1, 2],
    }


def test_non_finite_floats_keep_the_output_valid_json() -> None:
    assert json.loads(to_json([float("nan"), float("inf"), 1.5])) == ["nan", "inf", 1.5]


def test_an_object_whose_repr_fails_is_named_by_its_type() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("nope")

    assert "Hostile" in json.loads(to_json({"h": Hostile()}))["h"]


def test_a_huge_string_is_cut_at_the_limit_with_the_marker() -> None:
    text, mime = serialize("x" * 100_000, max_chars=1_000)
    assert mime == "text/plain"
    assert text == "x" * 1_000 + SS_TRUNCATED_SUFFIX


def test_a_huge_list_is_bounded_in_items_and_characters() -> None:
    text = to_json(list(range(1_000_000)), max_chars=1_000)
    assert len(text) == 1_000 + len(SS_TRUNCATED_SUFFIX)
    assert text.endswith(SS_TRUNCATED_SUFFIX)
    short = json.loads(to_json(list(range(MAX_ITEMS * 2)), max_chars=10**7))
    assert len(short) == MAX_ITEMS + 1 and SS_TRUNCATED_SUFFIX in short[-1]


def test_very_deep_nesting_is_cut_at_the_depth_limit() -> None:
    deep: list[object] = []
    cursor = deep
    for _ in range(5_000):
        nxt: list[object] = []
        cursor.append(nxt)
        cursor = nxt
    text = to_json(deep, max_chars=10**6)
    assert "<max depth>" in text
    assert text.count("[") <= MAX_DEPTH + 1


def test_a_huge_argument_is_truncated_on_the_span() -> None:
    with record_spans(max_value_chars=2_000) as rec:

        @spanscope.observe(name="summarise")
        def summarise(document: str) -> int:
            return len(document)

        assert summarise("word " * 100_000) == 500_000
        value = rec.span("summarise").attributes[A.OI_INPUT_VALUE]
    assert len(value) <= 2_000 + len(SS_TRUNCATED_SUFFIX)
    assert SS_TRUNCATED_SUFFIX in value


# --- redactors -------------------------------------------------------------------------------------


def test_email_addresses_are_redacted() -> None:
    assert redact.redact_emails("mail jane.doe+x@example.co.uk now") == "mail [REDACTED:email] now"


@pytest.mark.parametrize("phone", ["+1 415-555-0132", "(415) 555-0132", "+44 20 7946 0958", "+33612345678"])
def test_phone_numbers_are_redacted(phone: str) -> None:
    assert redact.redact_phone_numbers(f"call {phone} today") == "call [REDACTED:phone] today"


@pytest.mark.parametrize(
    "text", ["on 2024-05-01", "host 192.168.10.1", "order 12345", "pi is 3.14159", "v1.2.3"]
)
def test_dates_addresses_and_short_numbers_are_not_mistaken_for_phones(text: str) -> None:
    assert redact.redact_phone_numbers(text) == text


def test_only_luhn_valid_card_numbers_are_redacted() -> None:
    assert redact.redact_card_numbers("card 4111 1111 1111 1111 ok") == "card [REDACTED:card_number] ok"
    assert redact.redact_card_numbers("card 4111-1111-1111-1111") == "card [REDACTED:card_number]"
    assert redact.redact_card_numbers("ref 4111 1111 1111 1112") == "ref 4111 1111 1111 1112"


@pytest.mark.parametrize(
    ("rule", "secret"),
    [
        ("openai_key", "sk-proj-abcdefghijklmnopqrstuvwxyz012345"),
        ("anthropic_key", "sk-ant-api03-abcdefghijklmnopqrstuvwx"),
        ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
        ("github_token", "ghp_" + "a1B2" * 9),
        ("github_token", "github_pat_" + "A" * 30),
        ("slack_token", "xoxb-123456789012-abcdefghijkl"),
        ("stripe_key", "sk_live_" + "a1B2" * 6),
        ("google_api_key", "AIza" + "Sy_a1-B2c3" * 3 + "D4e5f"),
    ],
)
def test_api_keys_are_redacted_with_their_rule_marker(rule: str, secret: str) -> None:
    assert redact.redact_secrets(f"key {secret} end") == f"key [REDACTED:{rule}] end"


def test_bearer_tokens_keep_the_scheme_but_lose_the_token() -> None:
    assert redact.redact_secrets("Authorization: Bearer eyJhbGciOi.payload.sig") == (
        "Authorization: Bearer [REDACTED:bearer_token]"
    )


def test_assigned_secrets_keep_their_key_but_lose_their_value() -> None:
    assert redact.redact_secrets("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == (
        "aws_secret_access_key=[REDACTED:secret_assignment]"
    )


def test_secret_redaction_leaves_personal_data_alone() -> None:
    text = "jane@example.com, 4111 1111 1111 1111, +1 415 555 0132"
    assert redact.redact_secrets(text) == text


def test_the_default_redactor_applies_every_builtin() -> None:
    text = "jane@example.com paid with 4111111111111111 using sk-abcdefghijklmnopqrstu, call +1 415 555 0132"
    assert redact.default_redactor(text) == (
        "[REDACTED:email] paid with [REDACTED:card_number] using [REDACTED:openai_key], call [REDACTED:phone]"
    )


def test_a_builtin_redactor_applies_only_the_rules_it_names() -> None:
    only_email = redact.builtin_redactor("email")
    assert only_email("jane@example.com sk-abcdefghijklmnopqrstu") == "[REDACTED:email] sk-abcdefghijklmnopqrstu"


def test_an_unknown_rule_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown redaction rule.*emails.*known:.*email"):
        redact.builtin_redactor("emails")


# --- the mask hook on spans ------------------------------------------------------------------------


@pytest.fixture
def masked() -> Iterator[SpanRecorder]:
    spanscope.reset_stats()
    with record_spans(mask=redact.default_redactor) as rec:
        yield rec


def test_the_mask_applies_to_inputs_outputs_and_messages(masked: SpanRecorder) -> None:
    @spanscope.observe(name="chat", kind="generation")
    def chat(messages: list[dict[str, str]]) -> str:
        return "I emailed bob@example.com"

    chat([{"role": "user", "content": "my card is 4111 1111 1111 1111"}])
    attrs = masked.span("chat").attributes
    assert (
        "4111" not in attrs[A.GEN_AI_INPUT_MESSAGES] and "[REDACTED:card_number]" in attrs[A.GEN_AI_INPUT_MESSAGES]
    )
    assert "bob@" not in attrs[A.GEN_AI_OUTPUT_MESSAGES]


def test_the_mask_applies_to_exception_messages(masked: SpanRecorder) -> None:
    @spanscope.observe(name="login")
    def login() -> None:
        raise PermissionError("bad key sk-abcdefghijklmnopqrstuvwx")

    with pytest.raises(PermissionError):
        login()
    span = masked.span("login")
    event = next(event for event in span.events if event.name == A.EXCEPTION_EVENT)
    assert "sk-abc" not in event.attributes[A.EXCEPTION_MESSAGE]
    assert "sk-abc" not in event.attributes[A.EXCEPTION_STACKTRACE]
    assert "sk-abc" not in (span.status.description or "")


def test_a_secret_across_the_truncation_point_is_not_half_leaked() -> None:
    secret = "sk-" + "Z" * 40
    with record_spans(mask=redact.redact_secrets, max_value_chars=100) as rec:

        @spanscope.observe(name="echo")
        def echo(text: str) -> None:
            return None

        echo("a" * 90 + secret)
        value = rec.span("echo").attributes[A.OI_INPUT_VALUE]
    assert "ZZZZ" not in value


def test_a_failing_mask_drops_the_content_rather_than_leaking_it() -> None:
    def broken_mask(text: str) -> str:
        raise ValueError("mask bug")

    with record_spans(mask=broken_mask) as rec:

        @spanscope.observe(name="f")
        def f(card: str) -> str:
            return "ok"

        assert f("4111 1111 1111 1111") == "ok"
        value = rec.span("f").attributes[A.OI_INPUT_VALUE]
    assert "4111" not in value
    assert spanscope.stats()["internal_errors"] >= 1
