"""Events to the merchant's own systems (events.md): written with the change that causes them, one delivery per
subscribed endpoint.

``emit`` is called inside the transaction of the change (a ledger entry, a
redemption redeemed, a tier reached, a member created or changed), so an
event exists exactly when its change committed. It fans out at once: one
``event_deliveries`` row per endpoint of the merchant that subscribes to the
type and is not disabled. A merchant without ``webhooks_out`` stores nothing.
After the commit, the relay the wiring installs (:func:`relay`) queues their
first attempts, whatever the channel that made the change (a webhook, the
POS, the partner API, the scheduler, a command); the scheduled sweep
(``event_deliveries.deliver_due``) sends what a queue outage kept back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Event, EventDelivery, EventEndpoint, Merchant
from services.runtime import Job, Runtime

log = logging.getLogger(__name__)

_WRITTEN = "punchcard.event_deliveries"  # session.info: deliveries this transaction wrote
_ENDPOINTS = "punchcard.event_endpoints"  # session.info: the merchant's endpoints, read once per transaction


def emit(
    session: Session, *, merchant_id: int, type: str, data: dict, occurred_at: datetime, member_id: str | None = None
) -> Event | None:
    """Write the event and its deliveries in the caller's transaction; None when no endpoint subscribes."""
    endpoints = [e for e, types in _endpoints(session, merchant_id) if types is None or type in types]
    if not endpoints:
        return None
    event = Event(
        merchant_id=merchant_id,
        member_id=member_id,
        type=type,
        data=data,
        occurred_at=occurred_at,
        created_at=occurred_at,
    )
    session.add(event)
    session.flush()
    deliveries = [
        EventDelivery(
            event_id=event.id,
            endpoint_id=endpoint.id,
            merchant_id=merchant_id,
            status="pending",
            attempts=0,
            next_attempt_at=occurred_at,
            created_at=occurred_at,
        )
        for endpoint in endpoints
    ]
    session.add_all(deliveries)
    session.flush()
    session.info.setdefault(_WRITTEN, []).extend(d.id for d in deliveries)
    return event


def _endpoints(session: Session, merchant_id: int) -> list[tuple[EventEndpoint, set[str] | None]]:
    """The merchant's enabled endpoints with the types each subscribes to (None: all)."""
    cache = session.info.setdefault(_ENDPOINTS, {})
    if merchant_id not in cache:
        merchant = session.get(Merchant, merchant_id)
        configured = {e["url"]: e.get("events") for e in (merchant.webhooks_out or [])} if merchant else {}
        rows = (
            session.execute(
                select(EventEndpoint).where(
                    EventEndpoint.merchant_id == merchant_id, EventEndpoint.disabled_at.is_(None)
                )
            ).scalars()
            if configured
            else ()
        )
        cache[merchant_id] = [
            (row, set(configured[row.url]) if configured[row.url] else None) for row in rows if row.url in configured
        ]
    return cache[merchant_id]


def relay(rt: Runtime) -> None:
    """Queue the first attempt of every delivery a transaction of ``rt.db`` wrote, once it commits (idempotent)."""
    factory = rt.db.sessionmaker
    if getattr(factory, "punchcard_relay", False):
        return
    factory.punchcard_relay = True

    def after_commit(session: Session) -> None:
        written = session.info.pop(_WRITTEN, ())
        session.info.pop(_ENDPOINTS, None)
        for delivery_id in written:
            try:
                rt.dispatcher.dispatch(Job.DELIVER_EVENT, delivery_id)
            except Exception:  # the change has committed: never fail it; the sweep sends the event
                log.warning("event delivery %s not queued; the scheduled sweep sends it", delivery_id, exc_info=True)
                return

    def after_rollback(session: Session) -> None:
        session.info.pop(_WRITTEN, None)
        session.info.pop(_ENDPOINTS, None)

    sa_event.listen(factory, "after_commit", after_commit)
    sa_event.listen(factory, "after_rollback", after_rollback)
