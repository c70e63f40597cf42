"""Payloads shaped like Toast's documented Orders API / webhook / loyalty JSON, and signing helpers.

Money is given as Decimal (what ``integrations.toast.orders.loads`` yields);
``toast_body`` writes it back as exact JSON numbers, as Toast sends them.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

from integrations.toast.signature import sign

RESTAURANT_GUID = "e1c8e9b4-2c8a-4d7e-9a51-5f3c1d2b7a10"
WEBHOOK_SECRET = "test-toast-webhook-secret"
TIMESTAMP = "2026-06-01T14:00:00.123+0000"
MODIFIED = "2026-06-01T13:59:58.000+0000"
EPOCH = "1970-01-01T00:00:00.000+0000"  # Toast's deletedDate when not deleted
_DECIMAL_MARK = "__toast_decimal__"


def _guid() -> str:
    return str(uuid.uuid4())


def toast_reference(multi_location_id, entity_type: str) -> dict:
    """A ConfigReference (menu item, menu group) with its multiLocationId."""
    return {"guid": _guid(), "entityType": entity_type, "multiLocationId": multi_location_id}


def toast_discount(
    reference_id: str | None = None,
    *,
    amount: str = "0.00",
    name: str = "Loyalty reward",
    processing_state: str | None = "APPLIED",
) -> dict:
    """An AppliedDiscount; with ``reference_id`` it is a loyalty program discount (vendor INTEGRATION)."""
    discount = {
        "guid": _guid(),
        "entityType": "AppliedDiscount",
        "name": name,
        "discountAmount": Decimal(amount),
        "nonTaxDiscountAmount": Decimal(amount),
        "discount": {"guid": _guid(), "entityType": "Discount"},
        "discountType": "FIXED",
        "processingState": None,
        "loyaltyDetails": None,
    }
    if reference_id is not None:
        discount["processingState"] = processing_state
        discount["loyaltyDetails"] = {"vendor": "INTEGRATION", "referenceId": reference_id}
    return discount


def toast_selection(
    guid: str | None = None,
    *,
    price: str = "12.50",
    quantity="1",
    name: str = "Burger",
    item_id="400000000000000101",
    group_id="400000000000000010",
    voided: bool = False,
    deferred: bool = False,
    selection_type: str | None = "NONE",
    modifiers: list | None = None,
    discounts: list | None = None,
    tax: str = "1.10",
) -> dict:
    """A Selection; ``price`` is Toast's net price (modifiers included, discounts taken off)."""
    price_value = Decimal(price)
    return {
        "guid": guid or _guid(),
        "entityType": "MenuItemSelection",
        "displayName": name,
        "item": toast_reference(item_id, "MenuItem"),
        "itemGroup": toast_reference(group_id, "MenuGroup"),
        "quantity": Decimal(str(quantity)),
        "unitOfMeasure": "NONE",
        "selectionType": selection_type,
        "preDiscountPrice": price_value,
        "price": price_value,
        "receiptLinePrice": price_value,
        "tax": Decimal(tax),
        "voided": voided,
        "voidDate": None,
        "deferred": deferred,
        "modifiers": modifiers or [],
        "appliedDiscounts": discounts or [],
        "fulfillmentStatus": "SENT",
        "taxInclusion": "NOT_INCLUDED",
        "createdDate": "2026-06-01T13:40:00.000+0000",
        "modifiedDate": MODIFIED,
    }


def toast_modifier(price: str = "1.50", name: str = "Bacon") -> dict:
    """A modifier Selection, nested in its parent selection's ``modifiers``."""
    modifier = toast_selection(price=price, name=name, item_id="400000000000000202", group_id=None)
    modifier["entityType"] = "MenuItemSelection"
    modifier["optionGroup"] = toast_reference("400000000000000020", "MenuOptionGroup")
    return modifier


def toast_customer(
    email: str | None = "ada@example.com",
    *,
    phone: str | None = "415-555-0134",
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
    phone_country_code: str | None = None,
) -> dict:
    """A check's Customer."""
    return {
        "guid": _guid(),
        "entityType": "Customer",
        "email": email,
        "phone": phone,
        "phoneCountryCode": phone_country_code,
        "firstName": first_name,
        "lastName": last_name,
    }


