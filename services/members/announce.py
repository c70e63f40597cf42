"""Membership events (events.md): a member created, or its identity, status or metadata changed, in any channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Member
from services.members.views import MembershipView
from services.outbox import events


def created(session: Session, member: Member, now: datetime) -> None:
    """``membership.created``, with the membership as the partner API renders it."""
    _emit(session, member, "membership.created", now)


def updated(session: Session, member: Member, now: datetime) -> None:
    """``membership.updated``, with the membership as it is now."""
    _emit(session, member, "membership.updated", now)


def _emit(session: Session, member: Member, kind: str, now: datetime) -> None:
    session.flush()  # defaults (created_at, updated_at) are filled in before the member is rendered
    events.emit(
        session,
        merchant_id=member.merchant_id,
        type=kind,
        member_id=member.id,
        occurred_at=now,
        data=MembershipView.of(member).published(),
    )
