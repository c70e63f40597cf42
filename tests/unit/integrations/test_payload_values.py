"""Any value anywhere in a Shopify or Toast payload either parses into well-typed loyalty values or is a
``PayloadError``: nothing else may escape the parsers, since the worker retries everything else as transient.

Each example replaces one value of a documented payload (any depth: a field, a line, a whole list) with an
arbitrary JSON value, and goes through the raw bytes as a delivery does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import encode, shopify_order, shopify_refund
from integrations.common import PayloadError
from integrations.shopify import orders as shopify
from integrations.toast import orders as toast
from loyalty.orders import Identity, Order
from toast_factories import (
    toast_body,
    toast_check,
    toast_customer,
    toast_discount,
    toast_envelope,
    toast_order,
    toast_selection,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "1.0",
            "1e999999",
            "-0",
            "2026-13-45T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "PAID",
            "ada@example.com",
            "+14155550134",
            "1e-999999",
            "Ada\x00",
            "\x00",
            "x" * 400,
            "9" * 40,
            "a" * 400 + "@example.com",
        ]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def paths(value, prefix=()):
    """Every place in ``value`` that holds a value (dict entries, list items)."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.append(prefix + (key,))
        found.extend(paths(child, prefix + (key,)))
    return found


def replaced(document, path, value):
    copy = json.loads(json.dumps(document, default=str))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def body_of(document) -> bytes:
    return json.dumps(document).encode()  # NaN and Infinity too: Python's json reads them back


def assert_well_typed(order: Order) -> None:
    """Types the ledger expects, and text the database takes (no NUL, within its columns)."""
    assert isinstance(order.key, str) and len(order.key) <= 255 and "\x00" not in order.key
    assert isinstance(order.modified_at, datetime)
    for amount in (order.eligible_spend, *(line.price for line in order.lines), *(r.amount for r in order.refunds)):
        assert isinstance(amount, Decimal) and amount.is_finite()
    assert_identity(order.identity)
    assert order.currency is None or isinstance(order.currency, str)
    for line in order.lines:
        assert isinstance(line.key, str) and isinstance(line.quantity, (int, Decimal))
        for ref in (line.item_id, line.group_id, line.variant_id, line.item_guid, line.group_guid):
            assert ref is None or isinstance(ref, str)


def assert_identity(identity: Identity) -> None:
    widths = {
        "provider_customer_id": 32,
        "email": 320,
        "phone": 20,
        "first_name": 200,
        "last_name": 200,
        "wallet_address": 200,
        "member_id": None,
    }
    for name, width in widths.items():
        value = getattr(identity, name)
        assert value is None or (isinstance(value, str) and "\x00" not in value), name
        assert value is None or width is None or len(value) <= width, name


def parse_shopify_order(body: bytes) -> None:
    data = shopify.loads(body)
    for eligible in ("subtotal", "total"):
        assert_well_typed(shopify.parse_order(data, region="US", eligible=eligible, fallback_time=NOW))


def parse_shopify_privacy(body: bytes) -> None:
    identity, orders = shopify.parse_privacy_request(shopify.loads(body), region="US")
    assert_identity(identity)
    assert all(isinstance(order, str) and len(order) <= 32 for order in orders)


def parse_toast_order(body: bytes) -> None:
    order_json = toast.envelope_order(toast.loads(body))
    toast.needs_lookup(order_json)
    for order in toast.parse_order(order_json, region="US", fallback_time=NOW):
        assert_well_typed(order)
    for check in order_json.get("checks") or ():
        if isinstance(check, dict):
            assert all(isinstance(ref, str) for ref in toast.loyalty_references(check))


SHOPIFY_ORDER = json.loads(
    encode(shopify_order(wallet="0xabc", refunds=[shopify_refund(9, 5_500_000_000_001, "5.00")]))
)
SHOPIFY_REFUND = json.loads(encode(shopify_refund(9, 5_500_000_000_001, "5.00", "2.50")))
SHOPIFY_CUSTOMER = {
    "id": 7_390_123_456_789_012_345,
    "email": "ada@example.com",
    "phone": "+14155550134",
    "first_name": "Ada",
    "last_name": "Lovelace",
}
SHOPIFY_PRIVACY = {
    "shop_id": 954889,
    "shop_domain": "demo-cafe.myshopify.com",
    "orders_to_redact": [299938, 280263],
    "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
}
TOAST_ENVELOPE = json.loads(
    toast_body(
        toast_envelope(
            toast_order(
                checks=[
                    toast_check(
                        customer=toast_customer(),
                        loyalty_identifier="mbr_0001",
                        discounts=[toast_discount("reward-1")],
                        selections=[
                            toast_selection(discounts=[toast_discount("reward-2")]),
                            toast_selection(price="3.25"),
                        ],
                    )
                ]
            )
        )
    )
)

CASES = {
    "shopify order": (SHOPIFY_ORDER, parse_shopify_order),
    "shopify refund": (SHOPIFY_REFUND, lambda body: shopify.parse_refund(shopify.loads(body))),
    "shopify customer": (
        SHOPIFY_CUSTOMER,
        lambda body: assert_identity(shopify.parse_customer(shopify.loads(body), region="US")),
    ),
    "toast order": (TOAST_ENVELOPE, parse_toast_order),
    "shopify privacy request": (SHOPIFY_PRIVACY, parse_shopify_privacy),
}


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_anywhere_parses_or_is_a_payload_error(case, data):
    document, consume = CASES[case]
    path = data.draw(st.sampled_from(paths(document)), label="path")
    body = body_of(replaced(document, path, data.draw(VALUES, label="value")))
    try:
        consume(body)
    except PayloadError:
        pass


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_documented_payloads_themselves_parse(case):
    document, consume = CASES[case]
    consume(body_of(document))
