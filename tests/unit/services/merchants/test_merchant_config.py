"""Parsing and validation of the merchants file (spec/merchants.md)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.merchants.config import (
    ConfigError,
    InterpolationError,
    MerchantsFile,
    interpolate,
    load_config_file,
    parse_config,
)
from support import EXAMPLE_CONFIG

EXAMPLE = EXAMPLE_CONFIG
COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"


def merchant(slug: str = "demo-cafe", extra: str = "", rewards: str = "") -> str:
    """One merchant as a YAML list item; `extra` and `rewards` are indented blocks."""
    text = f"""\
    - slug: {slug}
      name: Demo Cafe
      currency: USD
      timezone: America/New_York
      program:
        points_per_currency_unit: 10
    """
    text = textwrap.dedent(text) + textwrap.indent(textwrap.dedent(extra), "  ")
    if rewards:
        text += "  rewards:\n" + textwrap.indent(textwrap.dedent(rewards), "    ")
    return text


def reward(uuid: str = COLD_BREW, **fields: str) -> str:
    lines = [f"- uuid: {uuid}", "  name: Free Cold Brew", "  reward_type: redemption", "  points_price: 500"]
    lines += [f"  {key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def document(*merchants: str) -> str:
    return "merchants:\n" + "".join(merchants)


def problems_of(text: str, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env or {})
    return caught.value.problems


def test_the_example_file_parses_with_an_empty_environment():
    config = load_config_file(EXAMPLE, env={})

    (cafe,) = config.merchants
    assert cafe.slug == "demo-cafe"
    assert [tier.name for tier in cafe.program.tiers] == ["Bronze", "Silver", "Gold"]
    assert cafe.api_keys[0].get_secret_value() == "demo-cafe-dev-key"
    assert cafe.shopify.admin_api.version == "2025-07"
    assert cafe.toast.restaurant_guids == ["0cd990c9-fd74-461d-8468-de2a0919ccbb"]
    types = [r.reward_type for r in cafe.rewards]
    assert types == ["redemption", "discount_percent_based", "discount_value_based", "access"]


def test_the_example_cold_brew_reward_keeps_every_field_of_the_spec():
    cold_brew = load_config_file(EXAMPLE, env={}).merchants[0].rewards[0]

    assert cold_brew.uuid == COLD_BREW
    assert cold_brew.maximum_discount_value == Decimal("6.50")
    assert cold_brew.can_be_combined_with_other_rewards is False
    assert cold_brew.applicable_menu_item_multi_location_ids == ["100000000437569098"]
    assert cold_brew.start_date == datetime(2026, 1, 1, 5, tzinfo=UTC)  # midnight in New York
    assert cold_brew.end_date is None and cold_brew.metadata == {} and cold_brew.active


def test_the_example_secrets_come_from_the_environment_when_set():
    env = {"DEMO_CAFE_SHOPIFY_TOKEN": "shpat_real", "DEMO_CAFE_API_KEY": "live-key"}
    cafe = load_config_file(EXAMPLE, env=env).merchants[0]

    assert cafe.shopify.admin_api.access_token.get_secret_value() == "shpat_real"
    assert cafe.api_keys[0].get_secret_value() == "live-key"


def test_a_variable_reference_is_replaced_by_its_environment_value():
    config = parse_config(document(merchant(extra='api_keys: ["${KEY}"]\n')), {"KEY": "k-123"})

    assert config.merchants[0].api_keys[0].get_secret_value() == "k-123"


@pytest.mark.parametrize("env", [{}, {"KEY": ""}], ids=["unset", "empty"])
def test_a_default_is_used_when_the_variable_is_unset_or_empty(env):
    text = document(merchant(extra="api_keys: ['${KEY:-fallback-key}']\n"))

    assert parse_config(text, env).merchants[0].api_keys[0].get_secret_value() == "fallback-key"


def test_references_are_substituted_inside_longer_strings_and_dollar_dollar_escapes():
    tree = {"a": ["x-${A}-${B:-b}-$${C}"], "n": 3}

    assert interpolate(tree, {"A": "1"}) == {"a": ["x-1-b-${C}"], "n": 3}
    assert interpolate("${A}", {"A": "plain"}) == "plain"


def test_an_unset_variable_without_default_is_reported_with_its_path():
    shopify = """\
    shopify:
      shop_domain: demo-cafe.myshopify.com
      webhook_secret: ${DEMO_X}
    """
    problems = problems_of(document(merchant(extra=shopify)))

    assert problems == ["merchants[0].shopify.webhook_secret: environment variable DEMO_X is not set"]


def test_interpolation_reports_every_unset_variable_with_its_path():
    with pytest.raises(InterpolationError) as caught:
        interpolate({"a": [{"b": "${ONE}"}], "c": "${TWO} ${THREE:-3}"}, {})

    assert caught.value.problems == [
        "a[0].b: environment variable ONE is not set",
        "c: environment variable TWO is not set",
    ]


def test_a_malformed_reference_is_reported_rather_than_kept():
    with pytest.raises(InterpolationError) as caught:
        interpolate({"secret": "${not closed"}, {})

    assert caught.value.problems[0].startswith("secret: malformed ${...} reference")


def test_an_environment_value_with_yaml_syntax_stays_a_plain_string():
    injected = "x\nmerchants: []\n  - slug: evil"
    text = document(merchant(extra="api_keys: ['${KEY}']\n"))

    config = parse_config(text, {"KEY": injected})

    assert len(config.merchants) == 1
    assert config.merchants[0].api_keys[0].get_secret_value() == injected


def test_an_unknown_key_is_refused_with_its_path():
    problems = problems_of(document(merchant(rewards=reward(limt="1"))))

    assert problems == ["merchants[0].rewards[0].limt: unknown key"]


def test_a_bad_shop_domain_and_a_bad_reward_type_give_the_lines_of_the_spec():
    shopify = "shopify: {shop_domain: demo-cafe.example.com, webhook_secret: s3cret}\n"
    rewards = (
        reward()
        + reward("11111111-1111-4111-8111-111111111111")
        + reward("22222222-2222-4222-8222-222222222222").replace("reward_type: redemption", "reward_type: free_coffee")
    )
    text = document(merchant(extra=shopify), merchant("other-cafe", rewards=rewards))

    assert problems_of(text) == [
        "merchants[0].shopify.shop_domain: must end with .myshopify.com",
        "merchants[1].rewards[2].reward_type: must be one of redemption, discount_percent_based,"
        " discount_value_based, access",
    ]


def test_several_problems_are_reported_at_once():
    extra = "api_keys: ['${MISSING}']\nlanguage: en\n"
    text = document(merchant(extra=extra).replace("currency: USD", "currency: usd\n  currency: EUR"))

    problems = problems_of(text)

    assert problems == [
        "line 5, column 3: duplicate key currency",
        "merchants[0].api_keys[0]: environment variable MISSING is not set",
        "merchants[0].language: unknown key",
    ]


def test_a_missing_required_field_is_reported_as_required():
    problems = problems_of(document(merchant().replace("  name: Demo Cafe\n", "")))

    assert problems == ["merchants[0].name: is required"]


def test_a_yaml_syntax_error_is_reported_with_its_line_and_column():
    problems = problems_of("merchants:\n  - slug: [unclosed\n")

    assert len(problems) == 1 and problems[0].startswith("line 3, column 1: ")


def test_duplicate_slugs_are_refused_at_the_later_occurrence():
    problems = problems_of(document(merchant(), merchant("other"), merchant()))

    assert problems == ["merchants[2].slug: duplicate of merchants[0].slug"]


def test_duplicate_reward_uuids_are_refused_across_merchants_whatever_their_case():
    text = document(merchant(rewards=reward()), merchant("other", rewards=reward(COLD_BREW.upper())))

    assert problems_of(text) == [
        "merchants[1].rewards[0].uuid: duplicate of merchants[0].rewards[0].uuid; "
        "merchants demo-cafe and other cannot both have it"
    ]


def test_a_shop_domain_or_restaurant_guid_claimed_by_two_merchants_is_refused_naming_both():
    guid = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
    extra = f"""\
    shopify: {{shop_domain: demo.myshopify.com, webhook_secret: a}}
    toast: {{restaurant_guids: [{guid}], webhook_secret: b, loyalty_api_key: c}}
    """
    text = document(merchant(extra=extra), merchant("other", extra=extra.replace("demo.", "DEMO.")))

    assert problems_of(text) == [
        "merchants[1].shopify.shop_domain: duplicate of merchants[0].shopify.shop_domain; "
        "merchants demo-cafe and other cannot both have it",
        "merchants[1].toast.restaurant_guids[0]: duplicate of merchants[0].toast.restaurant_guids[0]; "
        "merchants demo-cafe and other cannot both have it",
    ]


def test_duplicates_are_reported_together_with_other_problems():
    text = document(merchant(), merchant().replace("currency: USD", "currency: usd"))

    assert problems_of(text) == [
        "merchants[1].currency: must be a three-letter ISO 4217 code in capitals, e.g. USD",
        "merchants[1].slug: duplicate of merchants[0].slug",
    ]


def test_a_yaml_float_amount_becomes_an_exact_decimal():
    rewards = reward(reward_value="0.1", maximum_discount_value="6.50")
    rewards = rewards.replace("redemption", "discount_value_based")
    extra = "program: {points_per_currency_unit: 0.3, tiers: [{name: A, min_lifetime_points: 0, multiplier: 1.1}]}\n"
    text = document(merchant(rewards=rewards).replace("program:\n    points_per_currency_unit: 10\n", extra))

    cafe = parse_config(text, {}).merchants[0]

    assert cafe.rewards[0].reward_value == Decimal("0.1")
    assert str(cafe.rewards[0].maximum_discount_value) == "6.50"
    assert cafe.program.points_per_currency_unit == Decimal("0.3")
    assert cafe.program.tiers[0].multiplier == Decimal("1.1")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2))
def test_any_two_place_yaml_amount_is_read_exactly(amount):
    text = document(merchant(rewards=reward(maximum_discount_value=f"{amount:.2f}")))

    cap = parse_config(text, {}).merchants[0].rewards[0].maximum_discount_value

    assert cap == amount and isinstance(cap, Decimal)


def test_big_multi_location_ids_given_as_numbers_stay_exact_strings():
    big = 2**63 + 12345
    ids = f"[100000000437569098, '100000000171239911', {big}]"
    text = document(merchant(rewards=reward(applicable_menu_item_multi_location_ids=ids)))

    ids_read = parse_config(text, {}).merchants[0].rewards[0].applicable_menu_item_multi_location_ids

    assert ids_read == ["100000000437569098", "100000000171239911", str(big)]


def test_a_multi_location_id_written_as_a_float_is_refused():
    text = document(merchant(rewards=reward(applicable_menu_group_multi_location_ids="[100000000171239911.0]")))

    assert problems_of(text) == [
        "merchants[0].rewards[0].applicable_menu_group_multi_location_ids[0]:"
        " must be a string or a whole number; quote long ids"
    ]


def test_a_percent_discount_above_100_is_refused():
    rewards = reward(reward_value="120").replace("redemption", "discount_percent_based")

    assert problems_of(document(merchant(rewards=rewards))) == [
        "merchants[0].rewards[0].reward_value: must be at most 100 for discount_percent_based"
    ]


def test_reward_dates_accept_dates_iso_datetimes_and_epoch_seconds():
    rewards = reward(start_date="2026-01-01T09:30:00+02:00", end_date="1800000000")

    parsed = parse_config(document(merchant(rewards=rewards)), {}).merchants[0].rewards[0]

    assert parsed.start_date == datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
    assert parsed.end_date == datetime.fromtimestamp(1800000000, UTC)


def test_a_reward_ending_before_it_starts_is_refused():
    rewards = reward(start_date="2026-02-01", end_date="2026-01-01")

    assert problems_of(document(merchant(rewards=rewards))) == [
        "merchants[0].rewards[0].end_date: must be after start_date"
    ]


def test_tiers_need_one_at_zero_lifetime_points():
    program = "program: {points_per_currency_unit: 1, tiers: [{name: Silver, min_lifetime_points: 10}]}\n"
    text = document(merchant().replace("program:\n    points_per_currency_unit: 10\n", program))

    assert problems_of(text) == ["merchants[0].program.tiers: needs a tier with min_lifetime_points 0"]


def test_tier_names_must_be_unique():
    tiers = "[{name: Gold, min_lifetime_points: 0}, {name: Gold, min_lifetime_points: 5}]"
    text = document(
        merchant().replace("points_per_currency_unit: 10", f"points_per_currency_unit: 10\n    tiers: {tiers}")
    )

    assert problems_of(text) == ["merchants[0].program.tiers: tier names must be unique (case-insensitively)"]


def test_a_secret_value_never_appears_in_config_error_problems():
    secret = "sk_live_0123456789abcdef"
    extra = """\
    api_keys: ['${KEY}', '${KEY}']
    shopify: {shop_domain: shop.example.com, webhook_secret: '${KEY}', admin_api: {access_token: 7}}
    toast: {restaurant_guids: ['${KEY}'], webhook_secret: '${KEY}', loyalty_api_key: '${KEY}'}
    """
    text = document(merchant(extra=extra, rewards=reward(uuid="${KEY}", image_url="${KEY}")))

    with pytest.raises(ConfigError) as caught:
        parse_config(text, {"KEY": secret})

    assert "merchants[0].api_keys[1]: duplicate of merchants[0].api_keys[0]" in caught.value.problems
    assert len(caught.value.problems) >= 5
    assert all(secret not in line for line in caught.value.problems)
    assert secret not in str(caught.value)


def test_a_secret_never_appears_in_the_models_repr():
    config = load_config_file(EXAMPLE, env={"DEMO_CAFE_API_KEY": "very-private-key"})

    assert "very-private-key" not in repr(config)


def test_a_missing_file_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        load_config_file("/nonexistent/merchants.yaml", env={})

    assert caught.value.problems[0].startswith("/nonexistent/merchants.yaml: cannot read the file")


def test_an_empty_merchants_file_is_refused():
    assert problems_of("") == ["(root): the file is empty; expected a top-level merchants list"]


def test_the_models_validate_python_data_directly_with_the_same_rules():
    data = {
        "merchants": [
            {
                "slug": "a",
                "name": "A",
                "currency": "USD",
                "timezone": "UTC",
                "program": {"points_per_currency_unit": 0.1},
                "rewards": [],
            }
        ]
    }

    config = MerchantsFile.model_validate(data)

    assert config.merchants[0].program.points_per_currency_unit == Decimal("0.1")
