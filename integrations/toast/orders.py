"""Toast orders (webhook ``details.order`` or Orders API) -> one ``loyalty`` Order per check.

Toast accounts each check on its own (spec "Toast"): the business key is
``toast:check:<check guid>``. Amounts arrive as JSON numbers; bodies are
parsed with ``parse_float=Decimal`` so prices stay exact, and ids stay exact
as Python ints or strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from integrations.common import NAME_LENGTH, PayloadError, clean_text, loads, parse_decimal, parse_time, usable_email  # noqa: F401  (part of this module's interface)
from loyalty.identity import normalize_email, normalize_phone
from loyalty.orders import Identity, Line, Order

EARNING_STATUSES = {"PAID", "CLOSED"}
# Selling or reloading a Toast gift card, or paying off a house account, is not
# a sale of food: the money is spent (and earns) later, or was spent earlier.
NON_SALE_TYPES = {"TOAST_CARD_SELL", "TOAST_CARD_RELOAD", "HOUSE_ACCOUNT_PAY_BALANCE"}
# A loyalty discount Toast voided (or is voiding) did not consume the reward.
VOIDED_DISCOUNT_STATES = {"VOID", "PENDING_VOID"}
GUID_LENGTH = 64  # Toast's guids have 36 characters; the check_guid columns hold 64


def envelope_order(envelope: dict) -> dict:
    """The ``Order`` inside a webhook envelope's ``details.order``."""
    details = envelope.get("details")
    order = details.get("order") if isinstance(details, dict) else None
    if not isinstance(order, dict):
        raise PayloadError("details.order is missing", code="invalid_payload")
    return order


def check_key(check_guid: str) -> str:
    """The ledger business key of a Toast check."""
    return f"toast:check:{check_guid}"


def parse_order(order_json: dict, *, region: str | None, fallback_time: datetime) -> list[Order]:
    """One accountable ``Order`` per check of a Toast order, in the order's check order."""
    checks = order_json.get("checks")
    if not isinstance(checks, list):
        raise PayloadError("order.checks is missing", code="invalid_payload")
    modified = parse_time(order_json.get("modifiedDate")) or fallback_time
    return [
        parse_check(check, region=region, fallback_time=modified, order_json=order_json)
        for check in checks
        if isinstance(check, dict)
    ]


def parse_check(
    check_json: dict, *, region: str | None, fallback_time: datetime, order_json: dict | None = None
) -> Order:
    """The accountable state of one check; ``order_json`` brings the order's void/delete flags.

    Also fits the check of a Toast Loyalty Integration transaction (same schema,
    no order around it and no ``customer``).
    """
    guid = _required_str(check_json, "guid", "check.guid")
    cancelled = _gone(check_json) or _gone(order_json or {})
    paid = str(check_json.get("paymentStatus") or "").upper() in EARNING_STATUSES and not cancelled
    lines = tuple(parse_lines(check_json))
    return Order(
        key=check_key(guid),
        modified_at=parse_time(check_json.get("modifiedDate")) or fallback_time,
        eligible_spend=eligible_spend(lines) if paid else Decimal(0),
        paid=paid,
        cancelled=cancelled,
        identity=parse_identity(check_json, region=region),
        lines=lines,
    )


def parse_lines(check_json: dict) -> list[Line]:
    """One ``Line`` per top-level selection; modifiers stay inside their selection's price."""
    selections = check_json.get("selections") or []
    if not isinstance(selections, list):
        raise PayloadError("check.selections is not a list", code="invalid_payload")
    return [_line(selection, index) for index, selection in enumerate(selections) if isinstance(selection, dict)]


def parse_loyalty_check(check_json: dict, region: str | None = None) -> list[Line]:
    """The lines of ``checkTransactionInformation.check`` in a Toast loyalty transaction.

    Same Check/Selection schema as the Orders API, so the same parser; ``region``
    is accepted for symmetry with ``parse_check`` (a loyalty check has no
    customer phone to normalize). Use ``parse_check`` for the whole Order.
    """
    return parse_lines(check_json)


def eligible_spend(lines) -> Decimal:
    """Sum of the net ``price`` of the lines that are neither voided nor deferred (gift cards)."""
    return sum((line.price for line in lines if not line.voided and not line.deferred), Decimal(0))


