"""A member as the outside world sees it: the partner API's membership, and the ``data`` of membership events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from models import Member


class View(BaseModel):
    """A frozen value; unknown keys in a stored one (older answers) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class MembershipView(View):
    """A program membership as a partner sees it."""

    id: str
    external_user_id: str | None = None
    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: str | None = None
    wallet_address: str | None = None
    status: str
    created_at: datetime
    updated_at: datetime
    social_media_credentials: dict[str, Any] = {}
    family_member_birthdays: list[dict[str, Any]] = []
    metadata: dict[str, Any] = {}
    tier: str | None = None
    points: int = 0
    pending_points: int = 0

    @classmethod
    def of(cls, member: Member) -> MembershipView:
        """The view of a member row."""
        extra = member.extra or {}
        return cls(
            id=member.id,
            external_user_id=member.external_user_id,
            phone=member.phone,
            email=member.email,
            first_name=member.first_name,
            last_name=member.last_name,
            birthday=member.birthday,
            wallet_address=member.wallet_address,
            status=member.status,
            created_at=member.created_at,
            updated_at=member.updated_at,
            social_media_credentials=extra.get("social_media_credentials", {}),
            family_member_birthdays=extra.get("family_member_birthdays", []),
            metadata=extra.get("metadata", {}),
            tier=member.tier,
            points=member.points,
            pending_points=member.pending_points,
        )

    def published(self, magic_link: str | None = None) -> dict:
        """The membership in Hang's published shape: instants as epoch seconds (the API's and the events')."""
        body = self.model_dump(exclude={"created_at", "updated_at"})
        body.update(created_at=int(self.created_at.timestamp()), updated_at=int(self.updated_at.timestamp()))
        if magic_link is not None:
            body["magic_link"] = magic_link
        return body
