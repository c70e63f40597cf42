"""The RQ job functions. Each takes JSON-safe ids and calls one service."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TypeVar

from rq import get_current_job

from services import logs, metrics
from services.errors import RetryLater
from services.inbox import operator, processing, sweeper
from services.ledger import schedule as ledger_schedule
from services.outbox import event_deliveries
from services.partner_api import idempotency
from services.programs import sender, upkeep
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


def measured(func: F) -> F:
    """Count and time the job (``services.metrics``), and put its id on every log line it writes.

    A failure is counted as ``retried`` while RQ has a retry left for it, else ``failed``.
    The worker-side numbers are written to Redis when the job ends, whatever its outcome.
    """

    @functools.wraps(func)
    def job(*args, **kwargs):
        rq_job = get_current_job()
        started, outcome = time.perf_counter(), "failed"
        with logs.scope(job_id=rq_job.id if rq_job else None):
            try:
                result = func(*args, **kwargs)
                outcome = "succeeded"
                return result
            except Exception:
                outcome = "retried" if rq_job is not None and rq_job.retries_left else "failed"
                raise
            finally:
                metrics.job_finished(func.__name__, time.perf_counter() - started, outcome=outcome)
                metrics.flush()

    return job  # type: ignore[return-value]


@measured
@honours_retry_after
def process_delivery(delivery_pk: int) -> str:
    """Process one stored webhook delivery; on RQ's last attempt a failure fails the delivery for good."""
    return processing.process(current(), delivery_pk, final=_last_attempt())


@measured
@honours_retry_after
def tag_shopify_customer(member_id: str) -> str:
    """Tag a wallet-holding member's Shopify customer; a throttled call waits what Shopify asks."""
    return tagging.tag_member(current(), member_id)


@measured
def sweep_deliveries() -> int:
    """Re-enqueue deliveries that were stored but never reached the queue."""
    return sweeper.sweep(current())


@measured
def reconcile_toast() -> int:
    """Queue Toast orders the webhooks missed (merchants with ``toast.api``)."""
    return reconciliation.reconcile(current())


@measured
def activate_points() -> int:
    """Make pending points whose activation date has come spendable."""
    return ledger_schedule.activate_points(current())


@measured
def expire_points() -> int:
    """Post the day's EXPIRATION entries for points past their expiry date."""
    return ledger_schedule.expire_points(current())


@measured
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


@measured
def send_postings(member_id: str) -> int:
    """Send a member's provider postings, in order (a failure waits its backoff; the scheduler retries)."""
    return sender.send(current(), member_id)


@measured
def send_due_postings() -> int:
    """Queue the members whose provider postings are due again."""
    return upkeep.send_due_postings(current())


@measured
def expire_provider_redemptions() -> int:
    """Void at the provider the redemptions of checks that were never paid nor voided."""
    return upkeep.expire_provider_redemptions(current())


@measured
def deliver_event(delivery_id: int) -> str:
    """Make one attempt of an event delivery to a merchant's endpoint (it schedules its own retry)."""
    return event_deliveries.deliver(current(), delivery_id)


@measured
def deliver_due_events() -> int:
    """Queue the event deliveries whose retry came due, or whose worker died mid-attempt."""
    return event_deliveries.deliver_due(current())


@measured
def prune_deliveries() -> int:
    """Delete processed and ignored deliveries past DELIVERY_RETENTION_DAYS (failed ones are kept)."""
    rt = current()
    return operator.prune(rt, rt.delivery_retention)


@measured
def prune_idempotent_requests() -> int:
    """Delete stored partner API answers past IDEMPOTENCY_RETENTION_DAYS."""
    rt = current()
    return idempotency.prune(rt, rt.idempotency_retention)


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
