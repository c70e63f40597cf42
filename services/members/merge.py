"""Merging one membership into another (partner API merge, Toast LOYALTY_TRANSFER).

How it is done, and why:
- Everything that belongs to the source moves to the target by changing its
  owner: every ledger entry, order account and redemption (every table whose
  ``member_id`` refers to ``members``, so a table added later moves too).
  An entry's amount, key, status and dates never change, so the history,
  the expiry dates of the points and every rebuild from the ledger stay true
  on the target.
- Holds move as they are: a HELD entry keeps its id and amount and is
  settled (committed, rolled back, expired) on the target by whoever
  settles it, so a redemption or temporary transaction in flight survives
  the merge. Pending points likewise activate on the target.
- The stored balances (spendable, pending, held, lifetime, owed) are added
  to the target's; its tier is recomputed (never down).
- Links (Shopify customer, external id, email, phone, wallet) that the
  target lacks move to it; the rest are released from the source, so no
  closed membership blocks an identity. The source is closed as ``MERGED``
  and both rows record the merge in ``extra`` (``merged_into`` /
  ``merged_from``). Nothing undoes a merge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models import Member, metadata
from services import ledger
from services.members import announce

_BALANCES = ("points", "pending_points", "held_points", "lifetime_earned", "owed_points")
_LINKS = ("shopify_customer_id", "external_user_id", "email", "phone", "wallet_address")


def merge(session: Session, source: Member, target: Member, *, now: datetime) -> None:
    """Move ``source``'s history, balances, holds and links to ``target`` and close ``source``.

    Both members must be row-locked by the caller (in a fixed order, so two
    opposite merges cannot deadlock).
    """
    _move_rows(session, source.id, target.id)
    for name in _BALANCES:
        setattr(target, name, getattr(target, name) + getattr(source, name))
        setattr(source, name, 0)
    ledger.refresh_tier(session, target, now)
    _move_links(session, source, target)
    target.extra = {**(target.extra or {}), "merged_from": [*(target.extra or {}).get("merged_from", []), source.id]}
    source.extra = {**(source.extra or {}), "merged_into": target.id}
    source.status = "MERGED"
    for member in (source, target):
        member.updated_at = now
        flag_modified(member, "updated_at")  # the service's clock, not the column's onupdate
        announce.updated(session, member, now)  # the source closed (MERGED), the target with its new links


def _owned_tables():
    """Tables whose ``member_id`` is a foreign key to ``members``."""
    for table in metadata.sorted_tables:
        column = table.c.get("member_id")
        if column is not None and any(fk.column.table.name == "members" for fk in column.foreign_keys):
            yield table


def _move_rows(session: Session, source_id: str, target_id: str) -> None:
    session.flush()
    for table in _owned_tables():
        session.execute(update(table).where(table.c.member_id == source_id).values(member_id=target_id))
    # Rows already loaded in the session would still name the source.
    session.expire_all()


def _move_links(session: Session, source: Member, target: Member) -> None:
    # Unique per merchant: the source gives a link up (flushed) before the target takes it.
    for name in _LINKS:
        value = getattr(source, name)
        if not value:
            continue
        setattr(source, name, None)
        if name == "email":
            source.email_normalized = None
        session.flush()
        if not getattr(target, name):
            setattr(target, name, value)
            if name == "email":
                target.email_normalized = value.lower()
