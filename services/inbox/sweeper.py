"""The sweeper: deliveries stored but never processed (Redis down after the commit, a killed worker) are queued again.

Scheduled every minute (``workers/cron.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from models import Delivery
from services.inbox.processing import MAX_ATTEMPTS, locked, note_failure
from services.runtime import Job, Runtime

log = logging.getLogger(__name__)


def sweep(rt: Runtime, *, older_than: timedelta = timedelta(minutes=2), limit: int = 1000) -> int:
    """Re-enqueue stored deliveries still ``received`` after ``older_than``; returns how many were enqueued.

    Every such delivery is looked at, ``limit`` rows at a time in id order, so
    no block of stuck rows hides the ones behind it. A delivery whose job is
    still live in RQ (a backlog, a retry scheduled for later) is left alone.
    One whose job RQ gave up on with no word on the delivery (the worker was
    killed, or the database was down at every attempt) counts one attempt and
    goes back to the queue, or is failed once ``MAX_ATTEMPTS`` are spent.
    """
    cutoff = rt.clock() - older_than
    enqueued, after = 0, 0
    while True:
        page = _due(rt, cutoff, after, limit)
        enqueued += sum(_sweep_one(rt, pk) for pk in page)
        if len(page) < limit:
            break
        after = page[-1]
    if enqueued:
        log.info("sweeper re-enqueued %d stored deliveries", enqueued)
    return enqueued


def _due(rt: Runtime, cutoff: datetime, after: int, limit: int) -> list[int]:
    with rt.db.reader() as session:
        return list(
            session.execute(
                select(Delivery.id)
                .where(
                    Delivery.status == "received",
                    Delivery.received_at < cutoff,
                    Delivery.attempts < MAX_ATTEMPTS,
                    Delivery.id > after,
                )
                .order_by(Delivery.id)
                .limit(limit)
            ).scalars()
        )


def _sweep_one(rt: Runtime, delivery_pk: int) -> int:
    if rt.dispatcher.pending(Job.PROCESS_DELIVERY, delivery_pk):
        return 0
    given_up = rt.dispatcher.failure(Job.PROCESS_DELIVERY, delivery_pk)
    if given_up is not None and _count_given_up(rt, delivery_pk, given_up) != "received":
        return 0
    rt.dispatcher.dispatch(Job.PROCESS_DELIVERY, delivery_pk)
    return 1


def _count_given_up(rt: Runtime, delivery_pk: int, error: str) -> str | None:
    """RQ spent a job's retries and no attempt of it reached the delivery: count one, with RQ's last error."""
    with rt.db.transaction() as session:
        delivery = locked(session, delivery_pk)
        if delivery is None or delivery.status != "received":
            return delivery.status if delivery else None
        delivery.attempts += 1
        note_failure(delivery, f"the queue gave up on its job: {error}", final=False, now=rt.clock())
        status = delivery.status
    log.warning(
        "delivery %s: RQ gave up on its job unrecorded (%s); %s",
        delivery_pk,
        error,
        "failed for good" if status == "failed" else "enqueued again",
    )
    return status
