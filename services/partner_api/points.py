"""Partner API use cases on points: the card, the ledger list, spend activities, adjustments, temporary
transactions (commit / roll back), cancellations and tiers.

Every write runs through ``services.partner_api.idempotency.run_once`` and
answers a :class:`PointsWritten`: the entry and the balances, ``created`` when
it posted an entry (not when it only moved a lifecycle). The idempotency key
is also the entry's business key (``api:<key>``), so even a write that lost
its stored answer posts once; every key derived here (a keyless adjustment,
a rollback, a cancel) is ``partner_api:…``, which no client key can take.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import lots
from loyalty.points import points_for_spend
from models import LedgerEntry, Member, Merchant, OrderAccount, Redemption, Tier
from models.base import new_id
from services import ledger
from services.errors import BadRequest, NotFound, Unprocessable
from services.ledger import views as ledger_views
from services.members import VISIBLE
from services.members.lookup import lock
from services.partner_api.access import get_member, provider_unavailable, require_ledger
from services.partner_api.idempotency import client_key, internal_key, run_once
from services.partner_api.views import BalanceView, PointsWritten, TransactionView
from services.programs import engine_for
from services.runtime import Runtime
from services.settlement import accounts as orders

CHANNEL = "partner_api"
_MILLISECONDS_FROM = 10**11  # epoch seconds reach 10^11 only in the year 5138
_MAX_POINTS = 2**63 - 1  # balances and lifetime points are BIGINT columns


# --- reads -------------------------------------------------------------------


def card(rt: Runtime, merchant_id: int, member_id: str) -> dict:
    """The member's points card (balances, lifetime buckets, pending points, next expiration and activation)."""
    with rt.db.reader() as session:
        member = get_member(session, merchant_id, member_id)
        shown = engine_for(session.get(Merchant, merchant_id)).card(rt, session, member)
    if shown is None:
        raise provider_unavailable()
    return shown


def transactions(
    rt: Runtime, merchant_id: int, member_id: str, *, type: str | None, limit: int, cursor: str | None
) -> tuple[list[TransactionView], str | None]:
    """One page of the member's ledger, newest first, and the next page's cursor (None at the end)."""
    require_ledger(rt, merchant_id)
    with rt.db.reader() as session:
        get_member(session, merchant_id, member_id)
        rows, next_cursor = ledger_views.transactions(session, member_id, type=type, limit=limit, cursor=cursor)
        return [TransactionView.of(row) for row in rows], next_cursor


def tiers(rt: Runtime, merchant_id: int) -> list[dict]:
    """The merchant's active tiers, lowest first."""
    with rt.db.reader() as session:
        rows = session.execute(
            select(Tier).where(Tier.merchant_id == merchant_id, Tier.active).order_by(Tier.min_lifetime_points)
        ).scalars()
        return [
            {"name": t.name, "min_lifetime_points": t.min_lifetime_points, "multiplier": float(t.multiplier)}
            for t in rows
        ]


def _written(created: bool, entry: LedgerEntry, member: Member) -> PointsWritten:
    return PointsWritten(transaction=TransactionView.of(entry), balance=BalanceView.of(member), created=created)


# --- spend activities ----------------------------------------------------------


def spend_instant(timestamp: float) -> datetime:
    """``transaction_timestamp`` as an instant: epoch milliseconds when it is that large, else seconds."""
    seconds = timestamp / 1000 if timestamp >= _MILLISECONDS_FROM else timestamp
    return datetime.fromtimestamp(seconds, UTC)


def record_activity(
    rt: Runtime, merchant_id: int, member_id: str, *, value: Decimal, timestamp: float, key: str | None
) -> PointsWritten:
    """Accrue a Hang-style spend activity by the program's rules; the idempotency key is required.

    Points are ``points_for_spend`` at the program's rate and rounding with the
    member's tier multiplier, pending for ``program.pending_days`` counted from
    the purchase (``transaction_timestamp``, never later than now). A spend that
    earns 0 points posts nothing: 422 ``NO_POINTS_EARNED``.
    """
    require_ledger(rt, merchant_id)
    if not key:
        raise BadRequest(
            "Missing required parameters.",
            code="MISSING_REQUIRED_PARAMETERS",
            details=[{"field": "idempotency_key", "problem": "required for activities (or Idempotency-Key)"}],
        )
    # str, not format(value, "f"): the plain form of 1E-999999999 is a billion characters long.
    request = {"operation": "activity", "member": member_id, "value": str(value), "timestamp": timestamp}
    return run_once(
        rt,
        merchant_id,
        key,
        request,
        PointsWritten,
        lambda session: _accrue(rt, session, merchant_id, member_id, value, timestamp, key),
    )


