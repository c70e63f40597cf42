"""Settling an order (Shopify order, Toast check) to its latest state in the ledger.

Each order has an account row (``OrderAccount``) that records what it earned,
its refunds, whether it is cancelled or reversed at the POS, the points it
holds, and the pricing fixed when it first earned. Every function here locks
the account row first, then the member's: the same order everywhere, so two
workers never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.orders import Order, Refund
from loyalty.points import OrderPosition, points_for_spend, refunded_spend
from models import LedgerEntry, Member, Merchant, OrderAccount
from services import ledger
from services.members.lookup import lock as lock_member
from services.members.lookup import resolve_member
from services.programs import OrderTarget, ProgramEngine, builtin, engine_for

# Channels whose ACCRUAL entries an order's settlement posted (reference = the order's key).
ORDER_CHANNELS = ("shopify", "toast", "toast_loyalty")


@dataclass(frozen=True)
class Settlement:
    """What settling one order state did."""

    member_id: str | None
    points_posted: int
    stale: bool = False


@dataclass(frozen=True)
class Pricing:
    """What an order is priced by: fixed on its account when it first earns (ledger.md)."""

    rate: Decimal
    rounding: str
    multiplier: Decimal


def settle(
    session: Session, merchant: Merchant, order: Order, channel: str, now: datetime, *, revives: bool = False
) -> Settlement:
    """Bring the ledger for ``order`` to what this state earns, unless a later state was already settled.

    Refunds carried by the state are recorded first (once each, whichever path
    brings them); a cancelled order stays cancelled. An order reversed at the
    POS earns again on a paid state that is later than the reversal, or on a
    new POS accrual (``revives``).
    """
    account = lock_account(session, merchant.id, order.key, now)
    if account.last_modified_at and order.modified_at < account.last_modified_at:
        return Settlement(account.member_id, 0, stale=True)
    if account.reversed_at is not None and not _revived(account, order, revives):
        if not order.cancelled:
            return Settlement(account.member_id, 0, stale=True)
        account.cancelled = True  # a void is final whatever came before; the account already holds 0
        account.last_modified_at = order.modified_at
        return Settlement(account.member_id, 0)
    member = _member_for(session, merchant, account, order, now)
    for refund in order.refunds:
        _record_refund(account, refund)
    account.last_modified_at = order.modified_at
    account.cancelled = account.cancelled or order.cancelled
    account.reversed_at = None
    if order.taxes_included is not None:
        account.taxes_included = order.taxes_included
    if order.paid and not account.cancelled:
        account.earned = _earning(session, merchant, member, account, order)
    posted = _post_delta(session, account, member, channel, now, engine=engine_for(merchant))
    return Settlement(member.id if member else None, posted)


def _revived(account: OrderAccount, order: Order, revives: bool) -> bool:
    # toast-loyalty.md: a later state of a reversed check earns again, posting only the difference.
    return order.paid and (revives or order.modified_at > account.reversed_at)


def apply_refund(
    session: Session, merchant: Merchant, order_key: str, refund: Refund, channel: str, now: datetime
) -> Settlement:
    """Reverse points for a refund, in proportion to the refunded spend; a repeat changes nothing."""
    account = lock_account(session, merchant.id, order_key, now)
    if not _record_refund(account, refund):
        return Settlement(account.member_id, 0)
    member = lock_member(session, account.member_id) if account.member_id else None
    posted = _post_delta(session, account, member, channel, now, key=refund.key, engine=engine_for(merchant))
    return Settlement(account.member_id, posted)


def reverse_account(session: Session, merchant: Merchant, order_key: str, channel: str, now: datetime) -> Settlement:
    """A POS reversal of an order's accrual: what it holds goes until a later state earns it again."""
    account = lock_account(session, merchant.id, order_key, now)
    account.reversed_at = now
    member = lock_member(session, account.member_id) if account.member_id else None
    return Settlement(
        account.member_id, _post_delta(session, account, member, channel, now, engine=engine_for(merchant))
    )


def order_entry_account(session: Session, entry: LedgerEntry) -> OrderAccount | None:
    """The order account that posted ``entry``, when it is an order's accrual; locked. None otherwise.

    Call it before locking the entry's member: accounts are locked before members.
    """
    if entry.type != "ACCRUAL" or entry.channel not in ORDER_CHANNELS or not entry.reference:
        return None
    found = session.execute(
        select(OrderAccount.id).where(
            OrderAccount.merchant_id == entry.merchant_id, OrderAccount.order_key == entry.reference
        )
    ).scalar()
    return lock_account(session, entry.merchant_id, entry.reference, entry.created_at) if found else None


