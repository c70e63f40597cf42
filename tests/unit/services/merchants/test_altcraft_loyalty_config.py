"""The loyalty block of an Altcraft merchant: its keys, its matching, its secret kept secret, mistakes by path."""

from __future__ import annotations

import pytest

from services.merchants.config import ConfigError, parse_config

BLOCK = '{provider: altcraft, base_url: "https://altcraft.example.com", token: "s3cr3t-token", loyalty_program_id: 123'


def merchant_with(block: str) -> str:
    return f"""
merchants:
  - slug: cafe
    name: Cafe
    currency: USD
    program: {{points_per_currency_unit: 10}}
    loyalty: {block}
"""


def problems(block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(merchant_with(block), {})
    return caught.value.problems


def test_an_altcraft_block_runs_with_phone_matching_by_default_and_its_token_kept_secret():
    loyalty = parse_config(merchant_with(BLOCK + "}"), {}).merchants[0].loyalty
    assert (loyalty.provider, loyalty.loyalty_program_id, loyalty.matching) == ("altcraft", 123, "phone")
    assert loyalty.points_currency_eid is None and loyalty.timeout_seconds == 5
    assert loyalty.token.get_secret_value() == "s3cr3t-token" and "s3cr3t-token" not in repr(loyalty)


def test_email_matching_and_a_points_currency_are_taken():
    loyalty = parse_config(merchant_with(BLOCK + ", matching: email, points_currency_eid: stars}"), {})
    assert (loyalty.merchants[0].loyalty.matching, loyalty.merchants[0].loyalty.points_currency_eid) == (
        "email",
        "stars",
    )


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (BLOCK + ", matching: custom}", "merchants[0].loyalty.matching: "),
        (BLOCK.replace("123", "0") + "}", "merchants[0].loyalty.loyalty_program_id: must be greater than 0"),
        (BLOCK.replace(', token: "s3cr3t-token"', "") + "}", "merchants[0].loyalty.token: is required"),
        (BLOCK + ", api_key: k}", "merchants[0].loyalty.api_key: unknown key"),
        (BLOCK + ', points_currency_eid: "two words"}', "merchants[0].loyalty.points_currency_eid: "),
    ],
)
def test_a_mistake_in_an_altcraft_block_is_named_by_its_path_and_never_quotes_the_token(block, expected):
    found = problems(block)
    assert any(p.startswith(expected) for p in found), found
    assert all("s3cr3t-token" not in p for p in found)
