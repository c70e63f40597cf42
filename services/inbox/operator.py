"""What an operator does with stored deliveries: list, show, replay, prune (``flask deliveries …``).

A replay resets a finished delivery (processed, failed or ignored) to
``received`` with a fresh attempt budget and processes it again. Processing
is idempotent by business keys (an order's account, a ledger entry's key), so
replaying a delivery that already posted posts nothing twice; one that failed
on a bug or an outage posts what it should have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from models import Delivery, LedgerEntry, Merchant
from services.errors import NotFound
from services.inbox import processing
from services.runtime import Job, Runtime

PRUNABLE = ("processed", "ignored")
BATCH = 1000


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as ``deliveries list`` shows it."""

    id: int
    merchant: str
    provider: str
    topic: str
    status: str
    attempts: int
    received_at: datetime
    error: str | None


@dataclass(frozen=True)
class Replayed:
    """What a replay did to one delivery: its status before and after, and what it posted this time."""

    id: int
    before: str
    status: str
    posted: list[str]


def find(
    rt: Runtime,
    *,
    status: str | None = None,
    merchant: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[DeliveryRow]:
    """Stored deliveries, newest first, filtered by status, merchant slug and ``received_at >= since``."""
    query = _filtered(select(Delivery, Merchant.slug).join(Merchant), status, merchant, since)
    query = query.order_by(Delivery.id.desc()).limit(limit)
    with rt.db.reader() as session:
        return [
            DeliveryRow(d.id, slug, d.provider, d.topic, d.status, d.attempts, d.received_at, d.error)
            for d, slug in session.execute(query)
        ]


def ids(rt: Runtime, *, status: str | None = None, since: datetime | None = None) -> list[int]:
    """The ids of the deliveries with ``status`` received since ``since``, oldest first (``replay --failed``)."""
    with rt.db.reader() as session:
        query = _filtered(select(Delivery.id).join(Merchant), status, None, since)
        return list(session.scalars(query.order_by(Delivery.id)))


def _filtered(query, status: str | None, merchant: str | None, since: datetime | None):
    if status:
        query = query.where(Delivery.status == status)
    if merchant:
        query = query.where(Merchant.slug == merchant)
    if since:
        query = query.where(Delivery.received_at >= since)
    return query


def detail(rt: Runtime, delivery_pk: int) -> dict:
    """One delivery: headers kept, body, status, error, attempts, and the ledger entries it posted."""
    with rt.db.reader() as session:
        found = session.execute(
            select(Delivery, Merchant.slug).join(Merchant).where(Delivery.id == delivery_pk)
        ).first()
        if found is None:
            raise NotFound(f"No delivery {delivery_pk}.", code="DELIVERY_NOT_FOUND")
        delivery, slug = found
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_(delivery.posted or []))).all()
    return {
        "id": delivery.id,
        "merchant": slug,
        "provider": delivery.provider,
        "topic": delivery.topic,
        "delivery_id": delivery.delivery_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "error": delivery.error,
        "received_at": delivery.received_at.isoformat(),
        "processed_at": delivery.processed_at.isoformat() if delivery.processed_at else None,
        "headers": delivery.headers,
        "body": delivery.body.decode("utf-8", "replace"),
        "posted": [_entry(e) for e in sorted(entries, key=lambda e: e.seq)],
    }


def _entry(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "member_id": entry.member_id,
        "type": entry.type,
        "status": entry.status,
        "points": entry.points,
        "business_key": entry.business_key,
    }


def replay(rt: Runtime, delivery_pk: int, *, enqueue: bool = False) -> Replayed:
    """Reset ``delivery_pk`` to ``received`` and process it again here (or, with ``enqueue``, on the queue)."""
    before = reset(rt, delivery_pk)
    if enqueue:
        rt.dispatcher.dispatch(Job.PROCESS_DELIVERY, delivery_pk)
        return Replayed(delivery_pk, before, "received", [])
    with rt.db.reader() as session:
        already = len(session.get(Delivery, delivery_pk).posted or [])
    status = processing.process(rt, delivery_pk)
    with rt.db.reader() as session:
        posted = (session.get(Delivery, delivery_pk).posted or [])[already:]
    return Replayed(delivery_pk, before, status, posted)


def reset(rt: Runtime, delivery_pk: int) -> str:
    """Make a finished delivery `received` again, with a fresh attempt budget; returns its status before."""
    with rt.db.transaction() as session:
        delivery = processing.locked(session, delivery_pk)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_pk}.", code="DELIVERY_NOT_FOUND")
        before = delivery.status
        if before in processing.FINAL:
            # A fresh attempt budget: the cap counts tries of one processing, and this is a new one.
            delivery.status, delivery.attempts, delivery.error, delivery.processed_at = "received", 0, None, None
        return before


def prune(
    rt: Runtime,
    older_than: timedelta,
    *,
    include_failed: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete processed and ignored deliveries received more than ``older_than`` ago; returns how many.

    Failed deliveries are kept (someone should look at them) unless ``include_failed``; a
    delivery still ``received`` is never deleted. Deleted ``BATCH`` rows per transaction, so a
    large backlog never holds one long lock; ``on_batch`` is told each batch's size.
    """
    statuses = (*PRUNABLE, "failed") if include_failed else PRUNABLE
    cutoff, deleted = rt.clock() - older_than, 0
    for batch in _batches(rt, cutoff, statuses):
        with rt.db.transaction() as session:
            deleted += session.execute(delete(Delivery).where(Delivery.id.in_(batch))).rowcount
        if on_batch:
            on_batch(len(batch))
    return deleted


def count_prunable(rt: Runtime, older_than: timedelta, *, include_failed: bool = False) -> int:
    """How many deliveries :func:`prune` would delete now (for a progress bar)."""
    statuses = (*PRUNABLE, "failed") if include_failed else PRUNABLE
    with rt.db.reader() as session:
        return session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.received_at < rt.clock() - older_than, Delivery.status.in_(statuses))
        )


def _batches(rt: Runtime, cutoff: datetime, statuses: tuple[str, ...]) -> Iterator[list[int]]:
    while True:
        with rt.db.reader() as session:
            batch = list(
                session.scalars(
                    select(Delivery.id)
                    .where(Delivery.received_at < cutoff, Delivery.status.in_(statuses))
                    .order_by(Delivery.id)
                    .limit(BATCH)
                )
            )
        if not batch:
            return
        yield batch