def toast_check(
    guid: str | None = None,
    *,
    selections: list | None = None,
    payment_status: str = "PAID",
    customer: dict | None = None,
    loyalty_identifier: str | None = None,
    discounts: list | None = None,
    voided: bool = False,
    deleted: bool = False,
    modified_date: str | None = MODIFIED,
) -> dict:
    """A Check with one 12.50 selection by default; tax, tip and service charge are there to be ignored."""
    selections = selections if selections is not None else [toast_selection()]
    amount = sum((s["price"] for s in selections if not s["voided"]), Decimal(0))
    check = {
        "guid": guid or _guid(),
        "entityType": "Check",
        "displayNumber": "12",
        "openedDate": "2026-06-01T13:40:00.000+0000",
        "modifiedDate": modified_date,
        "closedDate": None,
        "paidDate": "2026-06-01T13:59:00.000+0000",
        "deleted": deleted,
        "deletedDate": EPOCH,
        "voided": voided,
        "paymentStatus": payment_status,
        "selections": selections,
        "customer": customer,
        "appliedLoyaltyInfo": None,
        "appliedDiscounts": discounts or [],
        "taxExempt": False,
        "appliedServiceCharges": [
            {
                "guid": _guid(),
                "entityType": "AppliedServiceCharge",
                "name": "Service",
                "chargeAmount": Decimal("2.00"),
                "gratuity": False,
            }
        ],
        "amount": amount + Decimal("2.00"),
        "taxAmount": Decimal("1.10"),
        "totalAmount": amount + Decimal("3.10"),
        "payments": [
            {
                "guid": _guid(),
                "entityType": "OrderPayment",
                "type": "CREDIT",
                "amount": amount + Decimal("3.10"),
                "tipAmount": Decimal("3.00"),
                "paymentStatus": "CAPTURED",
            }
        ],
    }
    if loyalty_identifier is not None:
        check["appliedLoyaltyInfo"] = {
            "guid": _guid(),
            "entityType": "AppliedLoyaltyInfo",
            "vendor": "INTEGRATION",
            "loyaltyIdentifier": loyalty_identifier,
            "maskedLoyaltyIdentifier": "*" * 8 + loyalty_identifier[-4:],
        }
    return check


def toast_order(
    guid: str | None = None,
    *,
    checks: list | None = None,
    voided: bool = False,
    deleted: bool = False,
    modified_date: str | None = MODIFIED,
) -> dict:
    """An Order with one PAID check by default."""
    return {
        "guid": guid or _guid(),
        "entityType": "Order",
        "externalId": None,
        "source": "In Store",
        "openedDate": "2026-06-01T13:40:00.000+0000",
        "createdDate": "2026-06-01T13:40:00.000+0000",
        "modifiedDate": modified_date,
        "businessDate": 20260601,
        "displayNumber": "12",
        "voided": voided,
        "voidDate": None,
        "deleted": deleted,
        "deletedDate": EPOCH,
        "diningOption": {"guid": _guid(), "entityType": "DiningOption"},
        "approvalStatus": "APPROVED",
        "checks": checks if checks is not None else [toast_check()],
        "createdInTestMode": False,
    }


def toast_envelope(
    order: dict,
    restaurant_guid: str = RESTAURANT_GUID,
    *,
    event_guid: str | None = None,
    timestamp: str = TIMESTAMP,
    event_type: str = "order_updated",
) -> dict:
    """The webhook envelope around an order update."""
    return {
        "timestamp": timestamp,
        "eventCategory": "orders",
        "eventType": event_type,
        "guid": event_guid or _guid(),
        "details": {"restaurantGuid": restaurant_guid, "order": order},
    }


def toast_loyalty_transaction(
    check: dict,
    transaction_type: str = "LOYALTY_ACCRUE",
    *,
    order_guid: str | None = None,
    redemptions: list | None = None,
) -> dict:
    """A Toast Loyalty Integration request body carrying ``checkTransactionInformation.check``."""
    info = check.get("appliedLoyaltyInfo") or {}
    return {
        "toastTransactionType": transaction_type,
        "checkTransactionInformation": {
            "loyaltyIdentifier": info.get("loyaltyIdentifier"),
            "orderGuid": order_guid or _guid(),
            "check": check,
            "redemptions": redemptions or [],
        },
    }


def toast_body(payload) -> bytes:
    """The raw JSON bytes, Decimals written as exact numbers (never via float)."""
    text = json.dumps(payload, default=_mark_decimal)
    return re.sub(f'"{_DECIMAL_MARK}([^"]*)"', r"\1", text).encode()


def _mark_decimal(value):
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def toast_headers(
    body: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: str = TIMESTAMP,
    restaurant_guid: str = RESTAURANT_GUID,
    attempt: int = 1,
) -> dict:
    """Headers of a signed Toast webhook delivery (``timestamp`` must be the envelope's)."""
    return {
        "Toast-Signature": sign(body, timestamp, secret),
        "Toast-Restaurant-External-ID": restaurant_guid,
        "Toast-Attempt-Number": str(attempt),
        "Content-Type": "application/json",
    }
