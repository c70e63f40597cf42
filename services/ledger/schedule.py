"""The ledger's scheduled work: activating pending points, expiring lots, rolling back holds past their time to live.

Each job finds the members with something due in one read, then handles
each member in its own short transaction under the member's row lock,
re-reading what is due there: a job that runs twice, or two runs at once,
do the work once. A member that fails does not stop the others; the first
failure is raised at the end so the job is marked failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty import lots
from models import LedgerEntry, Member, Redemption
from models.tables import PointLot
from services import ledger
from services.ledger import lots as ledger_lots
from services.ledger.locks import lock
from services.runtime import Runtime

log = logging.getLogger(__name__)
SYSTEM_CHANNEL = "admin"  # entries the scheduler posts on the program's behalf


def activate_points(rt: Runtime) -> int:
    """Make every pending lot whose activation instant has come spendable; returns how many lots."""
    now = rt.clock()
    due = select(PointLot.member_id).where(PointLot.pending.is_(True), PointLot.activates_at <= now)
    return _each_member(rt, due, lambda session, member: ledger.activate_due(session, member, now))


def expire_points(rt: Runtime) -> int:
    """Post one EXPIRATION per member and day for what is left of lots past their date; returns entries posted."""
    now = rt.clock()
    due = select(PointLot.member_id).where(
        PointLot.pending.is_(False), PointLot.remaining > 0, PointLot.expires_at < now
    )
    return _each_member(rt, due, lambda session, member: _expire(session, member, now))


def expire_holds(rt: Runtime) -> int:
    """Roll back HELD entries past their time to live and void the redemptions on them; returns holds rolled back.

    Every hold that ends by itself carries ``expires_at``: partner API
    redemptions and temporary transactions (``program.hold_ttl_seconds``),
    Toast REDEEM holds (``program.toast_hold_ttl_seconds``); one without
    lives until it is settled. A redemption of a free reward holds nothing:
    it is voided when its own ``expires_at`` passes, so that an abandoned one
    stops counting for the reward's ``limit`` and ``interval``.
    """
    now = rt.clock()
    due = select(LedgerEntry.member_id).where(LedgerEntry.status == "HELD", LedgerEntry.expires_at <= now)
    done = _each_member(rt, due, lambda session, member: _expire_holds(session, member, now))
    with rt.db.transaction() as session:
        # No points move, so no member lock: the state guard makes a concurrent commit or void win.
        session.execute(
            update(Redemption)
            .where(
                Redemption.state == "initiated",
                Redemption.expires_at <= now,
                Redemption.hold_entry_id.is_(None),
                # A provider's redemption is voided at the provider too (services/programs/upkeep.py).
                Redemption.provider_ref.is_(None),
            )
            .values(state="voided", voided_at=now)
        )
    return done


def _expire(session: Session, member: Member, now: datetime) -> int:
    amount = sum(lot.remaining for lot in ledger_lots.expired_lots(session, member.id, now))
    if amount <= 0:
        return 0
    _, tz = ledger.program_of(session, member.merchant_id)
    # One entry per member and local day; points restored to an expired lot after today's
    # entry (a refund of a spend) expire with tomorrow's.
    key = f"expiration:{member.id}:{lots.local_date(now, tz).isoformat()}"
    # Expired lots are the head of the spending order, so this debit takes exactly them.
    posting = ledger.Posting(key=key, points=-amount, type="EXPIRATION", channel=SYSTEM_CHANNEL, status="EXPIRED")
    return 1 if ledger.post(session, member, posting, now) is not None else 0


def _expire_holds(session: Session, member: Member, now: datetime) -> int:
    holds = (
        session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.member_id == member.id, LedgerEntry.status == "HELD", LedgerEntry.expires_at <= now)
            .order_by(LedgerEntry.seq)
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    done = 0
    for entry in holds:
        if (
            ledger.release_hold(session, member, entry, key=f"hold-expired:{entry.id}", channel=entry.channel, now=now)
            is not None
        ):
            session.execute(
                update(Redemption)
                .where(Redemption.hold_entry_id == entry.id, Redemption.state == "initiated")
                .values(state="voided", voided_at=now)
            )
            done += 1
    return done


def _each_member(rt: Runtime, due, work: Callable[[Session, Member], int]) -> int:
    with rt.db.reader() as session:
        member_ids = session.execute(due.distinct()).scalars().all()
    done, failure = 0, None
    for member_id in sorted(member_ids):
        try:
            with rt.db.transaction() as session:
                done += work(session, lock(session, member_id))
        except Exception as exc:  # noqa: BLE001 - one member must not block the others; re-raised below
            log.exception("ledger job failed for member %s", member_id)
            failure = failure or exc
    if failure is not None:
        raise failure
    return done
