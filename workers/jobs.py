"""The RQ job functions. Each takes JSON-safe ids and calls one service."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TypeVar

from rq import get_current_job

from services.errors import RetryLater
from services.inbox import processing, sweeper
from services.ledger import schedule as ledger_schedule
from services.outbox import event_deliveries
from services.programs import sender, upkeep
from services.runtime import current
from services.shopify import tagging
from services.toast import reconciliation

F = TypeVar("F", bound=Callable)


def honours_retry_after(func: F) -> F:
    """Make a retried job's next RQ retry wait at least what a throttled third party asked (``RetryLater``)."""

    @functools.wraps(func)
    def job(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RetryLater as exc:
            _respect_retry_after(exc.retry_after)
            raise

    job.honours_retry_after = True
    return job  # type: ignore[return-value]


@honours_retry_after
def process_delivery(delivery_pk: int) -> str:
    """Process one stored webhook delivery; on RQ's last attempt a failure fails the delivery for good."""
    return processing.process(current(), delivery_pk, final=_last_attempt())


@honours_retry_after
def tag_shopify_customer(member_id: str) -> str:
    """Tag a wallet-holding member's Shopify customer; a throttled call waits what Shopify asks."""
    return tagging.tag_member(current(), member_id)


def sweep_deliveries() -> int:
    """Re-enqueue deliveries that were stored but never reached the queue."""
    return sweeper.sweep(current())


def reconcile_toast() -> int:
    """Queue Toast orders the webhooks missed (merchants with ``toast.api``)."""
    return reconciliation.reconcile(current())


def activate_points() -> int:
    """Make pending points whose activation date has come spendable."""
    return ledger_schedule.activate_points(current())


def expire_points() -> int:
    """Post the day's EXPIRATION entries for points past their expiry date."""
    return ledger_schedule.expire_points(current())


def expire_holds() -> int:
    """Roll back holds past their time to live (Toast REDEEM holds included) and void their redemptions."""
    return ledger_schedule.expire_holds(current())


def send_postings(member_id: str) -> int:
    """Send a member's provider postings, in order (a failure waits its backoff; the scheduler retries)."""
    return sender.send(current(), member_id)


def send_due_postings() -> int:
    """Queue the members whose provider postings are due again."""
    return upkeep.send_due_postings(current())


def expire_provider_redemptions() -> int:
    """Void at the provider the redemptions of checks that were never paid nor voided."""
    return upkeep.expire_provider_redemptions(current())


def deliver_event(delivery_id: int) -> str:
    """Make one attempt of an event delivery to a merchant's endpoint (it schedules its own retry)."""
    return event_deliveries.deliver(current(), delivery_id)


def deliver_due_events() -> int:
    """Queue the event deliveries whose retry came due, or whose worker died mid-attempt."""
    return event_deliveries.deliver_due(current())


def _last_attempt() -> bool:
    # Outside RQ (a direct call) nothing retries but the sweeper, which the attempt cap bounds.
    job = get_current_job()
    return job is not None and not job.retries_left


def _respect_retry_after(retry_after: float | None) -> None:
    # RQ's Retry picks the next interval from a fixed list; when a third party names a
    # longer wait (Retry-After, Shopify's throttle cost), stretch that one interval.
    job = get_current_job()
    if job is None or retry_after is None or not job.retry_intervals or not job.retries_left:
        return
    index = max(len(job.retry_intervals) - job.retries_left, 0)
    if index < len(job.retry_intervals):
        intervals = list(job.retry_intervals)
        intervals[index] = max(intervals[index], math.ceil(retry_after))
        job.retry_intervals = intervals
