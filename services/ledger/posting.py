"""Posting points: append-only entries, idempotent on (merchant, business key), balances under a row lock.

How the stored balances follow from the entries (``flask ledger rebuild``
recomputes them this way, services/ledger_rebuild.py):

- ``pending_points``: the sum of the entries whose status is ``PENDING``
  (pending earnings, and the reversals that took points back from them);
- ``points`` (spendable): the sum of every other entry, whatever its status
  (a ``HELD``, ``COMMITTED``, ``ROLLED_BACK`` or ``CANCELED`` entry moved its
  points when posted; what undoes it is another entry);
- ``held_points``: minus the sum of the ``HELD`` entries;
- ``lifetime_earned``: ACCRUAL and ADDITION, minus negative REVERSALs (the
  reversals of earnings), replayed in order and never below zero;
- ``owed_points``: the entries' shortfalls less what ``collect:`` entries
  took back (services/ledger_owed.py).

Every credit opens a lot (services/ledger_lots.py) unless it gives a debit
back, which restores that debit's lots; every debit takes lots
soonest-expiring first.

Decisions where spec/ledger.md is silent:

- "End of the day" is the last microsecond before the next local midnight in
  the merchant's time zone. An accrual posted on day D with
  ``pending_days = n`` activates at the end of D+n; its lot expires at the end
  of (activation day + ``expiration_days``). Both instants are fixed on the
  entry when it is posted, so a later change of the program does not move
  points already earned.
- Pending applies to ACCRUAL and ADDITION only; explicit ``activates_at`` /
  ``expires_at`` on a posting win over the program.
- Pending points cannot be spent or held. A reversal of an order takes the
  order's own pending points first (newest earning first), by ``PENDING``
  REVERSAL entries that activate with (and net against) the earning they
  reverse; what is left of a pending earning activates, or the earning and
  its reversals become ``CANCELED`` when nothing is left.
- Due pending lots of a member are also activated whenever that member is
  posted to, so the activation job lagging never blocks a spend.
- A reversal of earnings is an ordinary debit and takes lots
  soonest-expiring first, not the reversed earning's own lot.
- The expiry job's entry is keyed by the local date it runs on
  (``expiration:<member>:<YYYY-MM-DD>``, status ``EXPIRED``, channel
  ``admin``); points refunded to an already expired lot after that entry
  expire with the next day's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loyalty import lots
from loyalty.tiers import TierRule, tier_for
from models import LedgerEntry, Member, Merchant, Tier, insert_unless_exists
from models.db import POSTED_ENTRIES, after_commit
from models.tables import PointLot
from services import metrics
from services.errors import PermanentFailure
from services.ledger import announce
from services.ledger import lots as ledger_lots
from services.ledger import owed as ledger_owed

EARNING_TYPES = {"ACCRUAL", "ADDITION"}  # count toward lifetime points; pending during program.pending_days


@dataclass(frozen=True)
class Posting:
    """A request to move points for one member.

    ``activates_at`` and ``expires_at`` are instants. On a credit they
    override the program's dates (an earning pending until ``activates_at``,
    its lot expiring at ``expires_at``); on a HOLD, ``expires_at`` is its time
    to live.
    """

    key: str
    points: int
    type: str
    channel: str
    reference: str | None = None
    reverses_id: str | None = None
    # Kept for existing callers: lifetime points follow the type and sign (see the module
    # docstring), so that a rebuild from the entries alone agrees with what was posted.
    counts_as_earning: bool = False
    status: str = "ACTIVE"
    activates_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None


def post(session: Session, member: Member, posting: Posting, now: datetime) -> LedgerEntry | None:
    """Append ``posting`` for a locked ``member`` and update the stored balances and lots.

    Returns the new entry, or None when an entry with the same business key
    already exists (the posting was already made). A credit is ``PENDING``
    until its activation date, if it has one; a negative posting takes only
    what is spendable; the rest is recorded as the entry's ``shortfall``.
    """
    activate_due(session, member, now)
    _within_range(member, posting)
    entry = insert_unless_exists(
        session, LedgerEntry, _entry(session, member, posting, now), ("merchant_id", "business_key")
    )
    if entry is None:
        return None
    after_commit(session, lambda kind=entry.type: metrics.ledger_posted(kind))
    session.info.setdefault(POSTED_ENTRIES, []).append(entry.id)
    _apply(session, member, entry)
    ledger_lots.book(session, member, entry)
    ledger_owed.owe(member, entry)
    announce.entry_posted(session, member, entry)
    if ledger_owed.gives_back(entry) and member.owed_points > 0:
        # Points coming back pay what the member owes before they can be spent.
        ledger_owed.collect(session, member, entry, now, post)
    return entry


MAX_POINTS = 2**63 - 1  # entries and balances are BIGINT columns


class PointsOutOfRange(PermanentFailure):
    """A posting whose points, or the balances it leads to, no BIGINT column can hold."""

    def __init__(self, points: int) -> None:
        super().__init__(f"{points} points would take a balance beyond {MAX_POINTS}", code="points_out_of_range")
        self.points = points


def _within_range(member: Member, posting: Posting) -> None:
    # Refused here, with a reason, rather than as a database overflow at commit: an absurd
    # payload or rate must fail its delivery or request, not the worker's transaction.
    largest = max(member.points, member.pending_points, member.lifetime_earned, member.held_points, member.owed_points)
    if abs(posting.points) > MAX_POINTS or largest + abs(posting.points) > MAX_POINTS:
        raise PointsOutOfRange(posting.points)


def _entry(session: Session, member: Member, posting: Posting, now: datetime) -> dict:
    status, activates_at, expires_at = posting.status, posting.activates_at, posting.expires_at
    points, shortfall = posting.points, 0
    if points > 0 and posting.reverses_id is None:
        status, activates_at, expires_at = _schedule(session, member, posting, now)
    elif points < 0 and status != "PENDING" and -points > member.points:
        points, shortfall = -member.points, -points - member.points
    return dict(
        merchant_id=member.merchant_id,
        member_id=member.id,
        business_key=posting.key,
        type=posting.type,
        status=status,
        channel=posting.channel,
        points=points,
        shortfall=shortfall,
        reference=posting.reference,
        reverses_id=posting.reverses_id,
        idempotency_key=posting.idempotency_key,
        created_at=now,
        activates_at=activates_at,
        expires_at=expires_at,
    )


def _schedule(session: Session, member: Member, posting: Posting, now: datetime):
    """Status, activation and expiry of a credit that opens a lot: the posting's dates, else the program's."""
    program, tz = program_of(session, member.merchant_id)
    activates_at = posting.activates_at
    pending_days = int(program.get("pending_days") or 0)
    if activates_at is None and posting.type in EARNING_TYPES and pending_days > 0:
        activates_at = lots.end_of_day_after(now, pending_days, tz)
    expiration_days = int(program.get("expiration_days") or 0)
    expires_at = posting.expires_at
    if expires_at is None and expiration_days > 0:
        # Points expire counted from the day they become spendable.
        expires_at = lots.end_of_day_after(activates_at or now, expiration_days, tz)
    if activates_at is not None and expires_at is not None and expires_at <= activates_at:
        raise ValueError("a credit cannot expire before it activates")
    pending = activates_at is not None and activates_at > now
    return ("PENDING" if pending else posting.status), activates_at, expires_at


def program_of(session: Session, merchant_id: int) -> tuple[dict, ZoneInfo]:
    """The merchant's program settings and time zone."""
    merchant = session.get(Merchant, merchant_id)
    # Held for the session: its identity map keeps only weak references, and the posting's event
    # (services.outbox.events) reads the same merchant again; without this it is a second SELECT.
    session.info.setdefault("punchcard.merchants", {})[merchant_id] = merchant
    return merchant.program or {}, ZoneInfo(merchant.timezone or "UTC")


