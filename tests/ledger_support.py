"""Helpers of the ledger tests: a member of the demo merchant, postings, orders, and the invariants."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from loyalty.orders import Identity, Order, Refund
from models import LedgerEntry, Member, Merchant
from models.tables import PointLot
from services import ledger, members
from services.ledger import rebuild as ledger_rebuild
from services.settlement import accounts as orders

_keys = itertools.count(1)


def configure(rt, **program) -> None:
    """Change the demo merchant's program settings (pending_days, expiration_days, ...)."""
    with rt.db.transaction() as s:
        merchant = s.execute(select(Merchant).where(Merchant.slug == "demo-cafe")).scalar_one()
        merchant.program = {**merchant.program, **program}


def new_member(rt, phone: str = "+14155550134") -> str:
    """A fresh member of the demo merchant."""
    with rt.db.transaction() as s:
        merchant_id = s.execute(select(Merchant.id).where(Merchant.slug == "demo-cafe")).scalar_one()
        member = Member(merchant_id=merchant_id, phone=phone, created_at=rt.clock(), updated_at=rt.clock())
        s.add(member)
        s.flush()
        return member.id


def post(rt, member_id: str, points: int, type: str = "ADDITION", **fields) -> LedgerEntry | None:
    """Post one entry for the member in its own transaction."""
    fields.setdefault("key", f"test-{next(_keys)}")
    with rt.db.transaction() as s:
        return ledger.post(
            s,
            members.lock(s, member_id),
            ledger.Posting(points=points, type=type, channel="admin", **fields),
            rt.clock(),
        )


def grant(rt, member_id: str, points: int, **fields) -> LedgerEntry:
    """Spendable points at once, whatever the program's pending days."""
    return post(rt, member_id, points, activates_at=rt.clock(), **fields)


def act(rt, member_id: str, action, *args, **kwargs):
    """Run ``action(session, locked_member, *args, now=..., **kwargs)`` in one transaction."""
    with rt.db.transaction() as s:
        return action(s, members.lock(s, member_id), *args, now=rt.clock(), **kwargs)


def fresh(session, stale: LedgerEntry) -> LedgerEntry:
    """``stale`` (from an earlier transaction) as the database has it now, in ``session``."""
    return session.get(LedgerEntry, stale.seq)


def entry(rt, entry_id: str) -> LedgerEntry:
    with rt.db.reader() as s:
        return s.execute(select(LedgerEntry).where(LedgerEntry.id == entry_id)).scalar_one()


def entries(rt, member_id: str) -> list[LedgerEntry]:
    with rt.db.reader() as s:
        return (
            s.execute(select(LedgerEntry).where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq))
            .scalars()
            .all()
        )


def member(rt, member_id: str) -> Member:
    with rt.db.reader() as s:
        return s.get(Member, member_id)


def balances(rt, member_id: str) -> tuple[int, int, int]:
    """(spendable, pending, held)."""
    m = member(rt, member_id)
    return m.points, m.pending_points, m.held_points


def lot_remaining(rt, entry_id: str) -> int:
    with rt.db.reader() as s:
        return s.execute(select(PointLot.remaining).where(PointLot.entry_id == entry_id)).scalar_one()


def settle(
    rt,
    member_id: str,
    order_id: str,
    spend: str,
    *,
    at: datetime,
    cancelled: bool = False,
    refunds: tuple[tuple[str, str], ...] = (),
) -> orders.Settlement:
    """Settle one state of an order placed by the member (known by our member id, as Toast loyalty does)."""
    order = Order(
        key=f"test:order:{order_id}",
        modified_at=at,
        eligible_spend=Decimal(spend),
        paid=True,
        cancelled=cancelled,
        identity=Identity(member_id=member_id),
        refunds=tuple(Refund(k, Decimal(a)) for k, a in refunds),
    )
    with rt.db.transaction() as s:
        merchant = s.execute(select(Merchant).where(Merchant.slug == "demo-cafe")).scalar_one()
        return orders.settle(s, merchant, order, "shopify", rt.clock())


def refund(rt, order_id: str, refund_id: str, amount: str) -> orders.Settlement:
    """A refund of ``amount`` of the order's eligible spend."""
    with rt.db.transaction() as s:
        merchant = s.execute(select(Merchant).where(Merchant.slug == "demo-cafe")).scalar_one()
        return orders.apply_refund(
            s, merchant, f"test:order:{order_id}", Refund(refund_id, Decimal(amount)), "shopify", rt.clock()
        )


def assert_consistent(rt, member_id: str) -> None:
    """Stored balances equal the rebuilt ones, never negative, and the lots add up to them."""
    with rt.db.reader() as s:
        m = s.get(Member, member_id)
        assert ledger_rebuild.differences(s, m) == []
        assert m.points >= 0 and m.pending_points >= 0 and m.held_points >= 0
        for pending, stored in ((False, m.points), (True, m.pending_points)):
            in_lots = s.execute(
                select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_id == member_id, PointLot.pending.is_(pending)
                )
            ).scalar_one()
            assert in_lots == stored
        lowest = s.execute(select(func.min(PointLot.remaining)).where(PointLot.member_id == member_id)).scalar()
        assert lowest is None or lowest >= 0
