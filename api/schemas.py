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
    balance: int | float  # points; a store-credit program's (Inveterate's) money
    spendable_balance: int | float
    next_tier: NextTier | None = None
