"""Read views of a member's ledger: the points card and the transactions list.

The card's ``lifetime`` buckets, each a non-negative sum over the member's entries:

- ``earned``: ACCRUAL (pending ones included);
- ``added``: ADDITION and TRANSFER_IN;
- ``subtracted``: REMOVAL, TRANSFER_OUT and FORFEIT;
- ``expired``: EXPIRATION;
- ``spent``: REDEMPTION, and HOLDs that were committed (status COMMITTED, or
  CANCELED once refunded);
- ``refunded``: REFUND (spent or removed points given back);
- ``returned``: negative REVERSALs (earnings taken back: order refunds and
  cancellations, canceled accruals and additions, pending points canceled);
- ``locked``: HOLD, whatever became of it;
- ``unlocked``: positive REVERSALs (holds rolled back, by a caller or by
  their time to live).

So ``points + pending_points = earned + added + refunded + unlocked -
subtracted - expired - returned - locked - REDEMPTION``.

``pending_points``: ``total`` is what was posted pending (credits whose
``activates_at`` was later than their posting), ``canceled`` what pending
reversals took back before activation, ``activated`` the rest of it that is no
longer pending. ``next_expiration`` is the soonest local date on which
spendable lots still holding points expire (a lot past its date that the
expiry job has not reached yet included), ``next_activation`` the soonest
local date on which pending lots activate; dates are ``YYYY-MM-DD`` in the
merchant's time zone.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import lots
from models import LedgerEntry, Member
from services import ledger
from services.errors import BadRequest
from services.ledger import lots as ledger_lots

_MAX_SEQ = 2**63 - 1  # ledger_entries.seq is a BIGINT: a larger number is no cursor we issued
_SEQ_CURSOR = re.compile(r"seq:([0-9]{1,19})")
_LIFETIME = ("earned", "added", "subtracted", "expired", "spent", "refunded", "returned", "locked", "unlocked")
_BY_TYPE = {
    "ACCRUAL": "earned",
    "ADDITION": "added",
    "TRANSFER_IN": "added",
    "REMOVAL": "subtracted",
    "TRANSFER_OUT": "subtracted",
    "FORFEIT": "subtracted",
    "EXPIRATION": "expired",
    "REDEMPTION": "spent",
    "REFUND": "refunded",
}


def card(session: Session, member: Member, now: datetime) -> dict:
    """The member's points card: balances, lifetime buckets, pending points, next expiration and activation."""
    _, tz = ledger.program_of(session, member.merchant_id)
    rows = session.execute(
        select(
            LedgerEntry.type, LedgerEntry.status, LedgerEntry.points, LedgerEntry.activates_at, LedgerEntry.created_at
        ).where(LedgerEntry.member_id == member.id)
    ).all()
    return {
        "balance": {"points": member.points, "pending_points": member.pending_points},
        "lifetime": lifetime(rows),
        "pending_points": pending(rows),
        "next_expiration": _soonest(
            [(lot.expires_at, lot.remaining) for lot in ledger_lots.active_lots(session, member.id) if lot.expires_at],
            tz,
        ),
        "next_activation": _soonest(
            [
                (lot.activates_at, lot.remaining)
                for lot in ledger_lots.pending_lots(session, member.id)
                if lot.activates_at
            ],
            tz,
        ),
    }


def lifetime(rows) -> dict[str, int]:
    """The lifetime buckets of entries given as ``(type, status, points, ...)`` rows (see the module docstring)."""
    totals = dict.fromkeys(_LIFETIME, 0)
    for row in rows:
        for bucket in _buckets(row.type, row.status, row.points):
            totals[bucket] += abs(row.points)
    return totals


def _buckets(entry_type: str, status: str, points: int) -> tuple[str, ...]:
    if entry_type == "HOLD":
        return ("locked", "spent") if status in ("COMMITTED", "CANCELED") else ("locked",)
    if entry_type == "REVERSAL":
        return ("returned",) if points < 0 else ("unlocked",)
    return (_BY_TYPE[entry_type],) if entry_type in _BY_TYPE else ()


def pending(rows) -> dict[str, int]:
    """``total``, ``activated`` and ``canceled`` pending points of entries given as rows."""
    total = canceled = still = 0
    for row in rows:
        was_pending = row.activates_at is not None and row.activates_at > row.created_at
        if was_pending and row.points > 0:
            total += row.points
        elif was_pending and row.type == "REVERSAL":
            canceled -= row.points
        if row.status == "PENDING":
            still += row.points
    return {"total": total, "activated": total - canceled - still, "canceled": canceled}


def _soonest(dated: list[tuple[datetime, int]], tz: tzinfo) -> dict | None:
    by_day: dict = {}
    for instant, points in dated:
        day = lots.local_date(instant, tz)
        by_day[day] = by_day.get(day, 0) + points
    if not by_day:
        return None
    day = min(by_day)
    return {"points": by_day[day], "date": day.isoformat()}


def transactions(
    session: Session, member_id: str, *, type: str | None = None, limit: int, cursor: str | None
) -> tuple[list[LedgerEntry], str | None]:
    """One page of the member's entries, newest first by ``seq``, and the cursor of the next page (None at the end).

    The cursor names the last entry of the page, so entries posted while a
    client pages through come before the first page and never shift the
    pages after it. ``BadRequest`` (``INVALID_CURSOR``) for a cursor we did
    not issue.
    """
    query = select(LedgerEntry).where(LedgerEntry.member_id == member_id)
    if type is not None:
        query = query.where(LedgerEntry.type == type)
    if cursor:
        query = query.where(LedgerEntry.seq < _decode(cursor))
    rows = list(session.execute(query.order_by(LedgerEntry.seq.desc()).limit(limit + 1)).scalars())
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], _encode(rows[limit - 1].seq)


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        match = _SEQ_CURSOR.fullmatch(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if match is None or not 0 < int(match[1]) <= _MAX_SEQ:
            raise ValueError(cursor)
        return int(match[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "The cursor is not one this list issued.",
            code="INVALID_CURSOR",
            details=[{"field": "cursor", "problem": "not a cursor of this list"}],
        ) from None
