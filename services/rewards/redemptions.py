"""A redemption's life, and what a member's redemptions count for.

A redemption's points are a ledger hold from the moment it is initiated; it
ends ``redeemed`` (the hold committed: the points are spent) or ``voided``
(the hold released, or the spent points refunded). The partner API and the
Toast POS endpoint share :func:`commit`, :func:`void` and :func:`member_usage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.rewards import MemberUsage
from models import LedgerEntry, Redemption
from services import ledger
from services.ledger import lock
from services.rewards import announce


def commit(session: Session, redemption: Redemption, now: datetime) -> None:
    """Mark a redemption redeemed and spend its held points (the member is locked here)."""
    member = lock(session, redemption.member_id)
    entry = hold_entry(session, redemption)
    if entry is not None:
        ledger.commit_hold(member, entry, reward_id=redemption.reward_uuid)
    redemption.state, redemption.redeemed_at = "redeemed", now
    announce.redeemed(session, redemption, now)


def void(session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
    """Void a redemption: a held one is released, a redeemed one refunded.

    A hold its time to live already rolled back gives nothing back twice.
    """
    member = lock(session, redemption.member_id)
    entry = hold_entry(session, redemption)
    if entry is not None and entry.status == "HELD":
        ledger.release_hold(session, member, entry, key=key, channel=channel, now=now)
    elif entry is not None and entry.status == "COMMITTED":
        ledger.refund_commit(session, member, entry, key=key, channel=channel, now=now)
    redemption.state, redemption.voided_at = "voided", now


def hold_entry(session: Session, redemption: Redemption) -> LedgerEntry | None:
    """The ledger hold of a redemption, read fresh; None for a free reward."""
    if not redemption.hold_entry_id:
        return None  # a free reward holds nothing
    return session.execute(
        select(LedgerEntry).where(LedgerEntry.id == redemption.hold_entry_id).execution_options(populate_existing=True)
    ).scalar_one()


# --- a member's rewards ------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """One member's use of one reward: what the rules count, and what the member is shown."""

    standing: MemberUsage = MemberUsage()  # initiated (still live) and redeemed: they reserve a use
    redeemed: MemberUsage = MemberUsage()  # redeemed only: ``redemption_count`` moves on redeem


def member_usage(session: Session, member_id: str, now: datetime) -> dict[str, Usage]:
    """Per reward uuid, the member's :class:`Usage`.

    An initiated redemption counts for the limit and the interval, so two
    concurrent initiations cannot both pass a limit of one; one past its time
    to live no longer does (its hold is rolled back).
    """
    rows = session.execute(
        select(Redemption).where(Redemption.member_id == member_id, Redemption.state != "voided")
    ).scalars()
    standing: dict[str, list[datetime]] = {}
    redeemed: dict[str, list[datetime]] = {}
    for row in rows:
        if row.state == "redeemed":
            redeemed.setdefault(row.reward_uuid, []).append(row.redeemed_at or row.created_at)
        if row.state == "redeemed" or not lapsed(row, now):
            standing.setdefault(row.reward_uuid, []).append(row.created_at)
    return {
        uuid: Usage(_usage(standing.get(uuid)), _usage(redeemed.get(uuid)))
        for uuid in standing.keys() | redeemed.keys()
    }


def _usage(moments: list[datetime] | None) -> MemberUsage:
    return MemberUsage(len(moments), max(moments)) if moments else MemberUsage()


def lapsed(redemption: Redemption, now: datetime) -> bool:
    """True once an initiated redemption outlived its time to live."""
    return redemption.expires_at is not None and now >= redemption.expires_at
