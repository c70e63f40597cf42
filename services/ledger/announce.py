"""What the ledger tells the merchant's systems (events.md): one event per posting that moves points, and tiers.

Called inside the posting's transaction, with balances as of the change. The
type says the direction, so ``points`` is always positive (as Hang's events
are). Holds are not events: a held point is not spent until the hold is
committed, and a released hold gives back nothing that was spent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import LedgerEntry, Member
from services.outbox import events

# Entry type (and the sign of its points) -> event type; the rest (HOLD, TRANSFER_*, FORFEIT) are not events.
_BY_TYPE = {
    ("ACCRUAL", 1): "points.earned",
    ("ADDITION", 1): "points.earned",
    ("REVERSAL", -1): "points.earn_reversed",
    ("REMOVAL", -1): "points.spent",
    ("REDEMPTION", -1): "points.spent",
    ("REFUND", 1): "points.spend_refunded",
    ("EXPIRATION", -1): "points.expired",
}


def entry_posted(session: Session, member: Member, entry: LedgerEntry) -> None:
    """The event of a just-posted entry, if it is one (a 0-point entry that only records a shortfall is not)."""
    if entry.points == 0:
        return
    kind = _BY_TYPE.get((entry.type, 1 if entry.points > 0 else -1))
    if kind is not None:
        _points(session, member, entry, kind)


def hold_committed(session: Session, member: Member, entry: LedgerEntry, reward_id: str | None) -> None:
    """A hold committed: its points are spent now (``reward_id`` when a reward's redemption)."""
    _points(session, member, entry, "points.spent", reward_id=reward_id)


def tier_changed(session: Session, member: Member, before: str | None, after: str | None, now: datetime) -> None:
    """A member reached a new tier."""
    events.emit(
        session,
        merchant_id=member.merchant_id,
        type="tier.changed",
        member_id=member.id,
        occurred_at=now,
        data={"membership_id": member.id, "from": before, "to": after, "occurred_at": int(now.timestamp())},
    )


def _points(session: Session, member: Member, entry: LedgerEntry, kind: str, *, reward_id: str | None = None) -> None:
    data = {
        "membership_id": member.id,
        "transaction_id": entry.id,
        "points": abs(entry.points),
        "channel": entry.channel,
        "reference": entry.reference,
        "balance": {"points": member.points, "pending_points": member.pending_points},
        "occurred_at": int(entry.created_at.timestamp()),
    }
    if kind == "points.spent" and reward_id is not None:
        data["reward_id"] = reward_id
    events.emit(
        session, merchant_id=member.merchant_id, type=kind, data=data, occurred_at=entry.created_at, member_id=member.id
    )
