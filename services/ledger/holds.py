"""Holds and what ends them (commit, release, refund of a committed hold), and cancellations by an opposite entry.

Every function here runs under the member's row lock and posts through
:func:`services.ledger.posting.post`, so the invariants of that module hold.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, object_session

from models import LedgerEntry, Member
from services.ledger import announce
from services.ledger import lots as ledger_lots
from services.ledger.posting import Posting, activate_due, close_pending, post

CANCELLABLE = {"ACCRUAL", "ADDITION", "REMOVAL", "REDEMPTION", "HOLD"}


class InsufficientPoints(Exception):
    """The spendable balance does not cover a hold or a debit."""


def hold(
    session: Session,
    member: Member,
    *,
    key: str,
    points: int,
    channel: str,
    reference: str | None,
    now: datetime,
    expires_at: datetime | None = None,
) -> LedgerEntry | None:
    """Take ``points`` out of a locked member's spendable balance until committed or released.

    ``expires_at`` is the hold's time to live: the hold-expiry job rolls it
    back after that (None: the hold lives until settled or released).
    Returns the HELD entry, None when ``key`` was already posted; raises
    ``InsufficientPoints`` rather than ever going below zero.
    """
    activate_due(session, member, now)
    if points > member.points:
        raise InsufficientPoints(f"needs {points}, has {member.points}")
    posting = Posting(
        key=key, points=-points, type="HOLD", channel=channel, reference=reference, status="HELD", expires_at=expires_at
    )
    return post(session, member, posting, now)


def commit_hold(member: Member, entry: LedgerEntry, *, reward_id: str | None = None) -> bool:
    """Spend a held entry for good; False when it was not held any more.

    The points are spent now: announced as ``points.spent`` (with the reward,
    for a redemption's hold).
    """
    if entry.status != "HELD":
        return False
    entry.status = "COMMITTED"  # the lifecycle moves; the amount never changes
    member.held_points += entry.points
    announce.hold_committed(object_session(member), member, entry, reward_id)
    return True


def release_hold(
    session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str, now: datetime
) -> LedgerEntry | None:
    """Give held points back (a rolled-back, voided or expired hold) with an opposite entry.

    The points return to the lots the hold took, with their original dates.
    None when the entry is not held any more.
    """
    if entry.status != "HELD":
        return None
    back = Posting(
        key=key, points=-entry.points, type="REVERSAL", channel=channel, reference=entry.reference, reverses_id=entry.id
    )
    posted = post(session, member, back, now)
    if posted is not None:
        entry.status = "ROLLED_BACK"
        member.held_points += entry.points
    return posted


def refund_commit(
    session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str, now: datetime
) -> LedgerEntry | None:
    """Return the points of a committed (spent) hold, e.g. a redeemed reward voided at the POS.

    The points return to the lots the hold took; the hold becomes ``CANCELED``
    so it is refunded once. None when the entry is not committed.
    """
    if entry.type != "HOLD" or entry.status != "COMMITTED":
        return None
    return _opposite(session, member, entry, key=key, channel=channel, now=now)


def cancel(
    session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str, now: datetime
) -> LedgerEntry | None:
    """Cancel a committed transaction by an opposite entry that references it; the original becomes ``CANCELED``.

    An earning (ACTIVE) is reversed, taking back only what is spendable (the
    rest is the shortfall); a pending earning loses what is left of it before
    it activates; a debit (REMOVAL, REDEMPTION, a COMMITTED hold) is refunded
    to the lots it took. Returns the opposite entry, or None when nothing was
    done: already canceled (a second cancel is a no-op), a type or status that
    cannot be canceled (a HELD hold is rolled back instead), or ``key`` taken.
    """
    if entry.type not in CANCELLABLE or entry.status not in ("ACTIVE", "COMMITTED", "PENDING"):
        return None
    if entry.type == "HOLD" and entry.status != "COMMITTED":
        return None
    if entry.status == "PENDING":
        return _cancel_pending(session, member, entry, key=key, channel=channel, now=now)
    return _opposite(session, member, entry, key=key, channel=channel, now=now)


def _opposite(
    session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str, now: datetime
) -> LedgerEntry | None:
    kind = "REVERSAL" if entry.points > 0 else "REFUND"
    # A refund names the debit it gives back (its lots are restored); a reversal of an
    # earning is a debit like any other and takes lots soonest-expiring first.
    back = Posting(
        key=key, points=-entry.points, type=kind, channel=channel, reference=entry.reference, reverses_id=entry.id
    )
    posted = post(session, member, back, now)
    if posted is not None:
        entry.status = "CANCELED"
    return posted


def _cancel_pending(
    session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str, now: datetime
) -> LedgerEntry | None:
    lot = ledger_lots.lot_of(session, entry.id)
    posted = None
    if lot.remaining > 0:
        posted = post(
            session,
            member,
            Posting(
                key=key,
                points=-lot.remaining,
                type="REVERSAL",
                channel=channel,
                reference=entry.reference,
                reverses_id=entry.id,
                status="PENDING",
                activates_at=entry.activates_at,
            ),
            now,
        )
        if posted is None:
            return None
    # Nothing is left of the earning: it and its reversals close now rather than at activation.
    close_pending(session, lot, "CANCELED")
    return posted
