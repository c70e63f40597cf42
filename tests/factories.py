"""Payloads shaped like Shopify's documented webhook bodies, and signing helpers."""

from __future__ import annotations

import json

from integrations.shopify.signature import sign

CUSTOMER_ID = 7_390_123_456_789_012_345  # above 2**53 on purpose


def shopify_order(
    order_id: int = 5_500_000_000_001,
    *,
    subtotal: str = "42.50",
    status: str = "paid",
    updated_at: str = "2026-06-01T10:00:00-04:00",
    customer: dict | None = None,
    email: str | None = "ada@example.com",
    wallet: str | None = None,
    cancelled_at: str | None = None,
    refunds: list | None = None,
    total_outstanding: str = "0.00",
) -> dict:
    """An order payload as Shopify sends it for orders/* topics."""
    customer = (
        customer
        if customer is not None
        else {
            "id": CUSTOMER_ID,
            "email": email,
            "phone": "+1 (415) 555-0134",
            "first_name": "Ada",
            "last_name": "Lovelace",
        }
    )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "email": email,
        "currency": "USD",
        "financial_status": status,
        "subtotal_price": subtotal,
        "total_tax": "3.40",
        "total_price": str(round(float(subtotal) + 3.40 + 5.00, 2)),
        "total_outstanding": total_outstanding,
        "taxes_included": False,
        "updated_at": updated_at,
        "created_at": "2026-06-01T09:58:00-04:00",
        "cancelled_at": cancelled_at,
        "customer": customer,
        "note_attributes": [{"name": "Wallet_Address", "value": wallet}] if wallet else [],
        "line_items": [
            {
                "id": 1,
                "product_id": 632910392,
                "variant_id": 808950810,
                "quantity": 1,
                "price": subtotal,
                "total_discount": "0.00",
                "tax_lines": [],
            }
        ],
        "shipping_lines": [{"price": "5.00"}],
        "refunds": refunds or [],
    }


def shopify_refund(refund_id: int, order_id: int, *amounts: str) -> dict:
    """A refunds/create payload refunding line subtotals ``amounts``."""
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": "2026-06-02T10:00:00-04:00",
        "refund_line_items": [
            {"id": refund_id * 10 + i, "line_item_id": 1, "quantity": 1, "subtotal": a, "total_tax": "0.00"}
            for i, a in enumerate(amounts)
        ],
    }


def encode(payload) -> bytes:
    """The raw body bytes."""
    return json.dumps(payload).encode()


def shopify_headers(
    body: bytes,
    topic: str,
    webhook_id: str,
    *,
    secret: str = "test-shopify-secret",
    shop: str = "demo-cafe.myshopify.com",
) -> dict:
    """Headers of a signed Shopify delivery."""
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Event-Id": f"evt-{webhook_id}",
        "X-Shopify-Triggered-At": "2026-06-01T14:00:00Z",
        "X-Shopify-API-Version": "2025-07",
        "Content-Type": "application/json",
    }