def _accrue(
    rt: Runtime, session: Session, merchant_id: int, member_id: str, value: Decimal, timestamp: float, key: str
) -> PointsWritten:
    now = rt.clock()
    member = _locked_member(session, merchant_id, member_id)
    program, tz = ledger.program_of(session, merchant_id)
    points = _earned(session, member, program, value)
    bought = min(spend_instant(timestamp), now)
    pending_days = int(program.get("pending_days") or 0)
    # The return window runs from the purchase, not from when the partner told us about it.
    activates_at = lots.end_of_day_after(bought, pending_days, tz) if pending_days else None
    posting = ledger.Posting(
        key=client_key(key),
        points=points,
        type="ACCRUAL",
        channel=CHANNEL,
        activates_at=activates_at,
        idempotency_key=key,
    )
    return _written(True, _posted(session, member, posting, now), member)


def _earned(session: Session, member: Member, program: dict, value: Decimal) -> int:
    """The points ``value`` earns the member; 422 ``NO_POINTS_EARNED`` when that rounds to 0 (nothing is posted)."""
    rate = Decimal(str(program["points_per_currency_unit"]))
    points = points_for_spend(value, rate, program.get("rounding", "floor"), ledger.multiplier_for(session, member))
    if points <= 0:  # ledger.md: amounts that round to 0 points post nothing (no empty entry)
        raise Unprocessable(
            "This activity earns no points at the program's rate.",
            code="NO_POINTS_EARNED",
            details=[{"field": "activity.value", "problem": f"{value} at {rate} points per currency unit is 0 points"}],
        )
    return points


# --- direct adjustments ----------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    """``POST /program-memberships/{id}/points``: a direct credit or debit, or a temporary debit (a hold)."""

    points: int
    reason: str | None = None
    is_temp: bool = False
    temp_timeout_sec: int | None = None
    activation_date: date | None = None
    expiration_date: date | None = None


def adjust(rt: Runtime, merchant_id: int, member_id: str, adjustment: Adjustment, key: str | None) -> PointsWritten:
    """Add (ADDITION) or remove (REMOVAL) points, or hold them (``is_temp``: a HOLD to commit or roll back).

    A debit beyond the spendable balance is refused with 422 ``INSUFFICIENT_POINTS``.
    A temporary hold is rolled back by the hold-expiry job after
    ``temp_timeout_sec`` (default ``program.hold_ttl_seconds``).
    """
    require_ledger(rt, merchant_id)
    _validate(adjustment)
    request = {"operation": "adjustment", "member": member_id, **adjustment.__dict__}
    return run_once(
        rt,
        merchant_id,
        key,
        request,
        PointsWritten,
        lambda session: _adjust(rt, session, merchant_id, member_id, adjustment, key),
    )


def _validate(adj: Adjustment) -> None:
    problems = []
    if adj.points == 0:
        problems.append({"field": "points", "problem": "must not be 0"})
    if adj.is_temp and adj.points > 0:
        problems.append({"field": "is_temp", "problem": "a temporary transaction holds points: points must be < 0"})
    if adj.points < 0 and (adj.activation_date or adj.expiration_date):
        problems.append({"field": "activation_date", "problem": "dates apply to credits only"})
    if not adj.is_temp and adj.temp_timeout_sec is not None:
        problems.append({"field": "temp_timeout_sec", "problem": "only with is_temp"})
    if adj.activation_date and adj.expiration_date and adj.expiration_date < adj.activation_date:
        problems.append({"field": "expiration_date", "problem": "must not be before activation_date"})
    if problems:
        raise BadRequest("Some parameters are not valid.", code="INVALID_PARAMETERS", details=problems)


def _adjust(
    rt: Runtime, session: Session, merchant_id: int, member_id: str, adj: Adjustment, key: str | None
) -> PointsWritten:
    now = rt.clock()
    member = _locked_member(session, merchant_id, member_id)
    business_key = client_key(key) if key else internal_key(new_id("adj"))
    if adj.is_temp:
        return _written(True, _temporary_hold(session, member, adj, business_key, key, now), member)
    if adj.points < 0:
        ledger.activate_due(session, member, now)  # due pending points count as spendable
        if -adj.points > member.points:
            raise Unprocessable(
                f"Only {member.points} points can be removed.",
                code="INSUFFICIENT_POINTS",
                details=[{"field": "points", "problem": f"spendable balance is {member.points}"}],
            )
    posting = ledger.Posting(
        key=business_key,
        points=adj.points,
        type="ADDITION" if adj.points > 0 else "REMOVAL",
        channel=CHANNEL,
        reference=adj.reason,
        idempotency_key=key,
        **_dates(session, merchant_id, adj, now),
    )
    return _written(True, _posted(session, member, posting, now), member)


