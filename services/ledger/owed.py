"""Shortfalls: points a reversal could not take back, owed by the member and collected when points come back.

ledger.md: "If a reversal could not take back points that were already
spent, the shortfall is taken from the first points that return to the
member (a voided redemption, a refunded spend, a rolled-back hold) before
they become spendable. A fully refunded order never leaves its points with
the member."

- Every entry posted with a ``shortfall`` adds it to ``Member.owed_points``
  (a cache of the ledger like the other balances, under the member's row lock).
- A credit that gives a debit back (``reverses_id`` set: a REFUND, a hold
  rolled back or released) is followed, in the same transaction, by
  collections: ``REVERSAL`` entries keyed ``collect:<owing entry id>:<credit
  id>`` that take back what is owed, oldest shortfall first, each referencing
  what its owing entry referenced (the order), so the order's entries show it.
- An order that earns again after a reversal with a shortfall (a Toast check
  re-accrued after a POS reverse) pays its own shortfall first from that
  earning: it is the same points coming back.
- A rebuild recomputes ``owed_points`` as the sum of the entries' shortfalls
  less what the ``collect:`` entries took.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LedgerEntry, Member

COLLECT_PREFIX = "collect:"


def owe(member: Member, entry: LedgerEntry) -> None:
    """Record what ``entry`` could not take back as owed by ``member``."""
    if entry.shortfall > 0:
        member.owed_points += entry.shortfall


def gives_back(entry: LedgerEntry) -> bool:
    """True for a credit that returns points a debit took: the points a shortfall is collected from."""
    return entry.points > 0 and entry.reverses_id is not None


def collect(
    session: Session,
    member: Member,
    credit: LedgerEntry,
    now: datetime,
    post: Callable,
    *,
    reference: str | None = None,
) -> int:
    """Take what ``member`` owes from the points ``credit`` just brought; returns the points collected.

    ``post`` is :func:`services.ledger.post`. With ``reference``, only the
    shortfalls of that order are collected (an order earning again pays its
    own first). A pending ``credit`` is collected from before it activates,
    by a pending reversal of its own lot.
    """
    budget = min(member.owed_points, credit.points)
    collected = 0
    for owing, due in _owing(session, member.id, reference) if budget > 0 else ():
        take = min(budget - collected, due)
        if take <= 0:
            break
        entry = post(session, member, _posting(owing, credit, take), now)
        if entry is not None:
            member.owed_points -= take
            collected += take
    return collected


def _posting(owing: LedgerEntry, credit: LedgerEntry, points: int):
    from services.ledger.posting import Posting  # the posting type of the module that calls us

    pending = credit.status == "PENDING"
    return Posting(
        key=f"{COLLECT_PREFIX}{owing.id}:{credit.id}",
        points=-points,
        type="REVERSAL",
        channel=credit.channel,
        reference=owing.reference,
        # A pending collection takes from the credit's own lot and activates with it.
        reverses_id=credit.id if pending else None,
        status="PENDING" if pending else "ACTIVE",
        activates_at=credit.activates_at if pending else None,
    )


def _owing(session: Session, member_id: str, reference: str | None) -> list[tuple[LedgerEntry, int]]:
    """The member's entries with a shortfall not yet collected, oldest first, with what is still due on each."""
    query = select(LedgerEntry).where(LedgerEntry.member_id == member_id, LedgerEntry.shortfall > 0)
    if reference is not None:
        query = query.where(LedgerEntry.reference == reference)
    owing = []
    for entry in session.execute(query.order_by(LedgerEntry.seq)).scalars():
        due = entry.shortfall - collected_for(session, entry.id)
        if due > 0:
            owing.append((entry, due))
    return owing


def collected_for(session: Session, entry_id: str) -> int:
    """Points collected so far for the shortfall of entry ``entry_id``."""
    pattern = f"{COLLECT_PREFIX}{entry_id}:".replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    taken = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.business_key.like(pattern + "%", escape="\\")
        )
    )
    return -int(taken)


def owed_from(rows) -> int:
    """``owed_points`` rebuilt from entries given as rows with ``business_key``, ``points`` and ``shortfall``."""
    owed = 0
    for row in rows:
        owed += row.shortfall
        if row.business_key.startswith(COLLECT_PREFIX):
            owed += row.points  # a collection is negative
    return owed
