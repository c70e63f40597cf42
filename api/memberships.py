"""Partner API: program memberships."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import Blueprint, g
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from spectree import Response

from api import errors, limits, render
from api.common import PREFIX, ErrorBody, Page, Strict, authenticated, idempotency_key, limit_body, rt, spec
from api.schemas import MembershipEnvelope, MembershipOut
from services.partner_api import access as partner
from services.partner_api import memberships
from services.partner_api.views import MembershipView

bp = Blueprint("partner_memberships", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
errors.install(bp)
limits.limit(bp)
ERRORS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}
WRITE_ERRORS = {**ERRORS, "HTTP_409": ErrorBody, "HTTP_413": ErrorBody}
TAGS = ["memberships"]
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second a date can name


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # "2023-02-30" matches the pattern but is no day
    return value


Birthday = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["1969-02-25"]), AfterValidator(_real_date)]


def _flag(value: Any) -> bool:
    # Hang documents a boolean but its own example sends the string "true".
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError('must be a boolean or the string "true" or "false"')


MagicLinkFlag = Annotated[
    bool,
    BeforeValidator(_flag),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}),
]


class FamilyMemberIn(Strict):
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    birthday: Birthday
    status: Literal["active", "inactive"]


class SocialMediaIn(Strict):
    twitter_username: str | None = Field(None, max_length=100)
    instagram_username: str | None = Field(None, max_length=100)
    tiktok_username: str | None = Field(None, max_length=100)


class MembershipFields(Strict):
    """The member fields a partner may send; an empty string counts as absent."""

    external_user_id: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=40, description="E.164, or national in the merchant's country")
    email: str | None = Field(None, max_length=320)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    birthday: Birthday | None = None
    wallet_address: str | None = Field(None, max_length=200)
    include_magic_link: MagicLinkFlag = False
    family_member_birthdays: list[FamilyMemberIn] | None = None
    social_media_credentials: SocialMediaIn | None = None
    metadata: dict[str, Any] | None = None
    idempotency_key: str | None = Field(None, max_length=255, description="or the Idempotency-Key header")


class MembershipCreate(MembershipFields):
    """Get-or-create: at least one of ``phone`` or ``external_user_id``."""


class MembershipPatch(MembershipFields):
    """Partial update: the given fields are overwritten, null clears one."""

    status: Literal["ACTIVE", "INACTIVE"] | None = None


class MergeIn(Strict):
    source_program_membership_id: str = Field(max_length=64)
    target_program_membership_id: str = Field(max_length=64)
    idempotency_key: str | None = Field(None, max_length=255)


class ListQuery(Page):
    status: Literal["ACTIVE", "INACTIVE"] | None = None
    # Bounded to the calendar: a later instant is no date and would fail, not filter.
    updated_since: int | None = Field(None, ge=0, le=MAX_EPOCH, description="epoch seconds")


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    phone: str | None = None
    external_user_id: str | None = None
    email: str | None = None


class CreatedEnvelope(BaseModel):
    membership: MembershipOut
    created: bool


class MembershipList(BaseModel):
    program_memberships: list[MembershipOut]
    next_cursor: str | None = None


class MagicLinkOut(BaseModel):
    magic_link: str
    expires_at: int


def _write(model: BaseModel) -> tuple[dict, str | None]:
    """The body's fields as sent, and the idempotency key (header first, else the body's)."""
    data = model.model_dump(exclude_unset=True)
    body_key = data.pop("idempotency_key", None)
    return data, idempotency_key(body_key)


def _member(member) -> dict:
    return render.membership(MembershipView.of(member))


@bp.post("/program-memberships")
@authenticated
@spec.validate(json=MembershipCreate, resp=Response(HTTP_200=CreatedEnvelope, **WRITE_ERRORS), tags=TAGS)
def create_membership(json: MembershipCreate):
    """Get or create a membership by phone (the identity when given) or external user id."""
    data, key = _write(json)
    # Hang answers 200 whether it created the member or found it (seed 000): "created" tells.
    return render.membership_written(memberships.create(rt(), g.merchant_id, data, key=key), with_created=True)


@bp.get("/program-memberships")
@authenticated
@spec.validate(query=ListQuery, resp=Response(HTTP_200=MembershipList, **ERRORS), tags=TAGS)
def list_memberships(query: ListQuery):
    """Every membership of the merchant, oldest first, cursor-paginated; filters status and updated_since."""
    rows, cursor = memberships.page(
        rt(),
        g.merchant_id,
        limit=query.limit,
        cursor=query.cursor,
        status=query.status,
        updated_since=query.updated_since,
    )
    return {"program_memberships": [_member(m) for m in rows], "next_cursor": cursor}


@bp.get("/program-memberships/search")
@authenticated
@spec.validate(query=SearchQuery, resp=Response(HTTP_200=MembershipEnvelope, **ERRORS), tags=TAGS)
def search_membership(query: SearchQuery):
    """Find one member by phone (any format), external user id or email."""
    member = partner.search_member(
        rt(), g.merchant_id, phone=query.phone, external_user_id=query.external_user_id, email=query.email
    )
    return {"membership": _member(member)}


@bp.post("/program-memberships/merge")
@authenticated
@spec.validate(json=MergeIn, resp=Response(HTTP_200=MembershipEnvelope, **WRITE_ERRORS), tags=TAGS)
def merge_memberships(json: MergeIn):
    """Merge the source membership into the target for good: history, balance, holds and links move."""
    data, key = _write(json)
    written = memberships.merge(
        rt(), g.merchant_id, data["source_program_membership_id"], data["target_program_membership_id"], key=key
    )
    return render.membership_written(written, with_created=False)


@bp.get("/program-memberships/<member_id>")
@authenticated
@spec.validate(resp=Response(HTTP_200=MembershipEnvelope, **ERRORS), tags=TAGS)
def get_membership(member_id: str):
    """One membership."""
    return {"membership": _member(memberships.get(rt(), g.merchant_id, member_id))}


@bp.patch("/program-memberships/<member_id>")
@authenticated
@spec.validate(json=MembershipPatch, resp=Response(HTTP_200=MembershipEnvelope, **WRITE_ERRORS), tags=TAGS)
def patch_membership(member_id: str, json: MembershipPatch):
    """Update some fields of a membership, or its status (ACTIVE, INACTIVE)."""
    data, key = _write(json)
    return render.membership_written(
        memberships.update(rt(), g.merchant_id, member_id, data, key=key), with_created=False
    )


@bp.delete("/program-memberships/<member_id>")
@authenticated
@spec.validate(resp=Response(HTTP_200=MembershipEnvelope, **ERRORS), tags=TAGS)
def delete_membership(member_id: str):
    """Remove a membership: status DELETED, personal data erased, spendable points forfeited, ledger kept."""
    written = memberships.remove(rt(), g.merchant_id, member_id, key=idempotency_key(None))
    return render.membership_written(written, with_created=False)


@bp.post("/program-memberships/<member_id>/magic-link")
@authenticated
@spec.validate(resp=Response(HTTP_200=MagicLinkOut, **ERRORS), tags=TAGS)
def membership_magic_link(member_id: str):
    """A signed link to the member's page, valid for seven days."""
    link = memberships.magic_link(rt(), g.merchant_id, member_id)
    return {"magic_link": link.url, "expires_at": int(link.expires_at.timestamp())}
