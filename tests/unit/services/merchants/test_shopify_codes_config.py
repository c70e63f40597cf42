"""shopify.redemption_codes and shopify.customer_metafields in the merchants file."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from services.merchants.config import ConfigError, parse_config


def shopify(block: str, admin_api: bool = True) -> str:
    admin = "    admin_api: {access_token: shpat_x, version: 2025-10}\n" if admin_api else ""
    return (
        "merchants:\n  - slug: shop\n    name: Shop\n    currency: USD\n    program: {points_per_currency_unit: 1}\n"
        "    shopify:\n      shop_domain: shop.myshopify.com\n      webhook_secret: s\n"
        + textwrap.indent(admin, "  ")
        + textwrap.indent(textwrap.dedent(block), "      ")
    )


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {})
    return caught.value.problems


def test_codes_and_metafields_default_to_what_merchants_md_shows():
    config = parse_config(shopify("redemption_codes: {}\ncustomer_metafields: {}\n"), {}).merchants[0].shopify
    codes = config.redemption_codes
    assert (codes.prefix, codes.expires_after_days, codes.minimum_subtotal) == ("PC-", 30, None)
    combines = codes.combines_with
    assert (combines.order_discounts, combines.product_discounts, combines.shipping_discounts) == (False, False, True)
    assert config.customer_metafields.namespace == "punchcard"


def test_a_minimum_subtotal_is_exact_money():
    config = parse_config(shopify("redemption_codes: {minimum_subtotal: 25.10}\n"), {}).merchants[0].shopify
    assert config.redemption_codes.minimum_subtotal == Decimal("25.10")


def test_codes_or_metafields_without_an_admin_api_are_refused_with_the_path():
    assert problems(shopify("redemption_codes: {}\ncustomer_metafields: {}\n", admin_api=False)) == [
        "merchants[0].shopify: redemption_codes and customer_metafields need admin_api (a token with write access)"
    ]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("redemption_codes: {prefix: 'PC '}", "merchants[0].shopify.redemption_codes.prefix: must be at most 20"),
        ("redemption_codes: {expires_after_days: -1}", "merchants[0].shopify.redemption_codes.expires_after_days"),
        ("redemption_codes: {minimum_subtotal: 0}", "merchants[0].shopify.redemption_codes.minimum_subtotal"),
        ("redemption_codes: {combines_with: {orders: true}}", "merchants[0].shopify.redemption_codes.combines_with"),
        ("customer_metafields: {namespace: pc}", "merchants[0].shopify.customer_metafields.namespace: must be 3"),
    ],
)
def test_a_bad_code_or_metafield_setting_is_refused_with_its_path(block, problem):
    [found] = problems(shopify(block + "\n"))
    assert found.startswith(problem)


HANG = '  loyalty: {provider: hang, base_url: "https://h.test/partner-api", api_key: k, activity_type_id: a}\n'
INVETERATE = '  loyalty: {provider: inveterate, base_url: "https://i.test", api_key: k, credit_rate: 0.05}\n'


def with_loyalty(block: str, loyalty: str) -> str:
    return shopify(block) + textwrap.indent(loyalty, "  ")


@pytest.mark.parametrize(("loyalty", "provider"), [(HANG, "hang"), (INVETERATE, "inveterate")])
def test_a_provider_backed_merchant_cannot_turn_on_codes_or_metafields_and_each_is_named(loyalty, provider):
    found = problems(with_loyalty("redemption_codes: {}\ncustomer_metafields: {}\n", loyalty))
    assert found == [
        f"merchants[0].shopify.{name}: not available with loyalty.provider {provider}: "
        f"the points live in {provider}, not in Punchcard"
        for name in ("redemption_codes", "customer_metafields")
    ]


def test_a_provider_backed_shop_without_codes_or_metafields_and_the_built_in_ledger_with_them_are_accepted():
    assert parse_config(with_loyalty("", INVETERATE), {}).merchants[0].loyalty.provider == "inveterate"
    config = parse_config(with_loyalty("customer_metafields: {}\n", "  loyalty: {provider: punchcard}\n"), {})
    assert config.merchants[0].shopify.customer_metafields.namespace == "punchcard"