def parse_identity(check_json: dict, *, region: str | None) -> Identity:
    """Who the check belongs to: its ``customer`` and its ``appliedLoyaltyInfo.loyaltyIdentifier``."""
    customer = check_json.get("customer")
    customer = customer if isinstance(customer, dict) else {}
    loyalty = check_json.get("appliedLoyaltyInfo")
    member_id = loyalty.get("loyaltyIdentifier") if isinstance(loyalty, dict) else None
    return Identity(
        email=usable_email(normalize_email(_text(customer.get("email")))),
        phone=_phone(customer, region),
        first_name=_name(customer.get("firstName")),
        last_name=_name(customer.get("lastName")),
        member_id=_text(member_id),
    )


def loyalty_references(check_json: dict) -> list[str]:
    """``loyaltyDetails.referenceId`` of loyalty discounts in force on the check and its selections.

    Discounts Toast voided, and discounts on voided selections, are left out:
    the reward they name was not consumed. Order of appearance, no duplicates.
    """
    discounts = list(_discounts(check_json))
    for selection in _list(check_json.get("selections")):
        if isinstance(selection, dict) and not selection.get("voided"):
            discounts.extend(_discounts(selection))
    references = [_reference(discount) for discount in discounts]
    return list(dict.fromkeys(ref for ref in references if ref))


def needs_lookup(order_json: dict) -> bool:
    """True when a check's customer has an email but no phone or names (webhooks may omit them)."""
    for check in _list(order_json.get("checks")):
        customer = check.get("customer") if isinstance(check, dict) else None
        if not isinstance(customer, dict) or not _text(customer.get("email")):
            continue
        if not all(_text(customer.get(field)) for field in ("phone", "firstName", "lastName")):
            return True
    return False


def _line(selection: dict, index: int) -> Line:
    guid = _text(selection.get("guid"))
    return Line(
        # A selection always has a guid in Toast's responses; the index keeps
        # keys unique should a hand-built loyalty check omit one.
        key=guid or f"selection:{index}",
        quantity=_number(selection.get("quantity"), "selection.quantity", default=Decimal(1)),
        price=_number(selection.get("price"), "selection.price"),
        item_id=_config_id(selection.get("item")),
        group_id=_config_id(selection.get("itemGroup")),
        item_guid=_config_guid(selection.get("item")),
        group_guid=_config_guid(selection.get("itemGroup")),
        voided=bool(selection.get("voided")),
        deferred=bool(selection.get("deferred")) or _text(selection.get("selectionType")) in NON_SALE_TYPES,
    )


def _list(value) -> list:
    """A JSON array, or nothing: what only adds to a check (discounts, look-up hints) is skipped when malformed."""
    return value if isinstance(value, list) else []


def _gone(entity: dict) -> bool:
    return bool(entity.get("voided")) or bool(entity.get("deleted"))


def _discounts(entity: dict):
    for discount in _list(entity.get("appliedDiscounts")):
        if isinstance(discount, dict) and _text(discount.get("processingState")) not in VOIDED_DISCOUNT_STATES:
            yield discount


def _reference(discount: dict) -> str | None:
    details = discount.get("loyaltyDetails")
    return _text(details.get("referenceId")) if isinstance(details, dict) else None


def _phone(customer: dict, region: str | None) -> str | None:
    phone = _text(customer.get("phone"))
    country = "".join(ch for ch in str(customer.get("phoneCountryCode") or "") if ch.isdigit())
    if phone and country and not phone.startswith("+"):
        # Toast may keep the country code apart; a phone that already holds it
        # fails this way and is read with the merchant's region below.
        international = normalize_phone(f"+{country}{phone}", None)
        if international:
            return international
    return normalize_phone(phone, region)


def _config_id(reference) -> str | None:
    """``multiLocationId`` of a ConfigReference, the id shared by all locations of a group."""
    if not isinstance(reference, dict):
        return None
    value = reference.get("multiLocationId")
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        raise PayloadError("multiLocationId must be an integer or a string", code="invalid_payload")
    return str(value)


def _config_guid(reference) -> str | None:
    """The location's own guid of a ConfigReference, matched when no multiLocationId is given."""
    return _text(reference.get("guid")) if isinstance(reference, dict) else None


def _number(value, field: str, *, default: Decimal = Decimal(0)) -> Decimal:
    return parse_decimal(value, field, default=default)


def _required_str(data: dict, key: str, field: str) -> str:
    value = _text(data.get(key))
    if value is None:
        raise PayloadError(f"{field} is missing", code="invalid_payload")
    if len(value) > GUID_LENGTH:
        raise PayloadError(f"{field} is not a Toast guid: {value[:40]!r}", code="invalid_payload")
    return value


def _name(value) -> str | None:
    name = _text(value)
    return name[:NAME_LENGTH] if name else None


def _text(value) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return clean_text(str(value)) or None
