"""Which members a partner may see: one by id, one by phone, external id or email, and a member's level."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.identity import normalize_email, normalize_phone, region_for_currency
from models import Member, Merchant
from services.errors import BadRequest, NotFound, Unavailable
from services.members import VISIBLE
from services.programs import engine_for
from services.runtime import Runtime


def search_member(
    rt: Runtime,
    merchant_id: int,
    *,
    phone: str | None = None,
    external_user_id: str | None = None,
    email: str | None = None,
) -> Member:
    """The merchant's member with this phone, external id or email; ``NotFound`` otherwise."""
    if not (phone or external_user_id or email):
        raise BadRequest(
            "Missing required parameters.",
            code="MISSING_REQUIRED_PARAMETERS",
            details=[{"field": "phone", "problem": "phone, external_user_id or email is required"}],
        )
    with rt.db.reader() as session:
        merchant = session.get(Merchant, merchant_id)
        clauses = []
        if phone:
            clauses.append(Member.phone == (normalize_phone(phone, region_for_currency(merchant.currency)) or phone))
        if external_user_id:
            clauses.append(Member.external_user_id == external_user_id)
        if email:
            clauses.append(Member.email_normalized == normalize_email(email))
        member = (
            session.execute(
                select(Member).where(Member.merchant_id == merchant_id, Member.status.in_(VISIBLE), *clauses)
            )
            .scalars()
            .first()
        )
    if member is None:
        raise NotFound("No program membership matches.", code="PROGRAM_MEMBERSHIP_NOT_FOUND")
    return member


@dataclass(frozen=True)
class Level:
    """A member's tier and balances: points, or money for a store-credit program (Inveterate's credit)."""

    tier: str | None
    lifetime_points: int | Decimal
    spendable: int | Decimal
    next_tier: tuple[str, int] | None


def get_member(session: Session, merchant_id: int, member_id: str) -> Member:
    """The merchant's member ``member_id``; another merchant's id is simply not found."""
    member = session.get(Member, member_id)
    if member is None or member.merchant_id != merchant_id or member.status not in VISIBLE:
        raise NotFound("No program membership matches.", code="PROGRAM_MEMBERSHIP_NOT_FOUND")
    return member


def level(rt: Runtime, merchant_id: int, member_id: str) -> Level:
    """The member's tier, lifetime and spendable points, and the next tier, as the merchant's engine knows them.

    ``Unavailable`` (``PROVIDER_UNAVAILABLE``) when a provider did not answer.
    """
    with rt.db.reader() as session:
        member = get_member(session, merchant_id, member_id)
        balance = engine_for(session.get(Merchant, merchant_id)).balance(rt, session, member)
    if not balance.reachable:
        raise provider_unavailable()
    if balance.credit is not None:
        return Level(balance.tier, balance.credit_earned or Decimal(0), balance.credit, balance.next_tier)
    return Level(balance.tier, balance.lifetime_points, balance.points, balance.next_tier)


def require_ledger(rt: Runtime, merchant_id: int) -> None:
    """Refuse (409 ``PROGRAM_MANAGED_BY_PROVIDER``) a ledger operation for a merchant whose points live elsewhere."""
    with rt.db.reader() as session:
        engine_for(session.get(Merchant, merchant_id)).require_ledger()


def provider_unavailable() -> Unavailable:
    """The error of a read the merchant's provider did not answer in time."""
    return Unavailable("The loyalty provider did not answer; retry later.", code="PROVIDER_UNAVAILABLE")
