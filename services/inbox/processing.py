"""Processing a stored delivery in the worker: route it to its provider's topic handler, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.common import PayloadError
from models import Delivery, Merchant
from models.db import POSTED_ENTRIES
from services import logs
from services.errors import PermanentFailure
from services.outbox import postings
from services.runtime import Runtime

log = logging.getLogger(__name__)
FINAL = ("processed", "failed", "ignored")
# Tries of one delivery: its job's first run and RQ's retries (workers/queues.py builds
# the Retry from this). A job the sweeper enqueues again starts a fresh RQ budget,
# so the cap is kept on the delivery's own count.
MAX_ATTEMPTS = 7
ERROR_LENGTH = 1000


@dataclass
class Outcome:
    """What a handler did: final status and follow-up jobs to enqueue after commit."""

    status: str = "processed"
    note: str | None = None
    follow_ups: list[tuple[str, tuple]] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a topic handler gets: the runtime, the processing transaction, the delivery and its merchant."""

    rt: Runtime
    session: Session
    merchant: Merchant
    delivery: Delivery
    now: datetime


Handler = Callable[[Context], Outcome]
Router = Callable[[str], Handler | None]  # a provider's topics; the wiring gives them to the runtime


def process(rt: Runtime, delivery_pk: int, *, final: bool = False) -> str:
    """Process one stored delivery exactly once; returns its status.

    Permanent problems (a payload we cannot use) mark the delivery failed with
    the reason at once. Anything else (a database error, a throttled third
    party, a bug) rolls the processing back and is counted on the delivery in
    a transaction of its own, then raised so that RQ retries the job; on the
    last attempt (``final``: RQ has no retry left, or ``MAX_ATTEMPTS`` are
    spent) the delivery is failed with the error instead.
    """
    logs.annotate(delivery_id=delivery_pk)
    try:
        return _process(rt, delivery_pk)
    except Exception as exc:
        status = _count_failed_attempt(rt, delivery_pk, exc, final=final)
        if status in FINAL:
            return status
        raise


def _process(rt: Runtime, delivery_pk: int) -> str:
    with rt.db.transaction() as session:
        delivery = locked(session, delivery_pk)
        if delivery is None or delivery.status in FINAL:
            return delivery.status if delivery else "missing"
        session.info[POSTED_ENTRIES] = []
        outcome = _run(rt, session, delivery, rt.clock())
        # Counted here, not before the handler: one UPDATE of the delivery at commit instead of two
        # (the savepoint would flush it first). A run that rolls back is counted by _count_failed_attempt.
        delivery.attempts += 1
        if outcome.status == "processed":
            # What the handler wrote for a loyalty provider goes out after this commit.
            outcome.follow_ups.extend(postings.follow_ups(session))
            outcome.note = "; ".join(filter(None, [outcome.note, *postings.notes_of(session)])) or None
        delivery.status, delivery.error, delivery.processed_at = outcome.status, outcome.note, rt.clock()
        # A replay posts nothing new (business keys); what the first run posted is kept.
        delivery.posted = [*(delivery.posted or []), *session.info.pop(POSTED_ENTRIES, [])]
    for job, args in outcome.follow_ups:
        rt.dispatcher.dispatch(job, *args)
    return outcome.status


def locked(session: Session, delivery_pk: int) -> Delivery | None:
    """The delivery, row-locked for this transaction (None when it is gone)."""
    return session.execute(select(Delivery).where(Delivery.id == delivery_pk).with_for_update()).scalar_one_or_none()


def _count_failed_attempt(rt: Runtime, delivery_pk: int, exc: Exception, *, final: bool) -> str | None:
    """Count the attempt the processing transaction rolled back, keep its error, fail it when it was the last.

    Returns the delivery's status, or None when nothing could be written (the
    database is down: RQ retries, and the sweeper recovers what RQ gives up on).
    """
    try:
        with rt.db.transaction() as session:
            delivery = locked(session, delivery_pk)
            if delivery is None or delivery.status in FINAL:
                return delivery.status if delivery else None  # another run finished it meanwhile
            delivery.attempts += 1
            note_failure(delivery, _describe(exc), final=final, now=rt.clock())
            status, attempts = delivery.status, delivery.attempts
    except Exception:
        log.warning("delivery %s: could not count its failed attempt", delivery_pk, exc_info=True)
        return None
    if status == "failed":
        log.error("delivery %s failed after %d attempts", delivery_pk, attempts, exc_info=exc)
    return status


def note_failure(delivery: Delivery, error: str, *, final: bool, now: datetime) -> None:
    """Keep ``error`` on a delivery whose ``attempts`` already count this one; fail it when that was the last."""
    if final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.processed_at = "failed", now
        delivery.error = f"gave up after {delivery.attempts} attempts: {error}"[:ERROR_LENGTH]
    else:
        delivery.error = f"attempt {delivery.attempts} failed, to be retried: {error}"[:ERROR_LENGTH]


def _describe(exc: BaseException) -> str:
    """One line naming an unexpected error: its class and message, without SQL statements or parameters."""
    # A database error's text carries the statement and its parameters (personal data): keep the driver's message.
    detail = getattr(exc, "orig", None) or exc
    lines = str(detail).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


def _run(rt: Runtime, session: Session, delivery: Delivery, now: datetime) -> Outcome:
    merchant = session.get(Merchant, delivery.merchant_id)
    logs.annotate(merchant=merchant.slug)
    route = rt.topics.get(delivery.provider)
    handler = route(delivery.topic) if route else None
    if handler is None:
        log.debug("ignoring %s topic %s", delivery.provider, delivery.topic)
        return Outcome(status="ignored", note=f"topic {delivery.topic} is not handled")
    postings.caused_by(session, delivery.id)  # a provider's later word on a posting is noted on this delivery
    try:
        with session.begin_nested():
            return handler(Context(rt, session, merchant, delivery, now))
    except (PayloadError, PermanentFailure) as exc:
        session.info[POSTED_ENTRIES] = []  # rolled back with the savepoint
        log.warning("delivery %s failed permanently: %s", delivery.id, exc.code)
        return Outcome(status="failed", note=f"{exc.code}: {exc}")
