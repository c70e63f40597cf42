"""A merchant's ledger as CSV rows (``flask ledger export``), oldest first, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select

from models import LedgerEntry, Merchant
from services.errors import NotFound
from services.runtime import Runtime

COLUMNS = (
    "id",
    "created_at",
    "member_id",
    "type",
    "status",
    "channel",
    "points",
    "shortfall",
    "business_key",
    "reference",
    "reverses_id",
    "activates_at",
    "expires_at",
)


def merchant_id(rt: Runtime, slug: str) -> int:
    """The id of the merchant ``slug``; ``NotFound`` when there is none."""
    with rt.db.reader() as session:
        found = session.scalar(select(Merchant.id).where(Merchant.slug == slug))
    if found is None:
        raise NotFound(f"No merchant {slug}.", code="MERCHANT_NOT_FOUND")
    return found


def count(rt: Runtime, merchant: int, since: datetime | None = None) -> int:
    """How many entries :func:`rows` will give."""
    with rt.db.reader() as session:
        return session.scalar(_where(select(func.count()).select_from(LedgerEntry), merchant, since))


def rows(rt: Runtime, merchant: int, since: datetime | None = None) -> Iterator[list[str]]:
    """The merchant's entries created at or after ``since``, oldest first, as CSV rows (instants ISO 8601 UTC)."""
    with rt.db.reader() as session:
        query = _where(select(LedgerEntry), merchant, since).order_by(LedgerEntry.seq)
        for entry in session.scalars(query.execution_options(yield_per=1000)):
            yield [_text(getattr(entry, column)) for column in COLUMNS]


def _where(query, merchant: int, since: datetime | None):
    query = query.where(LedgerEntry.merchant_id == merchant)
    return query.where(LedgerEntry.created_at >= since) if since else query


def _text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else str(value)
