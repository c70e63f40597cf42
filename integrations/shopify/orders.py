"""Shopify order, refund and customer payloads -> ``loyalty`` types.

Money arrives as decimal strings ("10.00"); numbers are parsed as Decimal, and
ids (which exceed 2**53) stay exact as Python ints, then strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from integrations.common import (  # noqa: F401  (part of this module's interface)
    NAME_LENGTH,
    WALLET_LENGTH,
    PayloadError,
    clean_text,
    loads,
    objects,
    parse_decimal,
    parse_text,
    parse_time,
    usable_email,
)
from loyalty.identity import normalize_email, normalize_phone
from loyalty.orders import Identity, Line, Order, Refund
from loyalty.points import paid_share

EARNING_STATUSES = {"paid", "partially_paid", "partially_refunded", "refunded"}
BASES = ("subtotal", "total")  # merchants.md shopify.eligible_spend
ID_LENGTH = 32  # Shopify's ids have 20 digits at most; members.shopify_customer_id holds 32


def order_key(order_id) -> str:
    """The ledger business key of a Shopify order."""
    return f"shopify:order:{order_id}"


def parse_order(data: dict, *, region: str | None, eligible: str, fallback_time: datetime) -> Order:
    """The accountable state of a Shopify order payload; ``eligible`` is the merchant's basis (subtotal | total)."""
    order_id = _required_id(data, "id")
    status = str(data.get("financial_status") or "").lower()
    paid = status in EARNING_STATUSES
    spends = tuple((basis, _eligible_spend(data, basis, status) if paid else Decimal(0)) for basis in BASES)
    return Order(
        key=order_key(order_id),
        modified_at=parse_time(data.get("updated_at")) or fallback_time,
        eligible_spend=dict(spends)[eligible],
        paid=paid,
        cancelled=bool(data.get("cancelled_at")) or status == "voided",
        identity=parse_identity(data, region=region),
        currency=parse_text(data.get("currency"), "currency"),
        lines=tuple(_line(item) for item in objects(data.get("line_items"), "line_items")),
        refunds=tuple(parse_refund(r)[1] for r in objects(data.get("refunds"), "refunds")),
        spend_by_basis=spends,
        spend_basis=eligible,
        taxes_included=bool(data.get("taxes_included")) if "taxes_included" in data else None,
    )


def parse_refund(data: dict) -> tuple[str, Refund]:
    """(order key, refund) of a ``refunds/create`` payload or an order's ``refunds[]`` entry.

    The refunded lines' subtotals and their tax are kept apart, so the refund
    is measured on the order's own basis; shipping refunds (order adjustments)
    never count.
    """
    refund_id = _required_id(data, "id")
    order_id = _required_id(data, "order_id")
    items = objects(data.get("refund_line_items"), "refund_line_items")
    amount = sum((_money(i.get("subtotal"), "refund_line_items.subtotal") for i in items), Decimal(0))
    tax = sum((_money(i.get("total_tax"), "refund_line_items.total_tax") for i in items), Decimal(0))
    return order_key(order_id), Refund(key=f"shopify:refund:{refund_id}", amount=amount, tax=tax)


def parse_identity(data: dict, *, region: str | None) -> Identity:
    """Who placed the order: customer link, email, phone (E.164), names, wallet address."""
    customer = data.get("customer") or {}
    if not isinstance(customer, dict):
        raise PayloadError("customer is not an object", code="invalid_payload")
    return Identity(
        provider_customer_id=_opt_id(customer.get("id")),
        email=usable_email(normalize_email(_text(customer, "email") or _text(data, "email"))),
        phone=normalize_phone(_text(customer, "phone") or _text(data, "phone"), region),
        first_name=_text(customer, "first_name", NAME_LENGTH),
        last_name=_text(customer, "last_name", NAME_LENGTH),
        wallet_address=wallet_address(data.get("note_attributes")),
    )


def parse_customer(data: dict, *, region: str | None) -> Identity:
    """Identity fields of a ``customers/*`` payload."""
    return Identity(
        provider_customer_id=_opt_id(data.get("id")),
        email=usable_email(normalize_email(_text(data, "email"))),
        phone=normalize_phone(_text(data, "phone"), region),
        first_name=_text(data, "first_name", NAME_LENGTH),
        last_name=_text(data, "last_name", NAME_LENGTH),
    )


