"""Normalized orders, whichever provider they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Identity:
    """Who placed an order, as far as the provider tells us."""

    provider_customer_id: str | None = None
    email: str | None = None
    phone: str | None = None  # already E.164, or None
    first_name: str | None = None
    last_name: str | None = None
    wallet_address: str | None = None
    member_id: str | None = None  # a member id of ours (Toast loyaltyIdentifier)

    @property
    def is_empty(self) -> bool:
        """True when nothing identifies a person."""
        return not (self.provider_customer_id or self.email or self.phone or self.member_id)


@dataclass(frozen=True)
class Line:
    """One order line (Shopify line item, Toast top-level selection).

    ``key`` is the line's own id (Shopify line item id, Toast selection guid).
    ``item_id``/``group_id`` are the menu item and group multiLocationIds (for
    Shopify, ``item_id`` is the product id); ``item_guid``/``group_guid`` are the
    Toast menu item and group guids, compared instead when a multiLocationId
    is missing (rewards.md).
    """

    key: str
    quantity: Decimal | int  # Toast quantities can be fractional
    price: Decimal  # net of discounts, modifiers included
    item_id: str | None = None
    group_id: str | None = None
    variant_id: str | None = None
    voided: bool = False
    deferred: bool = False
    item_guid: str | None = None
    group_guid: str | None = None


@dataclass(frozen=True)
class Refund:
    """A refund of part of an order: the refunded lines' ``amount`` (their subtotal) and the ``tax`` on them.

    Shipping is never part of it. What the refund takes back is measured on
    the order's own basis (``loyalty.points.refunded_spend``).
    """

    key: str
    amount: Decimal
    tax: Decimal = Decimal(0)


@dataclass(frozen=True)
class Order:
    """One accountable order state: a Shopify order or a Toast check.

    ``key`` is the business key (``shopify:order:<id>``); ``eligible_spend`` is
    what earns points in this state (0 when it is not paid) on the merchant's
    configured basis, ``spend_by_basis`` the same under every basis the
    provider knows (``subtotal``, ``total``), so that an order keeps the basis
    it first earned on; ``cancelled`` is final: a cancelled or voided order
    never earns again. ``taxes_included`` is the shop's pricing (None: unknown).
    """

    key: str
    modified_at: datetime
    eligible_spend: Decimal
    paid: bool
    cancelled: bool
    identity: Identity
    currency: str | None = None
    lines: tuple[Line, ...] = ()
    refunds: tuple[Refund, ...] = field(default=())
    spend_by_basis: tuple[tuple[str, Decimal], ...] = ()
    spend_basis: str | None = None
    taxes_included: bool | None = None

    def spend_on(self, basis: str | None) -> Decimal:
        """Eligible spend of this state on ``basis`` (the configured one when None or unknown)."""
        return dict(self.spend_by_basis).get(basis, self.eligible_spend) if basis else self.eligible_spend
