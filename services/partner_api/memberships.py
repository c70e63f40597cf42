"""Program memberships for the partner API: get-or-create, read, list, update, remove, merge, magic link.

Every write runs in one transaction through ``services.partner_api.idempotency.run_once``
(so a retry with the same key replays the first result) and schedules its
follow-up jobs (Shopify wallet tagging) only after that transaction commits.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import flag_modified

from loyalty.identity import normalize_email, normalize_phone, region_for_currency
from models import Member, Merchant
from services import ledger
from services.errors import BadRequest, Conflict
from services.members import VISIBLE, announce, magic_links, privacy
from services.members import merge as member_merge
from services.members.lookup import lock
from services.outbox import postings
from services.partner_api.access import get_member, require_ledger
from services.partner_api.idempotency import run_once
from services.partner_api.views import MembershipView, MembershipWritten
from services.programs import engine_for
from services.runtime import QueueUnavailable, Runtime
from services.shopify.tagging import tagging_follow_ups

log = logging.getLogger(__name__)

COLUMNS = ("external_user_id", "phone", "email", "first_name", "last_name", "birthday", "wallet_address")
EXTRAS = ("metadata", "social_media_credentials", "family_member_birthdays")
# Unique per merchant, and the error a partner gets when another member holds the value.
UNIQUE = {
    "phone": "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS",
    "external_user_id": "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS",
    "email": "EMAIL_ALREADY_EXISTS",
}
_CONFLICT_MESSAGES = {
    "EMAIL_ALREADY_EXISTS": "This email already belongs to another program membership.",
    "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS": (
        "The given parameters match more than one program membership."
    ),
}
_TAGGING_FIELDS = {"email", "wallet_address"}
_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # members.id is a String(32) of our making


@dataclass
class Result:
    """What a membership write did, for rendering and for its after-commit jobs."""

    member: Member
    created: bool = False
    magic_link: str | None = None
    follow_ups: list[tuple[str, tuple]] = field(default_factory=list)


Action = Callable[[Session, Merchant, datetime], Result]


# --- use cases ---------------------------------------------------------------


def create(rt: Runtime, merchant_id: int, data: dict, *, key: str | None) -> MembershipWritten:
    """Get-or-create a member (Hang's ``POST /program-memberships``): 200 either way, ``created`` tells which.

    The phone is the identity when given, else the external user id; a found
    member only gets its missing fields filled in.
    """
    return _perform(rt, merchant_id, key, {"op": "create", **data}, lambda s, m, now: get_or_create(s, m, data, now))


def update(rt: Runtime, merchant_id: int, member_id: str, data: dict, *, key: str | None) -> MembershipWritten:
    """Partially update a member: the given fields are overwritten (null clears), with the create conflict rules."""
    return _perform(
        rt,
        merchant_id,
        key,
        {"op": "update", "id": member_id, **data},
        lambda s, m, now: patch(s, m, member_id, data, now),
    )


def remove(rt: Runtime, merchant_id: int, member_id: str, *, key: str | None) -> MembershipWritten:
    """Remove a member from the program: spendable points forfeited, personal data erased, ledger kept."""
    return _perform(
        rt, merchant_id, key, {"op": "remove", "id": member_id}, lambda s, m, now: delete(s, m, member_id, now)
    )


def merge(rt: Runtime, merchant_id: int, source_id: str, target_id: str, *, key: str | None) -> MembershipWritten:
    """Merge ``source_id`` into ``target_id`` for good (see ``services.member_merge``); answers the target."""
    require_ledger(rt, merchant_id)
    return _perform(
        rt,
        merchant_id,
        key,
        {"op": "merge", "source": source_id, "target": target_id},
        lambda s, m, now: merge_members(s, m, source_id, target_id, now),
    )


def get(rt: Runtime, merchant_id: int, member_id: str) -> Member:
    """The merchant's visible member ``member_id``; ``NotFound`` otherwise."""
    with rt.db.reader() as session:
        return get_member(session, merchant_id, member_id)


def magic_link(rt: Runtime, merchant_id: int, member_id: str) -> magic_links.MagicLink:
    """A fresh signed link to the member's page."""
    member = get(rt, merchant_id, member_id)
    return magic_links.issue(rt, merchant_id, member.id)


def page(
    rt: Runtime,
    merchant_id: int,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    updated_since: int | None = None,
) -> tuple[list[Member], str | None]:
    """One page of the merchant's members, oldest first, and the cursor of the next page (None at the end).

    Keyset pagination on (created_at, id): rows added while a client pages
    never make it see a member twice or miss one that existed when it began.
    """
    query = select(Member).where(Member.merchant_id == merchant_id, Member.status.in_([status] if status else VISIBLE))
    if updated_since is not None:
        query = query.where(Member.updated_at >= datetime.fromtimestamp(updated_since, UTC))
    if cursor:
        created_at, member_id = _decode_cursor(cursor)
        query = query.where(
            or_(Member.created_at > created_at, and_(Member.created_at == created_at, Member.id > member_id))
        )
    with rt.db.reader() as session:
        rows = session.execute(query.order_by(Member.created_at, Member.id).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1]) if more else None)


