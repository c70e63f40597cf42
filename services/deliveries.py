"""Processing a stored delivery in the worker, and sweeping up deliveries that never reached the queue."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.common import PayloadError
from models import Delivery, Merchant
from services.errors import PermanentFailure
from services.runtime import Runtime

log = logging.getLogger(__name__)
FINAL = ("processed", "failed", "ignored")


@dataclass
class Outcome:
    """What a handler did: final status and follow-up jobs to enqueue after commit."""

    status: str = "processed"
    note: str | None = None
    follow_ups: list[tuple[str, tuple]] = field(default_factory=list)


Handler = Callable[[Session, Merchant, Delivery, datetime], Outcome]
HANDLERS: dict[str, Callable[[str], Handler | None]] = {}


def register_handlers(provider: str, route: Callable[[str], Handler | None]) -> None:
    """Register a provider's topic router (topic -> handler, None to ignore the topic)."""
    HANDLERS[provider] = route


def process(rt: Runtime, delivery_pk: int) -> str:
    """Process one stored delivery exactly once; returns its final status.

    Permanent problems (a payload we cannot use) mark the delivery failed with
    the reason; transient ones (database errors) propagate so RQ retries.
    """
    with rt.db.transaction() as session:
        delivery = session.execute(select(Delivery).where(Delivery.id == delivery_pk).with_for_update()).scalar_one_or_none()
        if delivery is None or delivery.status in FINAL:
            return delivery.status if delivery else "missing"
        outcome = _run(session, delivery, rt.clock())
        delivery.status, delivery.error, delivery.processed_at = outcome.status, outcome.note, rt.clock()
    for job, args in outcome.follow_ups:
        rt.dispatcher.dispatch(job, *args)
    return outcome.status


def _run(session: Session, delivery: Delivery, now: datetime) -> Outcome:
    delivery.attempts += 1
    merchant = session.get(Merchant, delivery.merchant_id)
    route = HANDLERS.get(delivery.provider)
    handler = route(delivery.topic) if route else None
    if handler is None:
        log.debug("ignoring %s topic %s", delivery.provider, delivery.topic)
        return Outcome(status="ignored", note=f"topic {delivery.topic} is not handled")
    try:
        with session.begin_nested():
            return handler(session, merchant, delivery, now)
    except (PayloadError, PermanentFailure) as exc:
        log.warning("delivery %s failed permanently: %s", delivery.id, exc.reason)
        return Outcome(status="failed", note=f"{exc.reason}: {exc}")


def sweep(rt: Runtime, *, older_than: timedelta = timedelta(minutes=2), limit: int = 1000) -> int:
    """Re-enqueue stored deliveries that are still unprocessed after ``older_than``.

    A delivery whose job is still alive in the queue (a long backlog) is left
    alone. Returns how many were enqueued.
    """
    cutoff = rt.clock() - older_than
    with rt.db.reader() as session:
        pks = session.execute(select(Delivery.id).where(Delivery.status == "received", Delivery.received_at < cutoff)
                              .order_by(Delivery.id).limit(limit)).scalars().all()
    enqueued = 0
    for pk in pks:
        if not rt.dispatcher.pending("process_delivery", pk):
            rt.dispatcher.dispatch("process_delivery", pk)
            enqueued += 1
    if enqueued:
        log.info("sweeper re-enqueued %d stored deliveries", enqueued)
    return enqueued
