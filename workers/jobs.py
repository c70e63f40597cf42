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
from services.runtime import current
from services.shopify import codes as shopify_codes
from services.shopify import metafields, tagging
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
    """Roll back holds past their time to live (Toast REDEEM holds included) and void their redemptions.

    Then queue the deletion in Shopify of the codes of redemptions voided so (the follow-up job below).
    """
    done = ledger_schedule.expire_holds(current())
    shopify_codes.queue_deletions(current())
    return done


@honours_retry_after
def delete_shopify_code(redemption_id: str) -> str:
    """Delete an expired or voided redemption's unused discount code in Shopify; throttling waits what Shopify asks."""
    return shopify_codes.delete_code(current(), redemption_id)


@honours_retry_after
def sync_shopify_metafields(member_id: str) -> str:
    """Write a member's points, pending points and tier to its Shopify customer's metafields."""
    return metafields.sync_member(current(), member_id)


def sweep_shopify_metafields() -> int:
    """Queue the metafield writes whose job was lost (Redis was down after the change committed)."""
    return metafields.sweep(current())


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
