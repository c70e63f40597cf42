"""The member's row lock, under which every balance, lot and entry of the member is read and written."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Member


def lock(session: Session, member_id: str) -> Member:
    """Load a member under a row lock (PostgreSQL); SQLite writers are already serialised.

    ``populate_existing`` matters: the member may already sit in the session
    from an unlocked read, and its balances must be the ones read under the lock.
    """
    query = select(Member).where(Member.id == member_id).with_for_update()
    return keep(session, session.execute(query.execution_options(populate_existing=True)).scalar_one())


def keep(session: Session, member: Member) -> Member:
    """Hold ``member`` for the session's life; returns it.

    A session's identity map keeps clean objects only weakly, and a locked (or
    just inserted) member is read again by id (``session.get``) once the
    posting has flushed it: without a strong reference that is a second SELECT.
    """
    session.info.setdefault("punchcard.members", {})[member.id] = member
    return member
