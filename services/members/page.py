"""What a guest sees on their member page (``/m/<token>``): balance, tier progress, rewards, recent history."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.rewards import ENDED, INACTIVE, MemberUsage, availability
from loyalty.tiers import next_tier, tier_for
from models import LedgerEntry, Member, Merchant, Redemption
from services import ledger
from services.ledger import views as ledger_views
from services.members import magic_links
from services.members.lookup import VISIBLE
from services.rewards import catalogue as rewards_catalog
from services.runtime import Runtime

HISTORY = 10
LABELS = {
    "ACCRUAL": "Points earned",
    "ADDITION": "Points added",
    "REMOVAL": "Points removed",
    "REDEMPTION": "Reward redeemed",
    "HOLD": "Reward redeemed",
    "REFUND": "Points refunded",
    "REVERSAL": "Points returned",
    "EXPIRATION": "Points expired",
    "TRANSFER_IN": "Points moved in",
    "TRANSFER_OUT": "Points moved out",
    "FORFEIT": "Points forfeited",
}
# Rewards a guest cannot work towards are left off the page.
HIDDEN = {INACTIVE, ENDED}
NOTES = {"NOT_STARTED": "Coming soon", "LIMIT_REACHED": "Already used", "INTERVAL": "Available again soon"}


class MembershipClosed(Exception):
    """The link is genuine but the membership was removed or merged into another."""


def load(rt: Runtime, token: str) -> dict:
    """Everything the member page shows for ``token``.

    Raises ``magic_links.InvalidLink`` (not ours, or no such member),
    ``magic_links.ExpiredLink`` or ``MembershipClosed``.
    """
    merchant_id, member_id = magic_links.verify(rt, token)
    with rt.db.reader() as session:
        member = session.get(Member, member_id)
        if member is None or member.merchant_id != merchant_id:
            raise magic_links.InvalidLink(token)
        if member.status not in VISIBLE:
            raise MembershipClosed(member_id)
        merchant, now = session.get(Merchant, merchant_id), rt.clock()
        card = ledger_views.card(session, member, now)
        spendable = int(card["balance"]["points"])
        return {
            "merchant": merchant.name,
            "first_name": member.first_name,
            "tier": _tier(session, member),
            "points": spendable,
            "pending_points": int(card["balance"].get("pending_points") or 0),
            "next_expiration": card.get("next_expiration"),
            "rewards": _rewards(session, merchant, member, spendable, now),
            "codes": _codes(session, merchant, member, now),
            "history": _history(session, member, ZoneInfo(merchant.timezone)),
        }


def _tier(session: Session, member: Member) -> dict:
    """The member's tier and how far it is to the next one (None at the top)."""
    rules = ledger.tier_rules(session, member.merchant_id)
    current = tier_for(member.lifetime_earned, rules, member.tier)
    upcoming = next_tier(member.lifetime_earned, rules, member.tier)
    progress = None
    if upcoming is not None:
        floor = current.min_lifetime_points if current else 0
        span = max(1, upcoming[0].min_lifetime_points - floor)
        percent = min(100, max(0, (member.lifetime_earned - floor) * 100 // span))
        progress = {"name": upcoming[0].name, "points_needed": upcoming[1], "percent": percent}
    return {
        "name": member.tier or (current.name if current else None),
        "lifetime": member.lifetime_earned,
        "next": progress,
    }


def _rewards(session: Session, merchant: Merchant, member: Member, spendable: int, now: datetime) -> list[dict]:
    """The merchant's rewards in priority order, each with whether the member can redeem it now."""
    used = rewards_catalog.usage(session, member.id)
    shown = []
    for rule in sorted(rewards_catalog.rules(session, merchant).values(), key=lambda r: (r.priority, r.name)):
        verdict = availability(rule, used.get(rule.uuid, MemberUsage()), spendable, now)
        if verdict.reason in HIDDEN:
            continue
        note = (
            f"{rule.points_price - spendable:,} more points to go"
            if verdict.reason == "INSUFFICIENT_POINTS"
            else NOTES.get(verdict.reason or "", "Ready to redeem")
        )
        shown.append(
            {
                "name": rule.name,
                "description": rule.description,
                "points_price": rule.points_price,
                "available": verdict.available,
                "note": note,
            }
        )
    return shown


def _codes(session: Session, merchant: Merchant, member: Member, now: datetime) -> list[dict]:
    """The member's Shopify discount codes still to use, soonest to expire first, with their expiry."""
    rows = session.execute(
        select(Redemption).where(
            Redemption.member_id == member.id, Redemption.state == "initiated", Redemption.code_state == "active"
        )
    ).scalars()
    names = {uuid: rule.name for uuid, rule in rewards_catalog.rules(session, merchant).items()}
    zone = ZoneInfo(merchant.timezone)
    live = [row for row in rows if row.expires_at is None or row.expires_at > now]
    live.sort(key=lambda row: (row.expires_at is None, row.expires_at or now, row.seq))
    return [
        {
            "code": row.code,
            "reward": names.get(row.reward_uuid, "Reward"),
            "expires": row.expires_at.astimezone(zone) if row.expires_at else None,
        }
        for row in live
    ]


def _history(session: Session, member: Member, zone: ZoneInfo) -> list[dict]:
    """The member's last ``HISTORY`` ledger entries, newest first, dated in the merchant's timezone."""
    entries = (
        session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.member_id == member.id)
            .order_by(LedgerEntry.seq.desc())
            .limit(HISTORY)
        )
        .scalars()
        .all()
    )
    return [
        {
            "label": LABELS.get(e.type, e.type.replace("_", " ").capitalize()),
            "points": e.points,
            "date": e.created_at.astimezone(zone).date(),
            "pending": e.status == "PENDING",
        }
        for e in entries
    ]