# --- the writes, inside one transaction ---------------------------------------


def get_or_create(session: Session, merchant: Merchant, data: dict, now: datetime) -> Result:
    """Find the member by phone or external id (one of them required) or create it; see ``create``."""
    fields = {k: v for k, v in _clean(merchant, data).items() if v is not None}
    if not (fields.get("phone") or fields.get("external_user_id")):
        raise BadRequest(
            "Missing required parameters.",
            code="MISSING_REQUIRED_PARAMETERS",
            details=[{"field": "phone", "problem": "phone or external_user_id is required"}],
        )
    member = _match(session, merchant.id, fields)
    if member is None:
        member = _insert(session, merchant, fields, now)
        if member is not None:
            return Result(member, created=True, follow_ups=_tagging(merchant, member, set(fields)))
        member = _match(session, merchant.id, fields)  # a concurrent call created it first
    member = lock(session, member.id)
    changed = _fill_missing(session, member, fields)
    if changed:
        _touch(member, now)
    return Result(member, follow_ups=_tagging(merchant, member, changed))


def patch(session: Session, merchant: Merchant, member_id: str, data: dict, now: datetime) -> Result:
    """Overwrite the given fields of a member (and its status); conflicts as in ``get_or_create``."""
    member = lock(session, get_member(session, merchant.id, member_id).id)
    fields = _clean(merchant, data)
    for name in UNIQUE:
        if fields.get(name) and fields[name] != getattr(member, name):
            _refuse_taken(session, merchant.id, name, fields[name], member.id)
    changed = _overwrite(member, fields)
    if data.get("status") and data["status"] != member.status:
        member.status = data["status"]
        changed.add("status")
    if changed:
        _touch(member, now)
    return Result(member, follow_ups=_tagging(merchant, member, changed))


def delete(session: Session, merchant: Merchant, member_id: str, now: datetime) -> Result:
    """Forfeit the spendable points with a FORFEIT entry, then erase the member (status DELETED)."""
    member = lock(session, get_member(session, merchant.id, member_id).id)
    ledger.activate_due(session, member, now)  # points due by now are spendable, so they are forfeited too
    if member.points > 0:
        ledger.post(
            session,
            member,
            ledger.Posting(
                key=f"partner_api:forfeit:{member.id}", points=-member.points, type="FORFEIT", channel="partner_api"
            ),
            now,
        )
    privacy.erase(member, now)  # announced there
    flag_modified(member, "updated_at")
    return Result(member)


def merge_members(session: Session, merchant: Merchant, source_id: str, target_id: str, now: datetime) -> Result:
    """Lock both members (in id order, so opposite merges cannot deadlock) and merge source into target."""
    if source_id == target_id:
        raise BadRequest(
            "A program membership cannot be merged into itself.",
            code="INVALID_PARAMETERS",
            details=[{"field": "target_program_membership_id", "problem": "equals the source"}],
        )
    for member_id in sorted((source_id, target_id)):
        get_member(session, merchant.id, member_id)
    locked = {member_id: lock(session, member_id) for member_id in sorted((source_id, target_id))}
    member_merge.merge(session, locked[source_id], locked[target_id], now=now)
    target = locked[target_id]
    return Result(target, follow_ups=tagging_follow_ups(merchant, target))


# --- helpers -----------------------------------------------------------------


