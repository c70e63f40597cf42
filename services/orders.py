"""Settling an order (Shopify order, Toast check) to its latest state in the ledger."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.orders import Order, Refund
from loyalty.points import OrderPosition, points_for_spend
from models import Member, Merchant, OrderAccount
from services import ledger
from services.members import lock as lock_member
from services.members import resolve_member


@dataclass(frozen=True)
class Settlement:
    """What settling one order state did."""

    member_id: str | None
    points_posted: int
    stale: bool = False


def settle(session: Session, merchant: Merchant, order: Order, channel: str, now: datetime) -> Settlement:
    """Bring the ledger for ``order`` to what this state earns, unless a later state was already settled.

    Refunds carried by the state are recorded first (once each, whichever path
    brings them); a cancelled order stays cancelled.
    """
    account = lock_account(session, merchant.id, order.key, now)
    if account.last_modified_at and order.modified_at < account.last_modified_at:
        return Settlement(account.member_id, 0, stale=True)
    member = _member_for(session, merchant, account, order, now)
    for refund in order.refunds:
        _record_refund(account, refund)
    account.last_modified_at = order.modified_at
    account.cancelled = account.cancelled or order.cancelled
    if order.paid and not account.cancelled:
        account.eligible_spend = order.eligible_spend
        account.earned = _earning(session, merchant, member, account, order.eligible_spend)
    posted = _post_delta(session, account, member, channel, now)
    return Settlement(member.id if member else None, posted)


def apply_refund(session: Session, merchant: Merchant, order_key: str, refund: Refund, channel: str,
                 now: datetime) -> Settlement:
    """Reverse points for a refund, in proportion to the refunded spend; a repeat changes nothing."""
    account = lock_account(session, merchant.id, order_key, now)
    if not _record_refund(account, refund):
        return Settlement(account.member_id, 0)
    member = lock_member(session, account.member_id) if account.member_id else None
    return Settlement(account.member_id, _post_delta(session, account, member, channel, now, key=refund.key))


def reverse_account(session: Session, merchant: Merchant, order_key: str, channel: str, now: datetime) -> Settlement:
    """Cancel an order or check for good (a POS reversal): what it holds goes, later states earn nothing."""
    account = lock_account(session, merchant.id, order_key, now)
    account.cancelled = True
    member = lock_member(session, account.member_id) if account.member_id else None
    return Settlement(account.member_id, _post_delta(session, account, member, channel, now))


def lock_account(session: Session, merchant_id: int, order_key: str, now: datetime) -> OrderAccount:
    """The order's account row, created when first seen, locked for this transaction."""
    query = select(OrderAccount).where(OrderAccount.merchant_id == merchant_id,
                                       OrderAccount.order_key == order_key).with_for_update() \
        .execution_options(populate_existing=True)
    account = session.execute(query).scalar_one_or_none()
    if account is not None:
        return account
    try:
        with session.begin_nested():
            session.add(OrderAccount(merchant_id=merchant_id, order_key=order_key, refunds={}, updated_at=now))
            session.flush()
    except IntegrityError:
        pass  # created concurrently: fall through to the locked read
    return session.execute(query).scalar_one()


def _member_for(session: Session, merchant: Merchant, account: OrderAccount, order: Order,
                now: datetime) -> Member | None:
    member = resolve_member(session, merchant.id, order.identity, now)
    if account.member_id is not None and (member is None or member.id != account.member_id):
        # An order belongs to the member who first earned on it.
        member = lock_member(session, account.member_id)
    elif member is not None:
        account.member_id = member.id
    return member


def _record_refund(account: OrderAccount, refund: Refund) -> bool:
    if refund.key in account.refunds:
        return False
    account.refunds = {**account.refunds, refund.key: format(refund.amount, "f")}
    return True


def _earning(session: Session, merchant: Merchant, member: Member | None, account: OrderAccount,
             spend: Decimal) -> int:
    if member is None:
        return 0
    if account.multiplier is None:
        # The tier multiplier is fixed when the order first earns, so a later
        # edit of the same order does not re-price it at a newer tier.
        account.multiplier = ledger.multiplier_for(session, member)
    program = merchant.program
    return points_for_spend(spend, Decimal(str(program["points_per_currency_unit"])),
                            program.get("rounding", "floor"), account.multiplier)


def _position(account: OrderAccount) -> OrderPosition:
    refunded = sum((Decimal(v) for v in account.refunds.values()), Decimal(0))
    return OrderPosition(earned=account.earned, eligible_spend=account.eligible_spend, refunded=refunded,
                         cancelled=account.cancelled, held=account.held, shortfall=account.shortfall)


def _post_delta(session: Session, account: OrderAccount, member: Member | None, channel: str,
                now: datetime, key: str | None = None) -> int:
    delta = _position(account).delta()
    if delta == 0 or member is None:
        return 0
    account.revision += 1
    posting = ledger.Posting(key=key or f"{account.order_key}:r{account.revision}", points=delta,
                             type="ACCRUAL" if delta > 0 else "REVERSAL", channel=channel,
                             reference=account.order_key)
    if delta > 0:
        posted = ledger.Posted([ledger.post(session, member, posting, now)])
    else:
        # The order's own pending points go back first (a refund inside the return
        # window), then spendable points, with a shortfall for what was spent.
        posted = ledger.reverse_earnings(session, member, posting, now)
    if None in posted.entries:
        raise RuntimeError(f"ledger key {posting.key} already posted for a newer account state")
    account.held += posted.points
    account.shortfall += posted.shortfall
    account.updated_at = now
    return posted.points
