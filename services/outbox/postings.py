"""Provider postings: effects on a member's loyalty provider, written with the change that causes them.

A posting is a row written in the same transaction as the account change
(``write``), unique per merchant on its key, so a change that rolls back
leaves none and one that commits always has its own. After the commit a job
sends the member's postings one at a time, in the order they were written
(``claim_next``, then ``mark_sent``, ``mark_retry`` or ``mark_failed``): a
posting is claimed with a lease, so a worker killed mid-send only delays it
until the lease runs out, and the next claim sends it again (the provider's
idempotency, or a look in its history, keeps that resend from counting twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Delivery, ProviderPosting, insert_unless_exists
from services.runtime import Job, Runtime

LEASE = timedelta(seconds=120)  # longer than any call's timeout: a live sender never loses its claim
# Retried with backoff for at least a day (providers.md); after two days the posting is failed.
BACKOFF = (30, 120, 600, 1800, 3600, 7200, 14400)
GIVE_UP_AFTER = timedelta(hours=48)
_WRITTEN = "punchcard.postings_written"  # session.info: members whose postings this transaction wrote
_NOTES = "punchcard.posting_notes"
_CAUSE = "punchcard.posting_cause"  # session.info: the delivery being processed, kept on the postings it causes
NOTE_LENGTH = 1000


@dataclass(frozen=True)
class Claimed:
    """A posting claimed for sending, detached from any session."""

    id: int
    merchant_id: int
    member_id: str
    provider: str
    key: str
    kind: str
    amount: Decimal | None
    reference: str | None
    details: dict
    attempts: int
    created_at: datetime


def write(
    session: Session,
    *,
    merchant_id: int,
    member_id: str,
    provider: str,
    key: str,
    kind: str,
    now: datetime,
    amount: Decimal | None = None,
    reference: str | None = None,
    details: dict | None = None,
    status: str = "pending",
    note: str | None = None,
) -> ProviderPosting | None:
    """Write one posting in the caller's transaction; None when its key was written before (nothing changes).

    ``note`` is a sentence for the delivery that caused it (an unsupported
    reversal says so there). The delivery being processed, if any
    (:func:`caused_by`), is kept in its details as ``delivery_id``.
    """
    if session.info.get(_CAUSE) is not None:
        details = {"delivery_id": session.info[_CAUSE], **(details or {})}
    posting = insert_unless_exists(
        session,
        ProviderPosting,
        dict(
            merchant_id=merchant_id,
            member_id=member_id,
            provider=provider,
            key=key[:255],
            kind=kind,
            amount=amount,
            reference=reference,
            details=details or {},
            status=status,
            attempts=0,
            created_at=now,
            next_attempt_at=now if status == "pending" else None,
        ),
        ("merchant_id", "key"),
    )
    if posting is not None and status == "pending":
        session.info.setdefault(_WRITTEN, set()).add(member_id)
    if posting is not None and note:
        session.info.setdefault(_NOTES, []).append(note)
    return posting


def caused_by(session: Session, delivery_pk: int) -> None:
    """The postings this session's transaction writes are caused by delivery ``delivery_pk`` (for later notes)."""
    session.info[_CAUSE] = delivery_pk


def written_for(session: Session) -> set[str]:
    """The members whose postings this session's transaction wrote: their send jobs are due after commit."""
    return set(session.info.get(_WRITTEN, ()))


def follow_ups(session: Session) -> list[tuple[Job, tuple]]:
    """The send jobs due once this session's transaction commits, one per member it wrote postings for."""
    return [(Job.SEND_POSTINGS, (member_id,)) for member_id in sorted(written_for(session))]


def notes_of(session: Session) -> list[str]:
    """Sentences about this transaction's postings (for the delivery that caused them)."""
    return list(session.info.get(_NOTES, ()))