def _dates(session: Session, merchant_id: int, adj: Adjustment, now: datetime) -> dict:
    """A credit's activation (the start of that day) and expiry (the end of that day), in the merchant's zone."""
    _, tz = ledger.program_of(session, merchant_id)
    dates = {}
    if adj.activation_date:
        dates["activates_at"] = datetime.combine(adj.activation_date, time(0), tzinfo=tz).astimezone(UTC)
    if adj.expiration_date:
        dates["expires_at"] = lots.end_of_day(adj.expiration_date, tz)
        if dates["expires_at"] <= max(now, dates.get("activates_at", now)):
            raise BadRequest(
                "Some parameters are not valid.",
                code="INVALID_PARAMETERS",
                details=[{"field": "expiration_date", "problem": "must be later than today and the activation"}],
            )
    return dates


def _temporary_hold(
    session: Session, member: Member, adj: Adjustment, business_key: str, key: str | None, now: datetime
) -> LedgerEntry:
    program, _ = ledger.program_of(session, member.merchant_id)
    ttl = adj.temp_timeout_sec or int(program.get("hold_ttl_seconds") or 900)
    try:
        entry = ledger.hold(
            session,
            member,
            key=business_key,
            points=-adj.points,
            channel=CHANNEL,
            reference=adj.reason,
            now=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    except ledger.InsufficientPoints:
        raise Unprocessable(
            f"Only {member.points} points can be held.",
            code="INSUFFICIENT_POINTS",
            details=[{"field": "points", "problem": f"spendable balance is {member.points}"}],
        ) from None
    if entry is None:
        raise _already_posted(business_key)
    entry.idempotency_key = key  # the entry was inserted by this very transaction
    return entry


def _posted(session: Session, member: Member, posting: ledger.Posting, now: datetime) -> LedgerEntry:
    if (
        posting.points > 0
        and max(member.points, member.pending_points, member.lifetime_earned) > _MAX_POINTS - posting.points
    ):  # a 422 here rather than a database overflow at commit
        raise Unprocessable(
            "These points would take the balance beyond what can be kept.",
            code="POINTS_LIMIT_EXCEEDED",
            details=[{"field": "points", "problem": f"{posting.points} points is too many for this member"}],
        )
    entry = ledger.post(session, member, posting, now)
    if entry is None:
        raise _already_posted(posting.key)
    return entry


def _already_posted(business_key: str) -> Exception:
    # The answer of the first write is stored with its key; only a write whose answer
    # was lost (or a key reused on another member) lands here.
    return Unprocessable(f"A transaction with key {business_key!r} already exists.", code="TRANSACTION_ALREADY_POSTED")


# --- temporary transactions and cancellations ------------------------------------------


def commit(rt: Runtime, merchant_id: int, transaction_id: str, key: str | None = None) -> PointsWritten:
    """Commit a temporary transaction (a held adjustment): its points are spent. A repeat answers the same (200)."""
    require_ledger(rt, merchant_id)
    return _lifecycle(rt, merchant_id, transaction_id, key, "commit", _commit)


def rollback(rt: Runtime, merchant_id: int, transaction_id: str, key: str | None = None) -> PointsWritten:
    """Roll back a temporary transaction: the held points come back by a REVERSAL (201; a repeat 200)."""
    require_ledger(rt, merchant_id)
    return _lifecycle(rt, merchant_id, transaction_id, key, "rollback", _rollback)


def cancel(rt: Runtime, merchant_id: int, transaction_id: str, key: str | None = None) -> PointsWritten:
    """Cancel a committed transaction by a reversing entry (201); a second cancel answers that entry (200).

    Cancelling an order's accrual cancels the order (ledger.md): it holds 0
    from then on, and its later states, refunds and voids post nothing more.
    """
    require_ledger(rt, merchant_id)

    def write(session: Session) -> PointsWritten:
        account = _order_account(session, merchant_id, transaction_id)  # accounts lock before members
        member, entry = _locked_entry(session, merchant_id, transaction_id)
        return _cancel(session, member, entry, rt.clock(), account)

    return run_once(rt, merchant_id, key, {"operation": "cancel", "transaction": transaction_id}, PointsWritten, write)


def _lifecycle(
    rt: Runtime, merchant_id: int, transaction_id: str, key: str | None, operation: str, act
) -> PointsWritten:
    def write(session: Session) -> PointsWritten:
        member, entry = _locked_entry(session, merchant_id, transaction_id)
        return act(session, member, entry, rt.clock())

    return run_once(rt, merchant_id, key, {"operation": operation, "transaction": transaction_id}, PointsWritten, write)


def _commit(session: Session, member: Member, entry: LedgerEntry, now: datetime) -> PointsWritten:
    _temporary(session, entry)
    if entry.status == "HELD" and entry.expires_at is not None and now >= entry.expires_at:
        raise Unprocessable("This temporary transaction outlived its timeout.", code="TRANSACTION_EXPIRED")
    if entry.status == "HELD":
        ledger.commit_hold(member, entry)
    elif entry.status != "COMMITTED":
        raise Unprocessable(f"This transaction is {entry.status}; it cannot be committed.", code="TRANSACTION_NOT_HELD")
    return _written(False, entry, member)


def _rollback(session: Session, member: Member, entry: LedgerEntry, now: datetime) -> PointsWritten:
    _temporary(session, entry)
    if entry.status == "HELD":
        back = ledger.release_hold(
            session, member, entry, key=internal_key("rollback", entry.id), channel=CHANNEL, now=now
        )
        return _written(True, back, member)
    if entry.status == "ROLLED_BACK":
        return _written(False, _reversal_of(session, entry), member)
    raise Unprocessable(f"This transaction is {entry.status}; cancel it instead.", code="TRANSACTION_NOT_HELD")


def _cancel(
    session: Session, member: Member, entry: LedgerEntry, now: datetime, account: OrderAccount | None = None
) -> PointsWritten:
    if _redemption_of(session, entry) is not None:
        raise Unprocessable("Void the redemption instead.", code="TRANSACTION_BELONGS_TO_REDEMPTION")
    if entry.status == "CANCELED":
        previous = _reversal_of(session, entry)
        if previous is not None:
            return _written(False, previous, member)
    key = internal_key("cancel", entry.id)
    if account is not None:
        back = orders.cancel_order_entry(session, account, member, entry, key=key, channel=CHANNEL, now=now)
    else:
        back = ledger.cancel(session, member, entry, key=key, channel=CHANNEL, now=now)
    if back is None:
        raise Unprocessable(
            f"A {entry.type} transaction that is {entry.status} cannot be canceled.", code="TRANSACTION_NOT_CANCELLABLE"
        )
    return _written(True, back, member)


def _temporary(session: Session, entry: LedgerEntry) -> None:
    """Refuse what is not a temporary transaction: only holds made by an adjustment are."""
    if entry.type != "HOLD":
        raise Unprocessable(
            "Only a temporary transaction can be committed or rolled back.", code="TRANSACTION_NOT_TEMPORARY"
        )
    if _redemption_of(session, entry) is not None:
        raise Unprocessable("Redeem or void the redemption instead.", code="TRANSACTION_BELONGS_TO_REDEMPTION")


def _redemption_of(session: Session, entry: LedgerEntry) -> str | None:
    return session.execute(select(Redemption.id).where(Redemption.hold_entry_id == entry.id)).scalar_one_or_none()


def _reversal_of(session: Session, entry: LedgerEntry) -> LedgerEntry | None:
    return (
        session.execute(select(LedgerEntry).where(LedgerEntry.reverses_id == entry.id).order_by(LedgerEntry.seq.desc()))
        .scalars()
        .first()
    )


# --- loading under the member's lock ----------------------------------------------------


def _locked_member(session: Session, merchant_id: int, member_id: str) -> Member:
    return lock(session, get_member(session, merchant_id, member_id).id)


def _order_account(session: Session, merchant_id: int, transaction_id: str) -> OrderAccount | None:
    """The locked account of the order whose accrual ``transaction_id`` is, if it is one (unlocked peek first)."""
    entry = session.execute(
        select(LedgerEntry).where(LedgerEntry.id == transaction_id, LedgerEntry.merchant_id == merchant_id)
    ).scalar_one_or_none()
    return orders.order_entry_account(session, entry) if entry is not None else None


def _locked_entry(session: Session, merchant_id: int, transaction_id: str) -> tuple[Member, LedgerEntry]:
    """The merchant's entry, read after its member's row lock; another merchant's id is not found."""
    member_id = session.execute(
        select(LedgerEntry.member_id)
        .join(Member, Member.id == LedgerEntry.member_id)
        .where(LedgerEntry.id == transaction_id, LedgerEntry.merchant_id == merchant_id, Member.status.in_(VISIBLE))
    ).scalar_one_or_none()
    if member_id is None:
        raise NotFound("No transaction matches.", code="TRANSACTION_NOT_FOUND")
    member = lock(session, member_id)
    entry = session.execute(
        select(LedgerEntry).where(LedgerEntry.id == transaction_id).execution_options(populate_existing=True)
    ).scalar_one()
    return member, entry
