"""The discountCodeBasicCreate input for a redeemed reward, in the shape of the merchant's pinned API version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integrations.shopify.discounts import ALPHABET, CODE_LENGTH, CodeDiscount, CombinesWith, basic_code_input, new_code

START = datetime(2026, 1, 10, tzinfo=UTC)
GID = "gid://shopify/Customer/207119551"


def discount(**overrides) -> CodeDiscount:
    fields = dict(
        code="PC-7K3M9QXA2B",
        title="Five Off (500 points, rdm_1)",
        customer_gid=GID,
        starts_at=START,
        ends_at=START + timedelta(days=90),
        amount=Decimal("5.00"),
        minimum_subtotal=Decimal("25.00"),
        combines_with=CombinesWith(order_discounts=False, product_discounts=False, shipping_discounts=True),
    )
    return CodeDiscount(**{**fields, **overrides})


def test_from_2025_10_the_code_is_limited_to_the_customer_by_context():
    sent = basic_code_input(discount(), "2025-10")
    assert sent == {
        "title": "Five Off (500 points, rdm_1)",
        "code": "PC-7K3M9QXA2B",
        "startsAt": "2026-01-10T00:00:00Z",
        "endsAt": "2026-04-10T00:00:00Z",
        "context": {"customers": {"add": [GID]}},
        "customerGets": {
            "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
            "items": {"all": True},
        },
        "minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "25.00"}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True},
    }


@pytest.mark.parametrize(
    ("version", "key"),
    [
        ("2024-04", "customerSelection"),
        ("2025-07", "customerSelection"),
        ("2026-01", "context"),
        ("unstable", "context"),
    ],
)
def test_the_customer_selection_follows_the_pinned_version(version, key):
    sent = basic_code_input(discount(), version)
    assert sent[key] == {"customers": {"add": [GID]}}
    assert {"context", "customerSelection"} - {key} & set(sent) == set()


def test_a_percentage_travels_as_a_float_between_0_and_1_and_a_code_that_never_ends_has_no_ends_at():
    sent = basic_code_input(
        discount(amount=None, percentage=Decimal("0.1"), ends_at=None, minimum_subtotal=None), "2025-10"
    )
    assert sent["customerGets"]["value"] == {"percentage": 0.1}
    assert "endsAt" not in sent and "minimumRequirement" not in sent


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": None},
        {"percentage": Decimal("0.5")},
        {"amount": Decimal(0)},
        {"amount": None, "percentage": Decimal("1.5")},
    ],
)
def test_a_code_takes_exactly_one_positive_value_off(overrides):
    with pytest.raises(ValueError):
        discount(**overrides)


def test_a_new_code_is_the_prefix_in_capitals_and_unambiguous_random_characters():
    codes = {new_code("pc-") for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert code.startswith("PC-") and len(code) == 3 + CODE_LENGTH
        assert set(code[3:]) <= set(ALPHABET) and not set(code[3:]) & set("01OIL")