def claim_next(rt: Runtime, member_id: str) -> Claimed | None:
    """Claim the member's first unsent posting for sending; None when there is none, or it is not due yet.

    Only the first one is ever claimed, so a member's postings go out in
    order; one another sender holds (its lease not run out) is left alone.
    """
    now = rt.clock()
    with rt.db.transaction() as session:
        posting = session.execute(
            select(ProviderPosting)
            .where(ProviderPosting.member_id == member_id, ProviderPosting.status.in_(("pending", "sending")))
            .order_by(ProviderPosting.id)
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        if posting is None or not _claimable(posting, now):
            return None
        posting.status, posting.lease_until, posting.attempts = "sending", now + LEASE, posting.attempts + 1
        return _claimed(posting)


def _claimable(posting: ProviderPosting, now: datetime) -> bool:
    if posting.status == "sending":
        return posting.lease_until is not None and posting.lease_until <= now  # its sender died
    return posting.next_attempt_at is None or posting.next_attempt_at <= now


def _claimed(posting: ProviderPosting) -> Claimed:
    return Claimed(
        posting.id,
        posting.merchant_id,
        posting.member_id,
        posting.provider,
        posting.key,
        posting.kind,
        posting.amount,
        posting.reference,
        dict(posting.details or {}),
        posting.attempts,
        posting.created_at,
    )


def mark_sent(rt: Runtime, posting_id: int, details: dict | None = None) -> None:
    """The provider took the posting; ``details`` (e.g. its transaction id) are kept with it."""
    _finish(rt, posting_id, "sent", None, details)


def mark_failed(rt: Runtime, posting_id: int, error: str) -> None:
    """The provider refused the posting for good: kept ``failed`` with its code and message, never retried."""
    _finish(rt, posting_id, "failed", error[:1000], None)


def mark_retry(rt: Runtime, posting_id: int, error: str, retry_after: float | None) -> str:
    """A transient failure: back to pending, due after the backoff (or the provider's ``Retry-After``).

    Past ``GIVE_UP_AFTER`` since it was written the posting is ``failed``
    instead. Returns the status it was left in.
    """
    now = rt.clock()
    with rt.db.transaction() as session:
        posting = session.get(ProviderPosting, posting_id, with_for_update=True)
        if posting is None or posting.status != "sending":
            return posting.status if posting else "missing"
        posting.error, posting.lease_until = error[:1000], None
        if now - posting.created_at >= GIVE_UP_AFTER:
            posting.status = "failed"
            posting.error = f"gave up after {posting.attempts} attempts over two days: {error}"[:1000]
            return posting.status
        wait = BACKOFF[min(posting.attempts, len(BACKOFF)) - 1] if posting.attempts else BACKOFF[0]
        posting.status, posting.next_attempt_at = "pending", now + timedelta(seconds=max(wait, retry_after or 0))
        return posting.status


def mark_unsupported(rt: Runtime, posting_id: int, note: str) -> None:
    """The provider cannot take the posting (e.g. not its member): ``unsupported``, never resent.

    ``note`` is kept on the posting and added to the notes of the delivery
    that caused it, where an operator looks for what an order did.
    """
    _finish(rt, posting_id, "unsupported", note[:NOTE_LENGTH], None, note_delivery=True)


def remember(rt: Runtime, posting_id: int, details: dict) -> None:
    """Keep ``details`` with a posting being sent, before its call (a later attempt reads them back)."""
    with rt.db.transaction() as session:
        posting = session.get(ProviderPosting, posting_id, with_for_update=True)
        if posting is not None and posting.status == "sending":
            posting.details = {**(posting.details or {}), **details}


def _finish(
    rt: Runtime, posting_id: int, status: str, error: str | None, details: dict | None, *, note_delivery: bool = False
) -> None:
    with rt.db.transaction() as session:
        posting = session.get(ProviderPosting, posting_id, with_for_update=True)
        if posting is None or posting.status != "sending":
            return
        posting.status, posting.error, posting.lease_until = status, error, None
        posting.sent_at = rt.clock() if status == "sent" else None
        if details:
            posting.details = {**(posting.details or {}), **details}
        cause = (posting.details or {}).get("delivery_id")
        delivery = session.get(Delivery, cause, with_for_update=True) if note_delivery and cause else None
        if delivery is not None and error:
            delivery.error = "; ".join(filter(None, [delivery.error, error]))[:NOTE_LENGTH]


def due_members(rt: Runtime, limit: int = 1000) -> list[str]:
    """Members with a posting due now: pending and due, or claimed by a sender whose lease ran out."""
    now = rt.clock()
    with rt.db.reader() as session:
        return list(
            session.execute(
                select(ProviderPosting.member_id)
                .where(
                    or_(
                        (ProviderPosting.status == "pending") & (ProviderPosting.next_attempt_at <= now),
                        (ProviderPosting.status == "sending") & (ProviderPosting.lease_until <= now),
                    )
                )
                .distinct()
                .limit(limit)
            ).scalars()
        )
