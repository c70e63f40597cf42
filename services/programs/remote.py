"""What every provider engine shares: the POS's time budget, the member's link, its enrollment posting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Member, ProviderMember
from services.outbox import postings

POS_TIMEOUT = 1.5  # seconds: Toast wants answers in 500 ms on average and gives up at 5 s


def call_timeout(config: dict, *, pos: bool) -> float:
    """Seconds per call to the provider: its ``timeout_seconds`` (5), at most ``POS_TIMEOUT`` on the POS's clock."""
    timeout = float(config.get("timeout_seconds") or 5)
    return min(timeout, POS_TIMEOUT) if pos else timeout


def link_of(session: Session, member_id: str, provider: str) -> ProviderMember | None:
    """The member's account at ``provider``, once the enrollment made one."""
    return session.execute(
        select(ProviderMember).where(ProviderMember.member_id == member_id, ProviderMember.provider == provider)
    ).scalar_one_or_none()


def write_enroll(session: Session, merchant_id: int, provider: str, member: Member, now: datetime) -> None:
    """Queue the member's enrollment at ``provider`` (sent after commit, before any other posting of it)."""
    if link_of(session, member.id, provider) is None:
        postings.write(
            session,
            merchant_id=merchant_id,
            member_id=member.id,
            provider=provider,
            key=f"enroll:{member.id}",
            kind="enroll",
            now=now,
        )
