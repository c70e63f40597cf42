"""Lots in the database: opened by credits, taken by debits soonest-expiring first, given back by refunds.

Every function here runs under the member's row lock, which the caller
holds, exactly like the balances the lots mirror: the spendable balance is
what is left of the member's active lots, the pending balance what is left
of its pending lots. The arithmetic is :mod:`loyalty.lots`; this module
loads the lots and records each move, so a refund knows which lots its
debit took.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import lots as pure
from models import LedgerEntry, Member
from models.tables import PointLot, PointLotMove


def book(session: Session, member: Member, entry: LedgerEntry) -> None:
    """Record what a just-posted ``entry`` does to the member's lots.

    A credit that gives a debit back (``reverses_id`` set) restores that
    debit's lots; any other credit opens a lot. A pending reversal takes from
    the pending lot it reverses; every other debit takes active lots
    soonest-expiring first.
    """
    if entry.points > 0 and entry.reverses_id:
        give_back(session, member, entry)
    elif entry.points > 0:
        open_lot(session, member, entry, entry.points, pending=entry.status == "PENDING")
    elif entry.points < 0 and entry.status == "PENDING":
        move(session, lot_of(session, entry.reverses_id), entry, entry.points)
    elif entry.points < 0:
        take(session, member, entry)


def open_lot(
    session: Session, member: Member, entry: LedgerEntry, points: int, *, pending: bool, expires_at=None
) -> PointLot:
    """A new lot of ``points`` opened by ``entry``, with the entry's dates unless ``expires_at`` is given."""
    lot = PointLot(
        merchant_id=member.merchant_id,
        member_id=member.id,
        entry_id=entry.id,
        points=points,
        remaining=points,
        pending=pending,
        activates_at=entry.activates_at,
        expires_at=expires_at if expires_at is not None else entry.expires_at,
        created_at=entry.created_at,
    )
    session.add(lot)
    session.flush()
    return lot


def move(session: Session, lot: PointLot, entry: LedgerEntry, points: int) -> None:
    """Take (negative) or give back (positive) ``points`` of ``lot`` on behalf of ``entry``."""
    lot.remaining += points
    session.add(PointLotMove(lot_id=lot.id, entry_id=entry.id, points=points, created_at=entry.created_at))


def take(session: Session, member: Member, entry: LedgerEntry) -> None:
    """Take ``-entry.points`` from the member's active lots, soonest-expiring first."""
    active = {lot.id: lot for lot in active_lots(session, member.id)}
    takes, _uncovered = pure.consume([_pure(lot) for lot in active.values()], -entry.points)
    # Nothing is uncovered while every spendable point is in a lot (the migration opened
    # lots for older balances); if it ever is, the balance, not the lots, is the truth.
    for t in takes:
        move(session, active[t.lot_id], entry, -t.points)


def give_back(session: Session, member: Member, entry: LedgerEntry) -> None:
    """Give ``entry.points`` back to the lots its reversed debit took, with their original dates.

    Points the debit never took from a lot (a hold older than lots) come back
    as a new never-expiring lot, as all points were before lots existed.
    """
    left = entry.points
    taken = session.execute(
        select(PointLotMove)
        .where(PointLotMove.entry_id == entry.reverses_id, PointLotMove.points < 0)
        .order_by(PointLotMove.id)
    ).scalars()
    for moved in taken:
        back = min(left, -moved.points)
        if back > 0:
            move(session, session.get(PointLot, moved.lot_id), entry, back)
            left -= back
    if left > 0:
        open_lot(session, member, entry, left, pending=False)


def lot_of(session: Session, entry_id: str | None) -> PointLot:
    """The lot opened by entry ``entry_id``."""
    return session.execute(select(PointLot).where(PointLot.entry_id == entry_id)).scalar_one()


def active_lots(session: Session, member_id: str) -> list[PointLot]:
    """The member's spendable lots that still hold points."""
    return list(
        session.execute(
            select(PointLot).where(PointLot.member_id == member_id, PointLot.pending.is_(False), PointLot.remaining > 0)
        ).scalars()
    )


def pending_lots(session: Session, member_id: str) -> list[PointLot]:
    """The member's pending lots that still hold points, soonest activation first."""
    return list(
        session.execute(
            select(PointLot)
            .where(PointLot.member_id == member_id, PointLot.pending.is_(True), PointLot.remaining > 0)
            .order_by(PointLot.activates_at, PointLot.id)
        ).scalars()
    )


def pending_of(session: Session, member_id: str, reference: str) -> list[PointLot]:
    """The pending lots of the earnings with ``reference`` (an order's), newest first: a reversal undoes them first."""
    return list(
        session.execute(
            select(PointLot)
            .join(LedgerEntry, LedgerEntry.id == PointLot.entry_id)
            .where(
                PointLot.member_id == member_id,
                PointLot.pending.is_(True),
                PointLot.remaining > 0,
                LedgerEntry.reference == reference,
            )
            .order_by(PointLot.id.desc())
        ).scalars()
    )


def due_pending(session: Session, member_id: str, now) -> list[PointLot]:
    """The member's pending lots whose activation instant has come (empty ones included: they close)."""
    return list(
        session.execute(
            select(PointLot)
            .where(PointLot.member_id == member_id, PointLot.pending.is_(True), PointLot.activates_at <= now)
            .order_by(PointLot.id)
        ).scalars()
    )


def expired_lots(session: Session, member_id: str, now) -> list[PointLot]:
    """The member's active lots past their expiry that still hold points."""
    lots = active_lots(session, member_id)
    gone = {lot.id for lot in pure.expired([_pure(lot) for lot in lots], now)}
    return [lot for lot in lots if lot.id in gone]


def _pure(lot: PointLot) -> pure.Lot:
    return pure.Lot(lot.id, lot.remaining, lot.expires_at)