def counts_as_earning(entry_type: str, points: int) -> bool:
    """True for the entries that move lifetime points: earnings, and reversals of earnings (negative)."""
    return entry_type in EARNING_TYPES or (entry_type == "REVERSAL" and points < 0)


def _apply(session: Session, member: Member, entry: LedgerEntry) -> None:
    if entry.status == "PENDING":
        member.pending_points += entry.points
    else:
        member.points += entry.points
    if entry.status == "HELD":
        member.held_points -= entry.points
    if counts_as_earning(entry.type, entry.points):
        member.lifetime_earned = max(0, member.lifetime_earned + entry.points)
        refresh_tier(session, member, entry.created_at)


def refresh_tier(session: Session, member: Member, now: datetime | None = None) -> None:
    """Move the member up to the tier its lifetime points reach (never down).

    With ``now`` (a change of a member that exists), reaching a new tier is
    announced to the merchant's systems (``tier.changed``). Taking the program's
    entry tier (0 lifetime points) at a member's first posting is not: every
    member starts there, and nothing was reached.
    """
    before = member.tier
    reached = tier_for(member.lifetime_earned, tier_rules(session, member.merchant_id), member.tier)
    member.tier = reached.name if reached else None
    entered = before is None and reached is not None and reached.min_lifetime_points == 0
    if now is not None and member.tier != before and not entered:
        announce.tier_changed(session, member, before, member.tier, now)


