"""Shopify signatures and payload parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from factories import CUSTOMER_ID, encode, shopify_order, shopify_refund
from integrations.shopify import orders, signature

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def parse(payload, eligible="subtotal"):
    return orders.parse_order(orders.loads(encode(payload)), region="US", eligible=eligible, fallback_time=NOW)


def test_the_public_shopify_test_vector_verifies():
    body = b'{"foo": "bar"}'
    assert signature.sign(body, "test_secret_key") == "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
    assert signature.verify(body, "test_secret_key", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")


@pytest.mark.parametrize("header", [None, "", "garbage", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7h=", "é"])
def test_a_wrong_or_missing_signature_does_not_verify(header):
    assert not signature.verify(b'{"foo": "bar"}', "test_secret_key", header)


def test_a_changed_body_does_not_verify():
    assert not signature.verify(b'{"foo": "baz"}', "test_secret_key", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")


def test_a_paid_order_earns_on_its_subtotal_and_keeps_big_ids_exact():
    order = parse(shopify_order(subtotal="42.50", wallet="0xabc"))
    assert order.key == "shopify:order:5500000000001"
    assert order.eligible_spend == Decimal("42.50") and order.paid and not order.cancelled
    assert order.identity.provider_customer_id == str(CUSTOMER_ID)
    assert order.identity.phone == "+14155550134"
    assert order.identity.wallet_address == "0xabc"
    assert order.modified_at == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def test_the_total_setting_earns_on_the_total_price():
    assert parse(shopify_order(subtotal="10.00"), eligible="total").eligible_spend == Decimal("18.40")


def test_prices_that_include_tax_have_the_line_taxes_taken_out():
    payload = shopify_order(subtotal="12.00")
    payload["taxes_included"] = True
    payload["line_items"][0]["tax_lines"] = [{"price": "2.00", "rate": 0.2, "title": "VAT"}]
    assert parse(payload).eligible_spend == Decimal("10.00")


def test_a_partially_paid_order_earns_on_the_paid_share_of_its_eligible_spend():
    # 20.00 of a 48.40 total is paid: the subtotal earns in that proportion, never on tax and shipping.
    order = parse(shopify_order(subtotal="40.00", status="partially_paid", total_outstanding="28.40"))
    assert order.eligible_spend == Decimal("40.00") * Decimal("20.00") / Decimal("48.40")
    assert dict(order.spend_by_basis)["total"] == Decimal("20.00")


def test_a_refund_keeps_its_tax_apart_from_its_subtotal():
    _key, refund = orders.parse_refund(
        {
            "id": 9,
            "order_id": 1,
            "refund_line_items": [
                {"subtotal": "60.00", "total_tax": "10.00"},
                {"subtotal": "5.00", "total_tax": "0.83"},
            ],
        }
    )
    assert (refund.amount, refund.tax) == (Decimal("65.00"), Decimal("10.83"))


@pytest.mark.parametrize("status", ["pending", "authorized", "voided"])
def test_an_unpaid_order_has_no_eligible_spend(status):
    assert parse(shopify_order(status=status)).eligible_spend == 0


def test_a_cancelled_order_is_final():
    assert parse(shopify_order(cancelled_at="2026-06-01T12:00:00Z")).cancelled


def test_a_refund_sums_its_refunded_line_subtotals():
    key, refund = orders.parse_refund(shopify_refund(901, 5_500_000_000_001, "10.00", "2.50"))
    assert key == "shopify:order:5500000000001"
    assert (refund.key, refund.amount) == ("shopify:refund:901", Decimal("12.50"))


def test_the_wallet_attribute_name_is_case_insensitive_and_email_falls_back_to_the_order():
    payload = shopify_order(customer={"id": 1}, email="Bob@Example.com")
    payload["note_attributes"] = [{"name": "WALLET_ADDRESS", "value": " 0xdef "}]
    identity = parse(payload).identity
    assert (identity.email, identity.wallet_address) == ("bob@example.com", "0xdef")


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"id": 1, "subtotal_price": "abc", "financial_status": "paid"}']
)
def test_unusable_payloads_raise_a_payload_error_with_a_reason(body):
    with pytest.raises(orders.PayloadError) as caught:
        orders.parse_order(orders.loads(body), region="US", eligible="subtotal", fallback_time=NOW)
    assert caught.value.code in ("invalid_json", "invalid_payload")


def test_the_codes_an_order_used_come_from_discount_codes_and_discount_code_applications_once_each():
    data = {
        "discount_codes": [{"code": "PC-AAA", "amount": "10.00", "type": "fixed_amount"}, {"code": "OLD"}],
        "discount_applications": [
            {"type": "discount_code", "code": "PC-AAA", "value": "10.0"},
            {"type": "discount_code", "code": "PC-BBB", "value": "5.0"},
            {"type": "automatic", "title": "Summer", "value": "5.0"},
            {"type": "manual", "title": "Staff", "value": "1.0"},
        ],
    }
    assert orders.discount_codes(data) == ("PC-AAA", "OLD", "PC-BBB")
    assert orders.discount_codes({}) == ()
