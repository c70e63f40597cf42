"""Posting points: append-only entries, idempotent on (merchant, business key), balances under a row lock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.tiers import TierRule, tier_for
from models import LedgerEntry, Member, Tier

EARNING_TYPES = {"ACCRUAL", "ADDITION"}


@dataclass(frozen=True)
class Posting:
    """A request to move points for one member."""

    key: str
    points: int
    type: str
    channel: str
    reference: str | None = None
    reverses_id: str | None = None
    counts_as_earning: bool = False  # reversals of earnings lower lifetime points
    status: str = "ACTIVE"


def post(session: Session, member: Member, posting: Posting, now: datetime) -> LedgerEntry | None:
    """Append ``posting`` for a locked ``member`` and update the stored balances.

    Returns the new entry, or None when an entry with the same business key
    already exists (the posting was already made). A negative posting takes
    only what is spendable; the rest is recorded as the entry's ``shortfall``.
    """
    points, shortfall = posting.points, 0
    if points < 0 and -points > member.points:
        points, shortfall = -member.points, -points - member.points
    entry = LedgerEntry(merchant_id=member.merchant_id, member_id=member.id, business_key=posting.key,
                        type=posting.type, status=posting.status, channel=posting.channel, points=points,
                        shortfall=shortfall, reference=posting.reference, reverses_id=posting.reverses_id,
                        created_at=now)
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        return None
    _apply(session, member, posting, points)
    return entry


def _apply(session: Session, member: Member, posting: Posting, points: int) -> None:
    member.points += points
    if posting.type == "HOLD":
        member.held_points -= points
    if posting.type in EARNING_TYPES or posting.counts_as_earning:
        member.lifetime_earned = max(0, member.lifetime_earned + points)
        refresh_tier(session, member)


def refresh_tier(session: Session, member: Member) -> None:
    """Move the member up to the tier its lifetime points reach (never down)."""
    reached = tier_for(member.lifetime_earned, tier_rules(session, member.merchant_id), member.tier)
    member.tier = reached.name if reached else None


def tier_rules(session: Session, merchant_id: int) -> list[TierRule]:
    """The merchant's active tiers as pure rules."""
    rows = session.execute(select(Tier).where(Tier.merchant_id == merchant_id, Tier.active)).scalars()
    return [TierRule(t.name, t.min_lifetime_points, t.multiplier) for t in rows]


def multiplier_for(session: Session, member: Member) -> Decimal:
    """The accrual multiplier of the member's current tier (1 without tiers)."""
    rule = next((t for t in tier_rules(session, member.merchant_id) if t.name == member.tier), None)
    return rule.multiplier if rule else Decimal(1)


class InsufficientPoints(Exception):
    """The spendable balance does not cover a hold or a debit."""


def hold(session: Session, member: Member, *, key: str, points: int, channel: str, reference: str | None,
         now: datetime) -> LedgerEntry | None:
    """Take ``points`` out of a locked member's spendable balance until committed or released.

    Returns the HELD entry, None when ``key`` was already posted; raises
    ``InsufficientPoints`` rather than ever going below zero.
    """
    if points > member.points:
        raise InsufficientPoints(f"needs {points}, has {member.points}")
    posting = Posting(key=key, points=-points, type="HOLD", channel=channel, reference=reference, status="HELD")
    return post(session, member, posting, now)


def commit_hold(member: Member, entry: LedgerEntry) -> bool:
    """Spend a held entry for good; False when it was not held any more."""
    if entry.status != "HELD":
        return False
    entry.status = "COMMITTED"  # the lifecycle moves; the amount never changes
    member.held_points += entry.points
    return True


def release_hold(session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str,
                 now: datetime) -> LedgerEntry | None:
    """Give held points back (a rolled-back or voided hold) with an opposite entry."""
    if entry.status != "HELD":
        return None
    entry.status = "ROLLED_BACK"
    member.held_points += entry.points
    back = Posting(key=key, points=-entry.points, type="REVERSAL", channel=channel, reference=entry.reference,
                   reverses_id=entry.id)
    return post(session, member, back, now)


def refund_commit(session: Session, member: Member, entry: LedgerEntry, *, key: str, channel: str,
                  now: datetime) -> LedgerEntry | None:
    """Return the points of a committed (spent) hold, e.g. a redeemed reward voided at the POS."""
    back = Posting(key=key, points=-entry.points, type="REFUND", channel=channel, reference=entry.reference,
                   reverses_id=entry.id)
    return post(session, member, back, now)
