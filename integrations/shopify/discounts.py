"""Shopify discount codes for redeemed rewards: the code, the ``discountCodeBasicCreate`` input, the documents.

A reward redeemed online becomes a single-use ``DiscountCodeBasic`` limited
to one customer (spec "Rewards redeemed online"). The input follows the API
version the merchant pinned: ``context`` replaced ``customerSelection`` in
2025-10 (Shopify changelog "discount eligibility management").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CONTEXT_FROM = "2025-10"
# Letters and digits a guest cannot misread or mistype: no 0/O, 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 codes: a collision with another code of the shop is not a practical worry

CREATE_MUTATION = """
mutation CreateRewardCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}
""".strip()

DELETE_MUTATION = """
mutation DeleteRewardCode($id: ID!) {
  discountCodeDelete(id: $id) {
    deletedCodeDiscountId
    userErrors { field code message extraInfo }
  }
}
""".strip()

FIND_BY_CODE_QUERY = """
query FindRewardCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount { ... on DiscountCodeBasic { title } }
  }
}
""".strip()


@dataclass(frozen=True)
class CombinesWith:
    """Which other discounts the code combines with at checkout."""

    order_discounts: bool = False
    product_discounts: bool = False
    shipping_discounts: bool = True


@dataclass(frozen=True)
class CodeDiscount:
    """One reward's code, in our terms; :func:`basic_code_input` says it in Shopify's.

    Exactly one of ``percentage`` (0 < p <= 1) and ``amount`` (money off the
    order) is set. ``ends_at`` None: the code never expires.
    """

    code: str
    title: str
    customer_gid: str
    starts_at: datetime
    ends_at: datetime | None
    percentage: Decimal | None = None
    amount: Decimal | None = None
    minimum_subtotal: Decimal | None = None
    combines_with: CombinesWith = CombinesWith()

    def __post_init__(self) -> None:
        if (self.percentage is None) == (self.amount is None):
            raise ValueError("a code takes either a percentage or an amount off")
        if self.percentage is not None and not Decimal(0) < self.percentage <= Decimal(1):
            raise ValueError("percentage must be in (0, 1]")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("amount must be positive")


@dataclass(frozen=True)
class FoundCode:
    """A code discount found by its code: its gid and title (our titles name the redemption)."""

    gid: str
    title: str | None


def new_code(prefix: str) -> str:
    """``prefix`` (upper-cased) and ``CODE_LENGTH`` random unambiguous characters."""
    return prefix.upper() + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def uses_context(api_version: str) -> bool:
    """True when ``api_version`` takes ``context`` (2025-10 and later, and ``unstable``)."""
    return api_version == "unstable" or api_version >= CONTEXT_FROM


def basic_code_input(discount: CodeDiscount, api_version: str) -> dict[str, Any]:
    """The ``DiscountCodeBasicInput`` for ``discount`` in ``api_version``'s shape."""
    customers = {"customers": {"add": [discount.customer_gid]}}
    value = (
        {"percentage": float(discount.percentage)}  # Float 0.00-1.00 in Shopify's schema
        if discount.percentage is not None
        else {"discountAmount": {"amount": format(discount.amount, "f"), "appliesOnEachItem": False}}
    )
    body: dict[str, Any] = {
        "title": discount.title,
        "code": discount.code,
        "startsAt": _iso(discount.starts_at),
        "customerGets": {"value": value, "items": {"all": True}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {
            "orderDiscounts": discount.combines_with.order_discounts,
            "productDiscounts": discount.combines_with.product_discounts,
            "shippingDiscounts": discount.combines_with.shipping_discounts,
        },
    }
    body["context" if uses_context(api_version) else "customerSelection"] = customers
    if discount.ends_at is not None:
        body["endsAt"] = _iso(discount.ends_at)
    if discount.minimum_subtotal is not None:
        body["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": format(discount.minimum_subtotal, "f")}
        }
    return body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
