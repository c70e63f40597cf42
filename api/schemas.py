"""Response shapes of the partner API (they document the OpenAPI answers)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FamilyMemberOut(BaseModel):
    first_name: str
    last_name: str
    birth_date: str
    status: str


class MembershipOut(BaseModel):
    """A membership in Hang's shape; instants are epoch seconds."""

    id: str
    external_user_id: str | None = None
    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: str | None = None
    wallet_address: str | None = None
    status: str
    created_at: int
    updated_at: int
    social_media_credentials: dict[str, Any] = {}
    family_member_birthdays: list[FamilyMemberOut] = []
    metadata: dict[str, Any] = {}
    tier: str | None = None
    points: int = 0
    pending_points: int = 0
    magic_link: str | None = None


class MembershipEnvelope(BaseModel):
    membership: MembershipOut


class NextTier(BaseModel):
    name: str
    points_needed: int


class LevelOut(BaseModel):
    tier: str | None = None
    balance: int
    spendable_balance: int
    next_tier: NextTier | None = None


def render_membership(member, magic_link: str | None = None) -> dict:
    """A member row as ``MembershipOut``."""
    extra = member.extra or {}
    body = {
        "id": member.id, "external_user_id": member.external_user_id, "phone": member.phone,
        "email": member.email, "first_name": member.first_name, "last_name": member.last_name,
        "birthday": member.birthday, "wallet_address": member.wallet_address, "status": member.status,
        "created_at": int(member.created_at.timestamp()), "updated_at": int(member.updated_at.timestamp()),
        "social_media_credentials": extra.get("social_media_credentials", {}),
        "family_member_birthdays": extra.get("family_member_birthdays", []),
        "metadata": extra.get("metadata", {}), "tier": member.tier,
        "points": member.points, "pending_points": member.pending_points,
    }
    if magic_link is not None:
        body["magic_link"] = magic_link
    return body
