"""GDPR requests: record data requests, export a member's data, erase personal data on redaction (ledger stays)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text, cast, literal, or_, select, update
from sqlalchemy.orm import Session, object_session

from integrations.shopify.orders import PayloadError, loads, parse_privacy_request
from loyalty.identity import region_for_currency
from models import Delivery, LedgerEntry, Member, Merchant, PrivacyRequest
from services.errors import BadRequest, NotFound
from services.inbox.processing import FINAL
from services.members import announce
from services.members.lookup import find_member
from services.runtime import Runtime

PERSONAL_FIELDS = (
    "external_user_id",
    "phone",
    "email",
    "email_normalized",
    "first_name",
    "last_name",
    "birthday",
    "wallet_address",
    "shopify_customer_id",
)
EXPORTED_FIELDS = tuple(name for name in PERSONAL_FIELDS if name != "email_normalized")
BALANCES = ("points", "pending_points", "held_points", "lifetime_earned")
ENTRY_FIELDS = (
    "id",
    "type",
    "status",
    "channel",
    "points",
    "shortfall",
    "reference",
    "reverses_id",
    "created_at",
    "activates_at",
    "expires_at",
)
# What a redacted delivery body becomes: still a JSON object, naming no one.
REDACTED_BODY = b'{"redacted": true}'
# Their bodies name the customer and are never needed once their handler has read them.
PRIVACY_TOPICS = ("customers/data_request", "customers/redact")


def record(session: Session, merchant: Merchant, kind: str, payload: dict, now: datetime) -> PrivacyRequest:
    """Record a privacy request; only ids are kept, never the personal data it names."""
    identity, orders = parse_privacy_request(payload, region=region_for_currency(merchant.currency))
    member = find_member(session, merchant.id, identity)
    request = PrivacyRequest(
        merchant_id=merchant.id,
        kind=kind,
        received_at=now,
        customer_id=identity.provider_customer_id,
        member_id=member.id if member else None,
        payload={"orders": list(orders)},
    )
    session.add(request)
    return request


def export_member(
    rt: Runtime, *, merchant_slug: str, customer_id: str | None = None, member_id: str | None = None
) -> dict:
    """A member's personal fields, balances and ledger entries, JSON-safe (answers a data request).

    The member is named by exactly one of its Shopify ``customer_id`` or our
    ``member_id``; ``NotFound`` when the merchant or the member is absent.
    """
    if (customer_id is None) == (member_id is None):
        raise BadRequest("Give exactly one of customer_id or member_id.", code="MEMBER_SELECTOR_REQUIRED")
    column, value = (
        (Member.shopify_customer_id, str(customer_id)) if customer_id is not None else (Member.id, member_id)
    )
    with rt.db.reader() as session:
        member = session.execute(
            select(Member)
            .join(Merchant, Merchant.id == Member.merchant_id)
            .where(Merchant.slug == merchant_slug, column == value)
        ).scalar_one_or_none()
        if member is None:
            raise NotFound("No program membership matches.", code="PROGRAM_MEMBERSHIP_NOT_FOUND")
        entries = (
            session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member.id).order_by(LedgerEntry.seq))
            .scalars()
            .all()
        )
        return {
            "merchant": merchant_slug,
            "member": {
                "id": member.id,
                "status": member.status,
                "tier": member.tier,
                **{name: getattr(member, name) for name in EXPORTED_FIELDS},
                "extra": member.extra or {},
                "created_at": _iso(member.created_at),
                "updated_at": _iso(member.updated_at),
            },
            "balances": {name: getattr(member, name) for name in BALANCES},
            "ledger": [{name: _iso(getattr(entry, name)) for name in ENTRY_FIELDS} for entry in entries],
        }


def erase(member: Member, now: datetime) -> None:
    """Erase a member's personal data; balances and ledger history stay (announced as ``membership.updated``)."""
    for name in PERSONAL_FIELDS:
        setattr(member, name, None)
    member.extra = {}
    member.status = "DELETED"
    member.updated_at = now
    announce.updated(object_session(member), member, now)


def redact_customer(session: Session, merchant: Merchant, payload: dict, now: datetime) -> str | None:
    """Erase the member behind a ``customers/redact`` payload and the stored deliveries naming them.

    Returns the member's id, if any.
    """
    request = record(session, merchant, "customer_redact", payload, now)
    if request.member_id:
        erase(session.get(Member, request.member_id), now)
    redact_deliveries(session, merchant, request.customer_id, set(request.payload["orders"]))
    return request.member_id


def redact_shop(session: Session, merchant: Merchant, payload: dict, now: datetime) -> int:
    """Erase every member of the merchant and its stored Shopify bodies (``shop/redact``); returns how many members."""
    session.add(PrivacyRequest(merchant_id=merchant.id, kind="shop_redact", payload={}, received_at=now))
    members = session.execute(select(Member).where(Member.merchant_id == merchant.id)).scalars().all()
    for member in members:
        erase(member, now)
    session.execute(
        update(Delivery)
        .where(
            Delivery.merchant_id == merchant.id,
            Delivery.provider == "shopify",
            or_(Delivery.status.in_(FINAL), Delivery.topic.in_(PRIVACY_TOPICS)),
        )
        .values(body=REDACTED_BODY)
        .execution_options(synchronize_session="fetch")
    )
    return len(members)


def redact_deliveries(session: Session, merchant: Merchant, customer_id: str | None, order_ids: set[str]) -> int:
    """Replace the stored bodies of the merchant's Shopify deliveries about this customer or these orders.

    Deliveries still waiting for their job keep their body (they are processed
    as new data, like any later order), except privacy requests. Returns how many.
    """
    tokens = {token for token in (customer_id, *order_ids) if token}
    if not tokens:
        return 0
    # A textual pre-filter in SQL: only bodies containing an id are loaded; their JSON decides.
    candidates = (
        session.execute(
            select(Delivery).where(
                Delivery.merchant_id == merchant.id,
                Delivery.provider == "shopify",
                or_(Delivery.status.in_(FINAL), Delivery.topic.in_(PRIVACY_TOPICS)),
                or_(*(_body_contains(session, token) for token in tokens)),
            )
        )
        .scalars()
        .all()
    )
    redacted = 0
    for delivery in candidates:
        if _names(delivery, customer_id, order_ids):
            delivery.body = REDACTED_BODY
            redacted += 1
    return redacted


def _body_contains(session: Session, token: str):
    # PostgreSQL matches bytea against bytea natively; SQLite's LIKE ignores BLOBs unless cast to text.
    if session.get_bind().dialect.name == "sqlite":
        return cast(Delivery.body, Text).like(f"%{token}%")
    return Delivery.body.op("LIKE")(literal(f"%{token}%".encode(), LargeBinary))


def _names(delivery: Delivery, customer_id: str | None, order_ids: set[str]) -> bool:
    """True when the delivery's payload is about the customer or one of the orders."""
    try:
        data = loads(delivery.body)
    except PayloadError:
        return False
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    if delivery.topic.startswith("orders/"):
        return str(data.get("id")) in order_ids or _same(customer.get("id"), customer_id)
    if delivery.topic.startswith("refunds/"):
        return str(data.get("order_id")) in order_ids
    if delivery.topic in ("customers/create", "customers/update"):
        return _same(data.get("id"), customer_id)
    return _same(customer.get("id"), customer_id)


def _same(value, customer_id: str | None) -> bool:
    return customer_id is not None and value is not None and str(value) == customer_id


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value
