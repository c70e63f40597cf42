"""What ``flask events list`` and ``flask events replay`` do (operations.md): the deliveries of events, and again.

A replay gives a delivery a fresh attempt budget (``pending``, 0 attempts,
due now) and makes its attempt in the command, so the operator sees the
outcome at once; ``enqueue`` hands it to the workers instead. The receiver
dedupes on ``webhook-id``, which a replay keeps: it is the same event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from models import Event, EventDelivery, EventEndpoint, Merchant
from services.errors import BadRequest, Conflict, NotFound
from services.outbox import event_deliveries
from services.runtime import Job, Runtime

STATUSES = ("pending", "sending", "delivered", "failed")


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery of one event to one endpoint."""

    id: int
    merchant: str
    event_id: str
    type: str
    url: str
    status: str
    attempts: int
    last_status: int | None
    error: str | None
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None


def list_deliveries(
    rt: Runtime,
    *,
    status: str | None = None,
    merchant: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[DeliveryRow]:
    """The newest deliveries first, by status, merchant slug and creation time."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="INVALID_STATUS")
    query = (
        select(EventDelivery, Event, EventEndpoint.url, Merchant.slug)
        .join(Event, Event.id == EventDelivery.event_id)
        .join(EventEndpoint, EventEndpoint.id == EventDelivery.endpoint_id)
        .join(Merchant, Merchant.id == EventDelivery.merchant_id)
        .order_by(EventDelivery.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(EventDelivery.status == status)
    if merchant:
        query = query.where(Merchant.slug == merchant)
    if since:
        query = query.where(EventDelivery.created_at >= since)
    with rt.db.reader() as session:
        return [_row(*found) for found in session.execute(query)]


def _row(delivery: EventDelivery, event: Event, url: str, slug: str) -> DeliveryRow:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return DeliveryRow(
        delivery.id,
        slug,
        event.public_id,
        event.type,
        url,
        delivery.status,
        delivery.attempts,
        delivery.last_status,
        delivery.error,
        iso(delivery.created_at),
        iso(delivery.next_attempt_at),
        iso(delivery.delivered_at),
    )


def failed_ids(rt: Runtime, merchant: str | None = None) -> list[int]:
    """The ids of every failed delivery (of one merchant), oldest first."""
    query = select(EventDelivery.id).where(EventDelivery.status == "failed").order_by(EventDelivery.id)
    if merchant:
        query = query.join(Merchant, Merchant.id == EventDelivery.merchant_id).where(Merchant.slug == merchant)
    with rt.db.reader() as session:
        return list(session.scalars(query))


def replay(rt: Runtime, delivery_id: int, *, enqueue: bool = False) -> str:
    """Make a delivery due again with a fresh attempt budget, then attempt it; returns its status afterwards."""
    with rt.db.transaction() as session:
        delivery = session.get(EventDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            raise NotFound(f"No event delivery {delivery_id}.", code="EVENT_DELIVERY_NOT_FOUND")
        if session.get(EventEndpoint, delivery.endpoint_id).disabled_at is not None:
            raise Conflict(
                f"Event delivery {delivery_id}: its endpoint is disabled; a merchants sync enables it again.",
                code="ENDPOINT_DISABLED",
            )
        if delivery.status == "sending" and delivery.lease_until and delivery.lease_until > rt.clock():
            return "sending"  # an attempt is being made right now
        delivery.status, delivery.attempts, delivery.error = "pending", 0, None
        delivery.next_attempt_at, delivery.lease_until = rt.clock(), None
    if enqueue:
        rt.dispatcher.dispatch(Job.DELIVER_EVENT, delivery_id)
        return "pending"
    return event_deliveries.deliver(rt, delivery_id)