def tier_rules(session: Session, merchant_id: int) -> list[TierRule]:
    """The merchant's active tiers as pure rules, read once per session (a settle needs them twice)."""
    cache = session.info.setdefault("tier_rules", {})
    if merchant_id not in cache:
        # Nothing a transaction writes changes tiers (only a sync does): no flush of its pending changes first.
        with session.no_autoflush:
            rows = session.execute(select(Tier).where(Tier.merchant_id == merchant_id, Tier.active)).scalars().all()
        cache[merchant_id] = [TierRule(t.name, t.min_lifetime_points, t.multiplier) for t in rows]
    return cache[merchant_id]


def multiplier_for(session: Session, member: Member) -> Decimal:
    """The accrual multiplier of the member's current tier (1 without tiers)."""
    rule = next((t for t in tier_rules(session, member.merchant_id) if t.name == member.tier), None)
    return rule.multiplier if rule else Decimal(1)


# --- reversals of earnings --------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """The entries one operation posted (a reversal of earnings may post several); None: key already posted."""

    entries: list[LedgerEntry | None]

    @property
    def points(self) -> int:
        """Points taken back in all (negative)."""
        return sum(e.points for e in self.entries if e is not None)

    @property
    def shortfall(self) -> int:
        """Points that could not be taken back (already spent)."""
        return sum(e.shortfall for e in self.entries if e is not None)


def reverse_earnings(session: Session, member: Member, posting: Posting, now: datetime) -> Posted:
    """Take back ``-posting.points`` earned under ``posting.reference`` (an order, a check).

    The reference's own pending points go first, newest earning first, each by
    a ``PENDING`` reversal keyed ``<key>:pending:<entry id>`` that references
    it; what is left is taken from spendable points under ``posting.key``,
    with a shortfall for what was already spent. A ``None`` among the entries
    means that key had already been posted.
    """
    wanted, entries = -posting.points, []
    for lot in ledger_lots.pending_of(session, member.id, posting.reference) if posting.reference else ():
        taken = min(wanted, lot.remaining)
        if taken <= 0:
            break
        entries.append(
            post(
                session,
                member,
                replace(
                    posting,
                    key=f"{posting.key}:pending:{lot.entry_id}",
                    points=-taken,
                    status="PENDING",
                    reverses_id=lot.entry_id,
                    activates_at=lot.activates_at,
                    expires_at=None,
                ),
                now,
            )
        )
        wanted -= taken
    if wanted > 0 or not entries:
        entries.append(post(session, member, replace(posting, points=-wanted), now))
    return Posted(entries)


def activate(session: Session, member: Member, lot: PointLot, now: datetime) -> bool:
    """Make a due pending lot spendable; False when it is not pending or not due (a repeat).

    Its earning, and the pending reversals that took from it, become ``ACTIVE``
    together (``CANCELED`` when nothing is left): the balances move by what is
    left of the lot.
    """
    if not lot.pending or lot.activates_at is None or lot.activates_at > now:
        return False
    close_pending(session, lot, "ACTIVE" if lot.remaining > 0 else "CANCELED")
    member.pending_points -= lot.remaining
    member.points += lot.remaining
    return True


def activate_due(session: Session, member: Member, now: datetime) -> int:
    """Activate the locked member's due pending lots; returns how many.

    The activation job does this for everyone; doing it whenever a member is
    posted to as well means a reversal never meets a lot that is due but not
    yet activated, and due points are spendable even while the job lags.
    """
    return sum(activate(session, member, lot, now) for lot in ledger_lots.due_pending(session, member.id, now))


def close_pending(session: Session, lot: PointLot, status: str) -> None:
    """Give a pending lot's earning and the pending reversals that took from it ``status``; the lot stops pending."""
    group = session.execute(
        select(LedgerEntry).where(
            LedgerEntry.status == "PENDING",
            or_(LedgerEntry.id == lot.entry_id, LedgerEntry.reverses_id == lot.entry_id),
        )
    ).scalars()
    for entry in group:
        entry.status = status
    lot.pending = False
