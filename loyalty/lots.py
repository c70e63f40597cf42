"""Point lots: what is left of each earning, and the order in which debits take it.

A lot is one earning (an accrual, an addition, points transferred in) with
what is left of it and the instant it expires (``None``: never). A debit
takes lots soonest-expiring first, never-expiring last, older lots first on
a tie; a refund of that debit gives the very same takes back, so the points
come back with their original dates.

Pure: no I/O and no clock. Instants are aware datetimes passed in; time
zones are ``tzinfo`` objects the caller builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Lot:
    """What is left of one earning, and when it expires (``None``: never)."""

    id: int
    remaining: int
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Take:
    """``points`` taken from (or, for a refund, given back to) lot ``lot_id``."""

    lot_id: int
    points: int


def spending_order(lots: Iterable[Lot]) -> list[Lot]:
    """Lots in the order debits take them: soonest expiry first, never-expiring last, then by id."""
    return sorted(
        lots, key=lambda lot: (lot.expires_at is None, lot.expires_at.timestamp() if lot.expires_at else 0.0, lot.id)
    )


def consume(lots: Iterable[Lot], points: int) -> tuple[list[Take], int]:
    """Take ``points`` from ``lots`` in spending order.

    Returns the takes and the shortfall (what the lots could not cover).
    Lots with nothing left are skipped; a non-positive ``points`` takes nothing.
    """
    takes, wanted = [], max(points, 0)
    for lot in spending_order(lots):
        if wanted == 0:
            break
        taken = min(lot.remaining, wanted)
        if taken > 0:
            takes.append(Take(lot.id, taken))
            wanted -= taken
    return takes, wanted


def apply(lots: Iterable[Lot], takes: Iterable[Take], sign: int = -1) -> list[Lot]:
    """The lots after ``takes`` (``sign=-1``: taken from them; ``sign=+1``: given back)."""
    moved: dict[int, int] = {}
    for take in takes:
        moved[take.lot_id] = moved.get(take.lot_id, 0) + sign * take.points
    return [replace(lot, remaining=lot.remaining + moved.get(lot.id, 0)) for lot in lots]


def restore(lots: Iterable[Lot], takes: Iterable[Take]) -> list[Lot]:
    """The lots after a refund of the debit that made ``takes``: the same lots get the same points back."""
    return apply(lots, takes, sign=+1)


def expired(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    """Lots past their expiry that still hold points, in spending order.

    They are always the head of :func:`spending_order`, which is why an
    expiration posted as an ordinary debit takes exactly them.
    """
    return [
        lot for lot in spending_order(lots) if lot.remaining > 0 and lot.expires_at is not None and now > lot.expires_at
    ]


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The last instant (to the microsecond) of ``day`` in ``tz``, in UTC."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    # Subtract in UTC: aware arithmetic in ``tz`` is wall-clock arithmetic and would ignore DST.
    return next_midnight.astimezone(UTC) - _INSTANT


def local_date(instant: datetime, tz: tzinfo) -> date:
    """The calendar date of ``instant`` in ``tz``."""
    return instant.astimezone(tz).date()


def end_of_day_after(instant: datetime, days: int, tz: tzinfo) -> datetime:
    """The end of the day ``days`` days after ``instant``'s date in ``tz`` (0: the end of that same day)."""
    return end_of_day(local_date(instant, tz) + timedelta(days=days), tz)