def cancel_order_entry(
    session: Session,
    account: OrderAccount,
    member: Member,
    entry: LedgerEntry,
    *,
    key: str,
    channel: str,
    now: datetime,
) -> LedgerEntry | None:
    """Cancel an order's accrual (partner API): the order is cancelled as a POS void would be.

    The entry is reversed by an entry that references it (the answer to the
    caller); then whatever else the order still holds goes too, and later
    states, refunds and voids of it post nothing more. None when the entry
    cannot be cancelled (already canceled, ``key`` taken).
    """
    back = ledger.cancel(session, member, entry, key=key, channel=channel, now=now)
    if back is None:
        return None
    account.held += back.points
    account.shortfall += back.shortfall
    account.cancelled = True
    _post_delta(session, account, member, channel, now, engine=builtin.ENGINE)  # only the ledger has entries
    return back


def lock_account(session: Session, merchant_id: int, order_key: str, now: datetime) -> OrderAccount:
    """The order's account row, created when first seen, locked for this transaction."""
    query = (
        select(OrderAccount)
        .where(OrderAccount.merchant_id == merchant_id, OrderAccount.order_key == order_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
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


def _member_for(
    session: Session, merchant: Merchant, account: OrderAccount, order: Order, now: datetime
) -> Member | None:
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
    recorded = {"amount": format(refund.amount, "f"), "tax": format(refund.tax, "f")}
    account.refunds = {**account.refunds, refund.key: recorded}
    return True


def _earning(session: Session, merchant: Merchant, member: Member | None, account: OrderAccount, order: Order) -> int:
    """What this paid state earns, priced as the order was when it first earned."""
    if member is None:
        return 0
    first = account.rate is None
    spend = order.spend_on(order.spend_basis if first else account.spend_basis)
    pricing = _current_pricing(session, merchant, member, account) if first else _fixed_pricing(account)
    points = points_for_spend(spend, pricing.rate, pricing.rounding, pricing.multiplier)
    if points > ledger.MAX_POINTS:
        raise ledger.PointsOutOfRange(points)  # before the account stores it: a BIGINT would overflow
    account.eligible_spend = spend
    if first and points > 0:
        # ledger.md: the pricing in force at the first accrual prices every later state.
        account.rate, account.rounding, account.multiplier = pricing.rate, pricing.rounding, pricing.multiplier
        account.spend_basis = order.spend_basis
    return points


def _current_pricing(session: Session, merchant: Merchant, member: Member, account: OrderAccount) -> Pricing:
    program = merchant.program
    # A multiplier fixed before the rest of the pricing was (older accounts) is kept.
    multiplier = account.multiplier if account.multiplier is not None else ledger.multiplier_for(session, member)
    return Pricing(Decimal(str(program["points_per_currency_unit"])), program.get("rounding", "floor"), multiplier)


def _fixed_pricing(account: OrderAccount) -> Pricing:
    return Pricing(
        account.rate, account.rounding or "floor", account.multiplier if account.multiplier is not None else Decimal(1)
    )


def _refunded(account: OrderAccount) -> Decimal:
    total = Decimal(0)
    for recorded in account.refunds.values():
        if isinstance(recorded, str):
            total += Decimal(recorded)  # recorded before refunds kept their tax: already measured
        else:
            total += refunded_spend(
                Decimal(recorded["amount"]), Decimal(recorded["tax"]), account.spend_basis, account.taxes_included
            )
    return total


def _position(account: OrderAccount) -> OrderPosition:
    return OrderPosition(
        earned=account.earned,
        eligible_spend=account.eligible_spend,
        refunded=_refunded(account),
        cancelled=account.cancelled or account.reversed_at is not None,
        held=account.held,
        shortfall=account.shortfall,
    )


def _post_delta(
    session: Session,
    account: OrderAccount,
    member: Member | None,
    channel: str,
    now: datetime,
    key: str | None = None,
    *,
    engine: ProgramEngine,
) -> int:
    """Hand the order's target to the merchant's engine, which posts the difference from what it holds."""
    if member is None:
        return 0
    position = _position(account)
    spend = Decimal(0) if position.cancelled else max(account.eligible_spend - position.refunded, Decimal(0))
    target = OrderTarget(points=position.target(), spend=spend, occurred_at=account.last_modified_at or now)
    return engine.settle_order(session, account, member, target, channel=channel, now=now, key=key)