def parse_privacy_request(data: dict, *, region: str | None) -> tuple[Identity, tuple[str, ...]]:
    """The customer (id, email, phone) and the order ids of a ``customers/data_request`` or ``customers/redact``."""
    customer = data.get("customer") or {}
    if not isinstance(customer, dict):
        raise PayloadError("customer is not an object", code="invalid_payload")
    orders = data.get("orders_requested") or data.get("orders_to_redact") or []
    if not isinstance(orders, list):
        raise PayloadError("the orders are not a list", code="invalid_payload")
    identity = Identity(
        provider_customer_id=_opt_id(customer.get("id")),
        email=usable_email(normalize_email(_text(customer, "email"))),
        phone=normalize_phone(_text(customer, "phone"), region),
    )
    return identity, tuple(order_id for order_id in map(_opt_id, orders) if order_id)


def discount_codes(data: dict) -> tuple[str, ...]:
    """The discount codes an order used: ``discount_codes[].code`` and ``discount_applications[]`` of type
    ``discount_code`` (older payloads carry no ``type`` in ``discount_codes``), each once, as given."""
    found = [item.get("code") for item in objects(data.get("discount_codes"), "discount_codes")]
    found += [
        item.get("code")
        for item in objects(data.get("discount_applications"), "discount_applications")
        if item.get("type") == "discount_code"
    ]
    codes = (parse_text(code, "discount code", limit=255) for code in found)
    return tuple(dict.fromkeys(code for code in codes if code))


def wallet_address(note_attributes) -> str | None:
    """The ``wallet_address`` note attribute (name compared case-insensitively)."""
    for attribute in note_attributes if isinstance(note_attributes, list) else ():
        if isinstance(attribute, dict) and str(attribute.get("name", "")).strip().lower() == "wallet_address":
            value = clean_text(attribute.get("value")) if isinstance(attribute.get("value"), str) else ""
            return value if 0 < len(value) <= WALLET_LENGTH else None
    return None


def _eligible_spend(data: dict, basis: str, status: str) -> Decimal:
    total = _money(data.get("total_price"), "total_price")
    if basis == "total":
        spend = total
    else:
        # subtotal_price is after discounts, before shipping and tax; where prices
        # include tax, the line taxes are inside it and come out here.
        spend = _money(data.get("subtotal_price"), "subtotal_price")
        if data.get("taxes_included"):
            spend -= _line_taxes(data)
    if status == "partially_paid":
        # Only the paid share earns (ledger.md): eligible spend x paid / total price.
        paid = total - _money(data.get("total_outstanding"), "total_outstanding")
        return paid_share(max(spend, Decimal(0)), paid, total)
    return max(spend, Decimal(0))


def _line_taxes(data: dict) -> Decimal:
    return sum(
        (
            _money(t.get("price"), "tax_lines.price")
            for item in objects(data.get("line_items"), "line_items")
            for t in objects(item.get("tax_lines"), "line_items.tax_lines")
        ),
        Decimal(0),
    )


def _line(item: dict) -> Line:
    quantity = _quantity(item.get("quantity"))
    price = _money(item.get("price"), "line_items.price") * quantity
    discount = _money(item.get("total_discount"), "line_items.total_discount")
    return Line(
        key=str(_opt_id(item.get("id"))),
        quantity=quantity,
        price=price - discount,
        # rewards.md compares product_id and variant_id with reward item ids.
        item_id=_opt_id(item.get("product_id")),
        variant_id=_opt_id(item.get("variant_id")),
    )


def _quantity(value) -> int:
    # Shopify counts items in whole numbers, but a JSON 1.0 or a "1.0" is the same count.
    quantity = parse_decimal(value, "line_items.quantity")
    if quantity < 0 or quantity != quantity.to_integral_value():
        raise PayloadError(f"line_items.quantity is not a whole number: {str(value)[:40]!r}", code="invalid_payload")
    return int(quantity)


def _money(value, field: str) -> Decimal:
    return parse_decimal(value, field)


def _text(data: dict, field: str, limit: int | None = None) -> str | None:
    return parse_text(data.get(field), field, limit=limit)


def _required_id(data: dict, field: str) -> str:
    value = _opt_id(data.get(field))
    if value is None:
        raise PayloadError(f"{field} is missing", code="invalid_payload")
    return value


def _opt_id(value) -> str | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (Decimal, float, dict, list)):
        raise PayloadError("an id must be an integer or a string", code="invalid_payload")
    text = str(value)
    if len(text) > ID_LENGTH or "\x00" in text:
        raise PayloadError(f"not a Shopify id: {text[:40]!r}", code="invalid_payload")
    return text
