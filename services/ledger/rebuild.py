"""Recompute every member's stored balances from the ledger entries, report the differences, optionally fix them.

The rules are the ones :mod:`services.ledger` posts by (its module docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LedgerEntry, Member
from services import ledger
from services.ledger import owed as ledger_owed
from services.ledger.locks import lock
from services.runtime import Runtime

BALANCES = ("points", "pending_points", "held_points", "lifetime_earned", "owed_points")


@dataclass(frozen=True)
class Difference:
    """A stored balance that is not what the entries say."""

    member_id: str
    balance: str
    stored: int
    rebuilt: int


def balances(entries: Iterable) -> dict[str, int]:
    """The balances that entries (in ``seq`` order, with ``type``, ``status``, ``points``, ``shortfall`` and
    ``business_key``) add up to."""
    entries = list(entries)
    totals = dict.fromkeys(BALANCES, 0)
    totals["owed_points"] = ledger_owed.owed_from(entries)
    for entry in entries:
        totals["pending_points" if entry.status == "PENDING" else "points"] += entry.points
        if entry.status == "HELD":
            totals["held_points"] -= entry.points
        if ledger.counts_as_earning(entry.type, entry.points):
            # Replayed in order: lifetime points never went below zero on the way.
            totals["lifetime_earned"] = max(0, totals["lifetime_earned"] + entry.points)
    return totals


def rebuilt(session: Session, member_id: str) -> dict[str, int]:
    """The member's balances recomputed from its entries."""
    rows = session.execute(
        select(
            LedgerEntry.type, LedgerEntry.status, LedgerEntry.points, LedgerEntry.shortfall, LedgerEntry.business_key
        )
        .where(LedgerEntry.member_id == member_id)
        .order_by(LedgerEntry.seq)
    ).all()
    return balances(rows)


def differences(session: Session, member: Member) -> list[Difference]:
    """The member's stored balances that differ from the rebuilt ones."""
    fresh = rebuilt(session, member.id)
    return [
        Difference(member.id, name, getattr(member, name), fresh[name])
        for name in BALANCES
        if getattr(member, name) != fresh[name]
    ]


def member_count(rt: Runtime, merchant_id: int | None = None) -> int:
    """How many members :func:`rebuild` walks (for a progress bar)."""
    with rt.db.reader() as session:
        return session.scalar(_members(select(func.count()).select_from(Member), merchant_id))


def _members(query, merchant_id: int | None):
    return query if merchant_id is None else query.where(Member.merchant_id == merchant_id)


def rebuild(
    rt: Runtime,
    *,
    fix: bool = False,
    merchant_id: int | None = None,
    on_member: Callable[[], None] | None = None,
) -> list[Difference]:
    """Every difference between stored and rebuilt balances, over all members (or one merchant's).

    With ``fix``, each differing member is corrected under its row lock (its
    differences recomputed there, so a concurrent posting is not undone) and
    its tier refreshed (never down). ``on_member`` is called after each member is checked.
    """
    found = []
    with rt.db.reader() as session:
        members = session.execute(_members(select(Member), merchant_id).order_by(Member.id)).scalars()
        for member in members:
            found.extend(differences(session, member))
            if on_member:
                on_member()
    if not fix:
        return found
    fixed = []
    for member_id in sorted({d.member_id for d in found}):
        with rt.db.transaction() as session:
            fixed.extend(_fix(session, lock(session, member_id)))
    return fixed


def _fix(session: Session, member: Member) -> list[Difference]:
    found = differences(session, member)
    for difference in found:
        setattr(member, difference.balance, difference.rebuilt)
    if found:
        ledger.refresh_tier(session, member)
    return found
