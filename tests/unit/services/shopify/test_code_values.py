"""What a reward's Shopify code takes off, and which rewards become codes at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.rewards import RewardRule
from services.shopify.codes import code_discount, discount_value, ends_at, offers_code

SHOPIFY = {"admin_api": {"access_token": "t"}, "redemption_codes": {"prefix": "PC-", "expires_after_days": 30}}


def rule(reward_type: str, value: str = "0", cap: str | None = None, **fields) -> RewardRule:
    return RewardRule(
        uuid="u",
        name="Reward",
        reward_type=reward_type,
        points_price=500,
        reward_value=Decimal(value),
        maximum_discount_value=Decimal(cap) if cap else None,
        **fields,
    )


@pytest.mark.parametrize(
    ("reward", "value"),
    [
        (rule("discount_percent_based", "15"), (Decimal("0.15"), None)),
        (rule("discount_percent_based", "15", cap="2.00"), (Decimal("0.15"), None)),  # Shopify caps no percentage
        (rule("discount_value_based", "5.00"), (None, Decimal("5.00"))),
        (rule("discount_value_based", "8.00", cap="6.50"), (None, Decimal("6.50"))),
        (rule("redemption", cap="6.50"), (None, Decimal("6.50"))),  # a free item, worth up to its cap
        (rule("redemption"), None),
        (rule("access"), None),
    ],
)
def test_the_money_a_rewards_code_takes_off(reward, value):
    assert discount_value(reward) == value


def test_only_money_off_rewards_redeemed_by_code_at_a_shop_with_codes_and_an_admin_api_become_codes():
    five_off = rule("discount_value_based", "5.00")
    assert offers_code(SHOPIFY, five_off)
    assert not offers_code(SHOPIFY, rule("discount_value_based", "5.00", redemption_method="pos"))
    assert not offers_code(SHOPIFY, rule("access"))
    assert not offers_code({**SHOPIFY, "admin_api": None}, five_off)
    assert not offers_code({"admin_api": {"access_token": "t"}}, five_off)
    assert not offers_code(None, five_off)


def test_a_code_ends_after_the_configured_days_or_never():
    start = datetime(2026, 6, 1, tzinfo=UTC)
    assert ends_at({"expires_after_days": 30}, start) == start + timedelta(days=30)
    assert ends_at({"expires_after_days": 0}, start) is None


def test_the_discount_names_the_redemption_and_a_reward_alone_combines_with_no_other_money_off():
    start = datetime(2026, 6, 1, tzinfo=UTC)
    config = {
        **SHOPIFY["redemption_codes"],
        "minimum_subtotal": "25.00",
        "combines_with": {"order_discounts": True, "product_discounts": True, "shipping_discounts": False},
    }
    alone = rule("discount_value_based", "5.00", combinable=False)
    made = code_discount(
        config, alone, redemption_id="rdm_9", code="PC-X", customer_gid="gid://shopify/Customer/1", start=start
    )
    assert "rdm_9" in made.title and made.minimum_subtotal == Decimal("25.00")
    assert (made.combines_with.order_discounts, made.combines_with.product_discounts) == (False, False)
    assert made.combines_with.shipping_discounts is False
