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
                        type=posting.type, status="ACTIVE", channel=posting.channel, points=points,
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
    if posting.type in EARNING_TYPES or posting.counts_as_earning:
        member.lifetime_earned = max(0, member.lifetime_earned + points)
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
