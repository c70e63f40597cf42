"""GDPR requests: record data requests, erase personal data on redaction (ledger amounts stay)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.identity import normalize_email, normalize_phone, region_for_currency
from loyalty.orders import Identity
from models import Member, Merchant, PrivacyRequest
from services.members import find_member

PERSONAL_FIELDS = ("external_user_id", "phone", "email", "email_normalized", "first_name", "last_name",
                   "birthday", "wallet_address", "shopify_customer_id")


def record(session: Session, merchant: Merchant, kind: str, payload: dict, now: datetime) -> PrivacyRequest:
    """Record a privacy request; only ids are kept, never the personal data it names."""
    customer = payload.get("customer") or {}
    member = find_member(session, merchant.id, _identity(merchant, customer))
    request = PrivacyRequest(merchant_id=merchant.id, kind=kind, received_at=now,
                             customer_id=str(customer["id"]) if customer.get("id") is not None else None,
                             member_id=member.id if member else None,
                             payload={"orders": [str(o) for o in payload.get("orders_requested")
                                                 or payload.get("orders_to_redact") or ()]})
    session.add(request)
    return request


def erase(member: Member, now: datetime) -> None:
    """Erase a member's personal data; balances and ledger history stay."""
    for name in PERSONAL_FIELDS:
        setattr(member, name, None)
    member.extra = {}
    member.status = "DELETED"
    member.updated_at = now


def redact_customer(session: Session, merchant: Merchant, payload: dict, now: datetime) -> str | None:
    """Erase the member behind a ``customers/redact`` payload; returns its id, if any."""
    request = record(session, merchant, "customer_redact", payload, now)
    if request.member_id:
        erase(session.get(Member, request.member_id), now)
    return request.member_id


def redact_shop(session: Session, merchant: Merchant, payload: dict, now: datetime) -> int:
    """Erase every member of the merchant (``shop/redact``); returns how many."""
    session.add(PrivacyRequest(merchant_id=merchant.id, kind="shop_redact", payload={}, received_at=now))
    members = session.execute(select(Member).where(Member.merchant_id == merchant.id)).scalars().all()
    for member in members:
        erase(member, now)
    return len(members)


def _identity(merchant: Merchant, customer: dict) -> Identity:
    return Identity(provider_customer_id=str(customer["id"]) if customer.get("id") is not None else None,
                    email=normalize_email(customer.get("email")),
                    phone=normalize_phone(customer.get("phone"), region_for_currency(merchant.currency)))