def _perform(rt: Runtime, merchant_id: int, key: str | None, body: dict, action: Action) -> MembershipWritten:
    """Run ``action`` once per idempotency key, add the magic link when asked, and schedule its jobs after commit."""
    jobs: list[tuple[str, tuple]] = []

    def write(session: Session) -> MembershipWritten:
        merchant = session.get(Merchant, merchant_id)
        result = action(session, merchant, rt.clock())
        session.flush()
        if result.member.status in VISIBLE:
            engine_for(merchant).enroll(session, result.member, rt.clock())  # a provider learns of it after commit
        link = magic_links.issue(rt, merchant_id, result.member.id).url if body.get("include_magic_link") else None
        jobs.extend(result.follow_ups)
        jobs.extend(postings.follow_ups(session))
        return MembershipWritten(membership=MembershipView.of(result.member), created=result.created, magic_link=link)

    written = run_once(rt, merchant_id, key, body, MembershipWritten, write)
    if not written.replayed:  # this call's transaction committed: its jobs are due
        _dispatch(rt, jobs)
    return written


def _dispatch(rt: Runtime, jobs: list[tuple[str, tuple]]) -> None:
    for job, args in jobs:
        try:
            rt.dispatcher.dispatch(job, *args)
        except QueueUnavailable:
            # The member is saved; only its tag waits for the next qualifying change.
            log.warning("queue unavailable: %s%s not scheduled", job, args)


def _tagging(merchant: Merchant, member: Member, changed: set[str]) -> list[tuple[str, tuple]]:
    """Tagging is due when this write gave the member its email or its wallet address."""
    return tagging_follow_ups(merchant, member) if changed & _TAGGING_FIELDS else []


def _clean(merchant: Merchant, data: dict) -> dict:
    """The member fields of a request: "" is null, the phone in E.164, the email checked, extras in stored shape."""
    fields = {k: (None if v == "" else v) for k, v in data.items() if k in COLUMNS or k in EXTRAS}
    if fields.get("phone") is not None:
        fields["phone"] = _phone(merchant, fields["phone"])
    if fields.get("email") is not None:
        fields["email"] = _email(fields["email"])
    if fields.get("family_member_birthdays") is not None:
        fields["family_member_birthdays"] = [_family(item) for item in fields["family_member_birthdays"]]
    if fields.get("social_media_credentials") is not None:
        fields["social_media_credentials"] = {k: v for k, v in fields["social_media_credentials"].items() if v}
    return fields


def _phone(merchant: Merchant, raw: str) -> str:
    phone = normalize_phone(raw, region_for_currency(merchant.currency))
    if phone is None:
        raise BadRequest(
            "Some parameters are not valid.",
            code="INVALID_PARAMETERS",
            details=[{"field": "phone", "problem": "not a valid phone number (use E.164, e.g. +18884546767)"}],
        )
    return phone


def _email(raw: str) -> str:
    if normalize_email(raw) is None:
        raise BadRequest(
            "Some parameters are not valid.",
            code="INVALID_PARAMETERS",
            details=[{"field": "email", "problem": "not a valid email address"}],
        )
    return raw.strip()


def _family(item: dict) -> dict:
    # Stored the way Hang renders it: ``birth_date``, and ``last_name`` "" when absent.
    return {
        "first_name": item["first_name"],
        "last_name": item.get("last_name") or "",
        "birth_date": item["birthday"],
        "status": item["status"],
    }


def _find(session: Session, merchant_id: int, name: str, value: str) -> Member | None:
    column = Member.email_normalized if name == "email" else getattr(Member, name)
    value = value.lower() if name == "email" else value
    return session.execute(
        select(Member).where(Member.merchant_id == merchant_id, column == value, Member.status.in_(VISIBLE))
    ).scalar_one_or_none()


def _match(session: Session, merchant_id: int, fields: dict) -> Member | None:
    """The member the phone (the identity when given) or else the external id names."""
    by_phone = _find(session, merchant_id, "phone", fields["phone"]) if fields.get("phone") else None
    by_external = (
        _find(session, merchant_id, "external_user_id", fields["external_user_id"])
        if fields.get("external_user_id")
        else None
    )
    if by_phone and by_external and by_phone.id != by_external.id:
        _conflict("MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS", "external_user_id")
    return by_phone or by_external


