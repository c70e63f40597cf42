"""LOYALTY_SEARCH, LOYALTY_SIGNUP and LOYALTY_TRANSFER."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from loyalty.identity import normalize_email, normalize_phone, region_for_currency
from loyalty.orders import Identity
from models import Member
from services.members.lookup import lock_survivor, member_by_id, resolve_member
from services.members.merge import merge
from services.programs import ProgramManagedByProvider, engine_for
from services.toast.pos.errors import LoyaltyError

SEARCH_LIMIT = 20


def account_info(member: Member, points: int | Decimal | None) -> dict:
    """Toast's ``AccountInfo`` for a member; the identifier is our opaque member id.

    ``points`` is the spendable balance the engine reported, points or a
    store-credit program's money (None: not known now, e.g. a provider that
    did not answer: the POS shows no balance).
    """
    info = {"identifier": member.id}
    if points is not None:
        info["pointsBalance"] = str(points)
    for key, value in (
        ("firstName", member.first_name),
        ("lastName", member.last_name),
        ("phone", member.phone),
        ("email", member.email),
    ):
        if value:
            info[key] = value
    return info


def active_member(ctx, member_id, *, locked: bool = True) -> Member:
    """The merchant's live member ``member_id`` names (row-locked for writers); ``ERROR_ACCOUNT_INVALID`` otherwise.

    The id of a member merged into another names the survivor: a POS that
    still holds the old id acts on the account its points moved to.
    """
    member = member_by_id(ctx.session, ctx.merchant.id, str(member_id)) if member_id else None
    if member is not None and locked:
        member = lock_survivor(ctx.session, member)
    if member is None or member.status != "ACTIVE":
        raise LoyaltyError(code="ERROR_ACCOUNT_INVALID")
    return member


def search(ctx) -> dict:
    """Members matching every given criterion (phone as digits, email and names case-insensitively)."""
    criteria = (ctx.call.body.get("searchTransactionInformation") or {}).get("searchCriteria")
    if not isinstance(criteria, dict) or not any(criteria.get(k) for k in ("phone", "email", "firstName", "lastName")):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    clauses = [Member.merchant_id == ctx.merchant.id, Member.status == "ACTIVE"]
    region = region_for_currency(ctx.merchant.currency)
    if criteria.get("phone"):
        clauses.append(Member.phone == (normalize_phone(str(criteria["phone"]), region) or "-"))
    if criteria.get("email"):
        clauses.append(Member.email_normalized == normalize_email(str(criteria["email"])))
    for key, column in (("firstName", Member.first_name), ("lastName", Member.last_name)):
        if criteria.get(key):
            clauses.append(func.lower(column) == str(criteria[key]).strip().lower())
    members = (
        ctx.session.execute(select(Member).where(*clauses).order_by(Member.created_at).limit(SEARCH_LIMIT))
        .scalars()
        .all()
    )
    if not members:
        raise LoyaltyError(code="ERROR_ACCOUNT_INVALID")
    # The built-in ledger's balance is on the row; a provider's would cost one call per account, so the
    # POS shows it once the guest's check is open (INQUIRE).
    local = engine_for(ctx.merchant).name == "punchcard"
    return {"searchResponse": {"accounts": [account_info(m, m.points if local else None) for m in members]}}


def signup(ctx) -> dict:
    """Get-or-create a member by exactly one of phone (ten digits) or email."""
    info = ctx.call.body.get("signupTransactionInformation")
    if not isinstance(info, dict):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    phone, email = info.get("phone"), info.get("email")
    if bool(phone) == bool(email):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    identity = Identity(
        phone=normalize_phone(str(phone), region_for_currency(ctx.merchant.currency)) if phone else None,
        email=normalize_email(str(email)) if email else None,
        first_name=info.get("firstName") or None,
        last_name=info.get("lastName") or None,
    )
    if identity.is_empty:
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    member = resolve_member(ctx.session, ctx.merchant.id, identity, ctx.rt.clock())
    engine_for(ctx.merchant).enroll(ctx.session, member, ctx.rt.clock())  # a provider learns of it after commit
    return {"signupResponse": {"loyaltyIdentifier": member.id}}


def transfer(ctx) -> dict:
    """Merge one account into another: balances and links move, the source is closed.

    Both ids resolve as everywhere else (a merged member's id names its
    survivor), so a transfer repeated after it was done, under a new
    transaction GUID, finds both ids naming one member and changes nothing.
    """
    info = ctx.call.body.get("transferTransactionInformation") or {}
    source_id, target_id = info.get("fromLoyaltyIdentifier"), info.get("toLoyaltyIdentifier")
    try:
        engine_for(ctx.merchant).require_ledger()  # a provider's members merge in the provider
    except ProgramManagedByProvider:
        raise LoyaltyError(code="ERROR_INVALID_TRANSFER") from None
    if not source_id or not target_id or source_id == target_id:
        raise LoyaltyError(code="ERROR_INVALID_TRANSFER")
    source, target = (active_member(ctx, source_id, locked=False), active_member(ctx, target_id, locked=False))
    # Lock in a fixed order so two opposite transfers cannot deadlock; a merge that
    # committed meanwhile is followed by the lock itself.
    locked = {member_id: active_member(ctx, member_id) for member_id in sorted({source.id, target.id})}
    source, target = locked[source.id], locked[target.id]
    if source.id != target.id:
        merge(ctx.session, source, target, now=ctx.rt.clock())
    return {"transferResponse": {"loyaltyIdentifier": target.id}}
