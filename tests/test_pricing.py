"""The price table: dated prices by model pattern, cost of a call, user overrides."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from spanscope.collector.pricing import PriceTable, bare_model

TODAY = date(2025, 11, 25)
M = 1_000_000


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def entry(model: str, inp: float, out: float, **kw: Any) -> dict[str, Any]:
    return {"model": model, "input": inp, "output": out, **kw}


# --- cost arithmetic ---------------------------------------------------------------------------------


def test_input_and_output_tokens_are_priced_per_million(table: PriceTable) -> None:
    cost = table.cost("gpt-4o-mini", "openai", M, M, at=TODAY)
    assert cost == pytest.approx(0.15 + 0.60)


def test_cached_input_tokens_are_priced_at_the_cache_read_price(table: PriceTable) -> None:
    cost = table.cost("gpt-4o-mini", "openai", M, 0, cache_read=M // 2, at=TODAY)
    assert cost == pytest.approx(0.5 * 0.15 + 0.5 * 0.075)


def test_cache_writes_are_priced_at_the_cache_write_price(table: PriceTable) -> None:
    cost = table.cost("claude-3-5-sonnet-20241022", "anthropic", M, 0, cache_read=M // 4, cache_write=M // 4, at=TODAY)
    assert cost == pytest.approx(0.5 * 3.00 + 0.25 * 0.30 + 0.25 * 3.75)


def test_cache_prices_default_to_the_input_price() -> None:
    t = PriceTable.from_dicts([entry("m", 2.0, 4.0)])
    assert t.cost("m", "", M, 0, cache_read=M // 2, cache_write=M // 4, at=TODAY) == pytest.approx(2.0)


def test_uncached_input_is_never_negative() -> None:
    t = PriceTable.from_dicts([entry("m", 1.0, 1.0, cache_read=0.5)])
    assert t.cost("m", "", 100, 0, cache_read=M, at=TODAY) == pytest.approx(0.5)


def test_reasoning_tokens_use_the_reasoning_price_when_given(table: PriceTable) -> None:
    cost = table.cost("gemini-2.5-flash-preview-04-17", "google", 0, M, reasoning=M // 2, at=TODAY)
    assert cost == pytest.approx(0.5 * 0.60 + 0.5 * 3.50)


def test_reasoning_tokens_default_to_the_output_price(table: PriceTable) -> None:
    cost = table.cost("o4-mini", "openai", 0, M, reasoning=M // 2, at=TODAY)
    assert cost == pytest.approx(4.40)


def test_reasoning_count_above_output_is_clamped() -> None:
    t = PriceTable.from_dicts([entry("m", 0.0, 1.0, reasoning=10.0)])
    assert t.cost("m", "", 0, M, reasoning=2 * M, at=TODAY) == pytest.approx(10.0)


def test_unknown_model_has_no_cost(table: PriceTable) -> None:
    assert table.cost("my-own-model", "", M, M, at=TODAY) is None


# --- effective dates ---------------------------------------------------------------------------------


def test_newest_entry_in_effect_on_the_day_is_used(table: PriceTable) -> None:
    before = table.cost("o3", "openai", M, 0, at=date(2025, 6, 9))
    after = table.cost("o3", "openai", M, 0, at=date(2025, 6, 10))
    assert (before, after) == (pytest.approx(10.0), pytest.approx(2.0))


def test_alias_price_follows_the_alias_switch(table: PriceTable) -> None:
    assert table.cost("gpt-4o", "openai", M, 0, at=date(2024, 9, 1)) == pytest.approx(5.0)
    assert table.cost("gpt-4o", "openai", M, 0, at=date(2024, 11, 1)) == pytest.approx(2.5)


def test_no_price_before_the_first_effective_date() -> None:
    t = PriceTable.from_dicts([entry("m", 1.0, 1.0, effective_from="2025-01-01")])
    assert t.cost("m", "", M, 0, at=date(2024, 12, 31)) is None


def test_a_datetime_is_taken_on_its_utc_day() -> None:
    t = PriceTable.from_dicts(
        [entry("m", 1.0, 1.0, effective_from="2025-01-01"), entry("m", 2.0, 1.0, effective_from="2025-01-02")]
    )
    evening_in_new_york = datetime(2025, 1, 1, 22, 0, tzinfo=timezone(timedelta(hours=-5)))  # Jan 2, UTC
    assert t.cost("m", "", M, 0, at=evening_in_new_york) == pytest.approx(2.0)


def test_cost_at_ns_uses_the_day_of_the_timestamp() -> None:
    t = PriceTable.from_dicts(
        [entry("m", 1.0, 1.0, effective_from="2025-01-01"), entry("m", 2.0, 1.0, effective_from="2025-01-02")]
    )
    jan_1_2359 = int(datetime(2025, 1, 1, 23, 59, tzinfo=UTC).timestamp()) * 10**9
    assert t.cost_at_ns("m", "", M, 0, 0, 0, 0, jan_1_2359) == pytest.approx(1.0)


# --- model matching ----------------------------------------------------------------------------------


def test_dated_snapshot_names_match_their_family(table: PriceTable) -> None:
    price = table.lookup("gpt-4o-mini-2024-07-18", "openai", TODAY)
    assert price is not None and price.input * M == pytest.approx(0.15)


def test_the_most_specific_pattern_wins(table: PriceTable) -> None:
    lite = table.lookup("gemini-2.5-flash-lite", "google", TODAY)
    flash = table.lookup("gemini-2.5-flash", "google", TODAY)
    assert lite is not None and flash is not None
    assert (lite.input * M, flash.input * M) == (pytest.approx(0.10), pytest.approx(0.30))


def test_a_family_pattern_does_not_swallow_a_sibling_model(table: PriceTable) -> None:
    price = table.lookup("gpt-4o-mini", "openai", TODAY)
    assert price is not None and price.output * M == pytest.approx(0.60)


def test_regex_patterns_are_anchored(table: PriceTable) -> None:
    assert table.lookup("my-gpt-4o", "openai", TODAY) is None


def test_matching_ignores_case(table: PriceTable) -> None:
    assert table.lookup("GPT-4o-Mini", "openai", TODAY) == table.lookup("gpt-4o-mini", "openai", TODAY)


@pytest.mark.parametrize(
    ("name", "bare"),
    [
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("models/gemini-1.5-pro", "gemini-1.5-pro"),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307"),
        ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet-20240620"),
        ("gpt-4.1", "gpt-4.1"),
    ],
)
def test_routing_prefixes_and_version_suffixes_are_removed(name: str, bare: str) -> None:
    assert bare_model(name) == bare


def test_bedrock_model_ids_get_the_anthropic_price(table: PriceTable) -> None:
    price = table.lookup("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock", TODAY)
    assert price is not None and price.input * M == pytest.approx(3.0)


def test_a_provider_specific_entry_wins_for_that_provider() -> None:
    t = PriceTable.from_dicts(
        [entry("m*", 1.0, 1.0, provider="openai"), entry("m*", 3.0, 3.0, provider="azure")],
    )
    assert t.cost("m-1", "azure", M, 0, at=TODAY) == pytest.approx(3.0)
    assert t.cost("m-1", "openai", M, 0, at=TODAY) == pytest.approx(1.0)


def test_another_providers_price_is_used_when_the_provider_has_none(table: PriceTable) -> None:
    assert table.cost("gpt-4o", "azure", M, 0, at=TODAY) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "text-embedding-3-small",
        "text-embedding-3-large",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-haiku-20241022",
        "claude-3-7-sonnet-20250219",
        "claude-sonnet-4-20250514",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-1-20250805",
        "claude-haiku-4-5-20251001",
        "claude-3-opus-20240229",
        "gemini-1.5-flash",
        "gemini-1.5-pro",
        "gemini-2.0-flash",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "mistral-large-latest",
        "mistral-small-latest",
        "deepseek-chat",
    ],
)
def test_shipped_table_prices_current_models(table: PriceTable, model: str) -> None:
    assert table.lookup(model, "", TODAY) is not None


def test_shipped_table_says_when_it_was_compiled(table: PriceTable) -> None:
    assert date.fromisoformat(table.compiled_at) <= date.today()


def test_lookups_are_cached() -> None:
    t = PriceTable.from_dicts([entry("m", 1.0, 1.0)])
    first = t.lookup("m", "", TODAY)
    for _ in range(3):
        t.cost("m", "", 1, 1, at=TODAY)
    assert len(t._cache) == 1
    assert t.lookup("m", "", TODAY) is first


# --- user price files --------------------------------------------------------------------------------


def test_user_file_entries_take_precedence(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices": [entry("gpt-4o-mini*", 1.0, 2.0)]}))
    t = PriceTable.load(path)
    assert t.cost("gpt-4o-mini-2024-07-18", "openai", M, M, at=TODAY) == pytest.approx(3.0)


def test_user_file_adds_models_and_keeps_the_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps([entry("acme-llm", 1.0, 2.0)]))
    t = PriceTable.load(path)
    assert t.cost("acme-llm", "", M, 0, at=TODAY) == pytest.approx(1.0)
    assert t.cost("gpt-4o-mini", "openai", M, 0, at=TODAY) == pytest.approx(0.15)


def test_user_file_may_be_yaml(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "prices:\n"
        "  - model: '^acme-(small|large)$'\n"
        "    provider: acme\n"
        "    effective_from: 2025-01-01\n"
        "    input: 1.5\n"
        "    output: 3\n"
    )
    assert PriceTable.load(path).cost("acme-large", "acme", M, 0, at=TODAY) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"models": []}), "'prices' list"),
        (json.dumps([{"input": 1, "output": 1}]), "'model'"),
        (json.dumps([entry("m", -1, 1)]), "'input' must be a non-negative number"),
        (json.dumps([{"model": "m", "input": 1}]), "'output'"),
        (json.dumps([entry("m", 1, 1, effective_from="yesterday")]), "effective_from"),
        (json.dumps([entry("^m(", 1, 1)]), "invalid regular expression"),
        (json.dumps([entry("m", 1, 1, inputs=3)]), "unknown field(s) inputs"),
    ],
)
def test_bad_user_file_raises_a_value_error_naming_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "mine.json"
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        PriceTable.load(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)


def test_missing_user_file_raises_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ValueError, match=r"absent\.json"):
        PriceTable.load(path)


def test_bad_yaml_raises_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.yml"
    path.write_text("prices: [unclosed\n")
    with pytest.raises(ValueError, match="invalid YAML"):
        PriceTable.load(path)