def _insert(session: Session, merchant: Merchant, fields: dict, now: datetime) -> Member | None:
    """A new member, or None when a concurrent call inserted the same identity first.

    The unique constraints decide, not a read before the insert: a concurrent
    call may commit the same guest (email included) in between.
    """
    member = Member(
        merchant_id=merchant.id,
        created_at=now,
        updated_at=now,
        lifetime_earned=0,
        email_normalized=fields["email"].lower() if fields.get("email") else None,
        extra={name: fields[name] for name in EXTRAS if name in fields},
        **{name: fields[name] for name in COLUMNS if name in fields},
    )
    ledger.refresh_tier(session, member)  # a new member starts in the entry tier
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        if _match(session, merchant.id, fields) is None:
            _refuse_taken(session, merchant.id, "email", fields.get("email"), None)
            raise
        return None
    announce.created(session, member, now)
    return member


def _fill_missing(session: Session, member: Member, fields: dict) -> set[str]:
    """Give ``member`` the fields it lacks (dict extras: the keys it lacks); returns the names changed."""
    changed = set()
    for name in COLUMNS:
        if fields.get(name) and not getattr(member, name):
            if name in UNIQUE:
                _refuse_taken(session, member.merchant_id, name, fields[name], member.id)
            _set_column(member, name, fields[name])
            changed.add(name)
    extra = dict(member.extra or {})
    for name in EXTRAS:
        current, given = extra.get(name), fields.get(name)
        merged = {**given, **(current or {})} if isinstance(given, dict) else (current or given)
        if given is not None and merged != current:
            extra[name] = merged
            changed.add(name)
    member.extra = extra
    return changed


def _overwrite(member: Member, fields: dict) -> set[str]:
    """Set the given fields (null clears; ``metadata`` and social keys merge, a null key removes)."""
    changed = {name for name in COLUMNS if name in fields and fields[name] != getattr(member, name)}
    for name in changed:
        _set_column(member, name, fields[name])
    extra = dict(member.extra or {})
    for name in EXTRAS:
        if name not in fields:
            continue
        given = fields[name]
        value = (
            {k: v for k, v in {**extra.get(name, {}), **given}.items() if v is not None}
            if isinstance(given, dict)
            else given
        )
        if value != extra.get(name):
            extra[name] = value
            changed.add(name)
    member.extra = {k: v for k, v in extra.items() if v is not None}
    return changed


def _touch(member: Member, now: datetime) -> None:
    # Flagged, so the column's ``onupdate`` (the wall clock) never overrides the service's clock.
    member.updated_at = now
    flag_modified(member, "updated_at")
    announce.updated(object_session(member), member, now)


def _set_column(member: Member, name: str, value: str | None) -> None:
    setattr(member, name, value)
    if name == "email":
        member.email_normalized = value.lower() if value else None


def _refuse_taken(session: Session, merchant_id: int, name: str, value: str | None, member_id: str | None) -> None:
    """409 when another member of the merchant (in any status) holds ``value``."""
    if not value:
        return
    column = Member.email_normalized if name == "email" else getattr(Member, name)
    owner = session.execute(
        select(Member.id).where(
            Member.merchant_id == merchant_id,
            column == (value.lower() if name == "email" else value),
            Member.id != (member_id or ""),
        )
    ).first()
    if owner is not None:
        _conflict(UNIQUE[name], name)


def _conflict(code: str, field_name: str) -> None:
    raise Conflict(
        _CONFLICT_MESSAGES[code],
        code=code,
        details=[{"field": field_name, "problem": "belongs to another program membership"}],
    )


def _encode_cursor(member: Member) -> str:
    raw = json.dumps([member.created_at.isoformat(), member.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor names; 400 ``INVALID_CURSOR`` for anything we could not have issued.

    Only an instant with its offset that stays inside the calendar in UTC, and
    an id of our shape: any other value would fail in the database, not here.
    """
    try:
        created_at, member_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        instant = datetime.fromisoformat(created_at)
        if instant.tzinfo is None or not isinstance(member_id, str) or not _MEMBER_ID.fullmatch(member_id):
            raise ValueError(cursor)
        return instant.astimezone(UTC), member_id
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(
            "The cursor is not valid; start again without it.",
            code="INVALID_CURSOR",
            details=[{"field": "cursor", "problem": "not a cursor this API returned"}],
        ) from None
