"""Finding, creating and refreshing members from what an order or a customer payload tells us."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.orders import Identity
from models import Member
from services.ledger import locks
from services.ledger.locks import lock
from services.members import announce

# Erased (DELETED) and merged-away (MERGED) members are gone for partners and for the member page.
VISIBLE = ("ACTIVE", "INACTIVE")
_NEW = "punchcard.members_created"  # session.info: members this transaction created (their fill-in is no update)
# Identity fields an order may fill in when the member lacks them.
_FILLABLE = ("email", "phone", "first_name", "last_name", "wallet_address")


# A merge chain longer than this is a cycle or corruption: treat the id as naming nobody.
_MAX_MERGE_HOPS = 16


def find_member(session: Session, merchant_id: int, identity: Identity) -> Member | None:
    """The member an identity points at, strongest link first: our id, customer link, email, phone.

    Our id counts only when it names an active member of this merchant (a
    merged member's id names its survivor, see :func:`member_by_id`); an id
    that names nobody falls through to the other links.
    """
    if identity.member_id:
        member = member_by_id(session, merchant_id, identity.member_id)
        if member is not None:
            return member
    lookups = (
        (Member.shopify_customer_id, identity.provider_customer_id),
        (Member.email_normalized, identity.email),
        (Member.phone, identity.phone),
    )
    for column, value in lookups:
        if value:
            member = session.execute(
                select(Member).where(Member.merchant_id == merchant_id, column == value, Member.status != "DELETED")
            ).scalar_one_or_none()
            if member is not None:
                return member
    return None


def member_by_id(session: Session, merchant_id: int, member_id: str) -> Member | None:
    """The active member of this merchant that ``member_id`` names, following merges to the survivor.

    A member merged into another is closed (``MERGED``) and records its
    survivor in ``extra["merged_into"]``; the survivor may itself have been
    merged since. None for an unknown id, another merchant's member, or a
    deleted or inactive one.
    """
    current = str(member_id)
    for _ in range(_MAX_MERGE_HOPS):
        member = session.get(Member, current)
        if member is None or member.merchant_id != merchant_id:
            return None
        if member.status == "ACTIVE":
            return member
        current = (member.extra or {}).get("merged_into") if member.status == "MERGED" else None
        if not current:
            return None
    return None


def resolve_member(session: Session, merchant_id: int, identity: Identity, now: datetime) -> Member | None:
    """Find or create the member for ``identity`` and fill in what it lacks; None without identity.

    A member is only ever created with an identifier someone can find it by
    (a customer link, an email or a phone): a ``member_id`` that names nobody
    creates nothing. A concurrent worker creating the same member trips a
    unique constraint: the insert is retried as a lookup, so one person is
    one member. The member comes back row-locked, before anything refers to
    it: a foreign key written first would take a share lock, and two workers
    upgrading their share locks deadlock.
    """
    if identity.is_empty:
        return None
    member = find_member(session, merchant_id, identity)
    if member is None:
        if not (identity.provider_customer_id or identity.email or identity.phone):
            return None
        member = _create(session, merchant_id, identity, now)
    if member.id not in session.info.get(_NEW, set()):  # a row this transaction inserted is locked already
        member = lock_survivor(session, member)
    if (
        member is not None
        and fill_identity(session, member, identity)
        and not session.info.get(_NEW, set()) & {member.id}
    ):
        announce.updated(session, member, now)  # an order gave a known member an email, a phone, a name
    return member


def lock_survivor(session: Session, member: Member) -> Member | None:
    """Row-lock ``member``, or its survivor when a merge closed it since it was read; None if that is nobody.

    A transfer may commit between reading a member and locking it: the lock
    then returns a ``MERGED`` row, and points posted to it would be lost on a
    closed membership.
    """
    for _ in range(_MAX_MERGE_HOPS):
        locked = lock(session, member.id)
        if locked.status != "MERGED":
            return locked
        member = member_by_id(session, locked.merchant_id, locked.id)
        if member is None:
            return None
    return None


def fill_identity(session: Session, member: Member, identity: Identity, *, overwrite: bool = False) -> bool:
    """Copy identity fields onto ``member`` (only missing ones unless ``overwrite``); True when changed.

    A value already held by another member of the merchant is skipped, never stolen.
    """
    changed = False
    if identity.provider_customer_id and not member.shopify_customer_id:
        changed |= _set_unique(session, member, "shopify_customer_id", identity.provider_customer_id)
    for name in _FILLABLE:
        value = getattr(identity, name)
        if value and (overwrite or not getattr(member, name)) and getattr(member, name) != value:
            changed |= _set_unique(session, member, name, value)
    return changed


def _set_unique(session: Session, member: Member, name: str, value: str) -> bool:
    column = "email_normalized" if name == "email" else name
    if column in ("email_normalized", "phone", "shopify_customer_id"):
        owner = session.execute(
            select(Member.id).where(
                Member.merchant_id == member.merchant_id, getattr(Member, column) == value, Member.id != member.id
            )
        ).first()
        if owner is not None:
            return False
    setattr(member, name, value)
    if name == "email":
        member.email_normalized = value.lower()
    return True


def _create(session: Session, merchant_id: int, identity: Identity, now: datetime) -> Member:
    # Every unique identifier goes into the INSERT itself, so a concurrent
    # creation of the same person collides here rather than at commit.
    member = Member(
        merchant_id=merchant_id,
        shopify_customer_id=identity.provider_customer_id,
        email=identity.email,
        email_normalized=identity.email,
        phone=identity.phone,
        # The rest of the identity too: an UPDATE less, and membership.created carries the name.
        first_name=identity.first_name,
        last_name=identity.last_name,
        wallet_address=identity.wallet_address,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        existing = find_member(session, merchant_id, identity)
        if existing is None:
            raise
        return existing
    session.info.setdefault(_NEW, set()).add(member.id)
    locks.keep(session, member)
    announce.created(session, member, now)
    return member


def needs_shopify_tag(member: Member) -> bool:
    """True when the member qualifies for wallet tagging and has not been tagged yet."""
    return bool(
        member.email and member.wallet_address and member.shopify_tagged_at is None and member.status != "DELETED"
    )
