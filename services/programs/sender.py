"""Sending provider postings after commit: one member at a time, in the order they were written.

``send(rt, member_id)`` claims the member's first unsent posting, sends it
through the merchant's engine, records the outcome, and goes on to the next.
A transient failure (a timeout, a 5xx, a 429) leaves the posting pending with
a backoff and stops there, so a later posting never overtakes it; a refusal
for good marks it ``failed`` with the provider's code and message and the
member's next posting goes on; one the provider cannot take at all (its
customer is not a member: ``PostingUnsupported``) is ``unsupported``, noted on
the delivery that caused it. ``send_due`` (scheduled every minute) picks up
what a failure or a killed worker left behind.
"""

from __future__ import annotations

import logging

from integrations.common import PermanentError, RetryableError
from models import Merchant
from services.outbox import postings
from services.programs.port import PostingUnsupported, engine_for
from services.runtime import Job, QueueUnavailable, Runtime

log = logging.getLogger(__name__)


def send(rt: Runtime, member_id: str) -> int:
    """Send the member's due postings in order; returns how many were sent."""
    sent = 0
    while (posting := postings.claim_next(rt, member_id)) is not None:
        with rt.db.reader() as session:
            engine = engine_for(session.get(Merchant, posting.merchant_id))
        try:
            details = engine.perform(rt, posting)
        except RetryableError as exc:
            status = postings.mark_retry(rt, posting.id, f"{exc.code}: {exc}", exc.retry_after)
            log.warning("posting %s (%s) to %s: %s, %s", posting.id, posting.kind, posting.provider, exc.code, status)
            break
        except PostingUnsupported as exc:
            postings.mark_unsupported(rt, posting.id, str(exc))
            log.info("posting %s (%s) not taken by %s: %s", posting.id, posting.kind, posting.provider, exc)
            continue
        except PermanentError as exc:
            postings.mark_failed(rt, posting.id, f"{exc.code}: {exc}")
            log.error(
                "posting %s (%s) refused by %s for good: %s", posting.id, posting.kind, posting.provider, exc.code
            )
            continue
        except Exception as exc:  # a defect: retried with the backoff like an outage, and failed in the end
            postings.mark_retry(rt, posting.id, f"{type(exc).__name__}: {exc}", None)
            log.exception("posting %s (%s) to %s failed unexpectedly", posting.id, posting.kind, posting.provider)
            break
        postings.mark_sent(rt, posting.id, details)
        sent += 1
    return sent


def send_due(rt: Runtime) -> int:
    """Queue a send job for every member with a posting due (scheduled); returns how many were queued."""
    queued = 0
    for member_id in postings.due_members(rt):
        try:
            if not rt.dispatcher.pending(Job.SEND_POSTINGS, member_id):
                rt.dispatcher.dispatch(Job.SEND_POSTINGS, member_id)
                queued += 1
        except QueueUnavailable:
            break  # the next run picks them up
    return queued
