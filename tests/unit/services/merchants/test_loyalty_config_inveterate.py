"""The merchants file's loyalty block for Inveterate: its keys, and a Shopify shop to key its members by."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.merchants.config import ConfigError, parse_config

BLOCK = '{provider: inveterate, base_url: "https://public.inveterateapi.com", api_key: "inv-secret", credit_rate: 0.05}'
SHOPIFY = "shopify: {shop_domain: shop.myshopify.com, webhook_secret: s}"


def merchant_with(block: str, shopify: str = SHOPIFY) -> str:
    return f"""
merchants:
  - slug: shop
    name: Shop
    currency: USD
    program: {{points_per_currency_unit: 10}}
    {shopify}
    loyalty: {block}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {})
    return caught.value.problems


def test_an_inveterate_block_is_read_with_its_rate_exact_and_its_key_secret():
    loyalty = parse_config(merchant_with(BLOCK), {}).merchants[0].loyalty
    assert (loyalty.provider, loyalty.credit_rate, loyalty.timeout_seconds) == ("inveterate", Decimal("0.05"), 5)
    assert loyalty.api_key.get_secret_value() == "inv-secret" and "inv-secret" not in repr(loyalty)


def test_an_inveterate_merchant_without_a_shopify_shop_is_refused_at_its_loyalty_block():
    found = problems(merchant_with(BLOCK, shopify=""))
    assert found == [
        "merchants[0].loyalty: provider inveterate keys its members by Shopify customer id: "
        "the merchant needs a shopify block"
    ]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            '{provider: inveterate, base_url: "https://i.test", credit_rate: 0.05}',
            "merchants[0].loyalty.api_key: is required",
        ),
        (
            '{provider: inveterate, base_url: "https://i.test", api_key: k}',
            "merchants[0].loyalty.credit_rate: is required",
        ),
        (
            '{provider: inveterate, base_url: "https://i.test", api_key: k, credit_rate: 0}',
            "merchants[0].loyalty.credit_rate: must be greater than 0",
        ),
        (
            '{provider: inveterate, base_url: "https://i.test", api_key: k, credit_rate: 1.5}',
            "merchants[0].loyalty.credit_rate: must be at most 1",
        ),
        (
            '{provider: inveterate, base_url: "https://i.test", api_key: k, credit_rate: 0.05, activity_type_id: a}',
            "merchants[0].loyalty.activity_type_id: unknown key",
        ),
    ],
)
def test_a_mistake_in_the_inveterate_block_is_named_by_its_path(block, expected):
    found = problems(merchant_with(block))
    assert any(p.startswith(expected) for p in found), found


def test_the_example_merchant_runs_on_inveterate_with_only_its_loyalty_block_changed():
    from support import EXAMPLE_CONFIG, TEST_ENV

    text = EXAMPLE_CONFIG.read_text().replace(
        "    # --- Rewards members can redeem", f"    loyalty: {BLOCK}\n\n    # --- Rewards members can redeem", 1
    )
    assert parse_config(text, TEST_ENV).merchants[0].loyalty.provider == "inveterate"
