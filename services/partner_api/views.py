"""What the partner API's use cases answer: domain views of members, entries and redemptions, and write results.

They hold instants as datetimes and amounts as numbers; the edge (``api/``)
renders them in Hang's shapes (epoch seconds, envelopes) and picks the HTTP
status. A write result is also what an idempotency key stores
(``services/partner_api/idempotency.py``): a replay loads it again, marked
``replayed``, and the edge renders it exactly as it rendered the first answer.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import model_validator

from models import LedgerEntry, Member, Redemption
from services.members.views import MembershipView, View


class TransactionView(View):
    """A ledger entry as a partner sees it."""

    id: str
    type: str
    points: int
    shortfall: int = 0
    status: str
    channel: str
    reference: str | None = None
    created_at: datetime
    activates_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None
    reverses_id: str | None = None

    @classmethod
    def of(cls, entry: LedgerEntry) -> TransactionView:
        """The view of a ledger entry."""
        return cls(
            id=entry.id,
            type=entry.type,
            points=entry.points,
            shortfall=entry.shortfall,
            status=entry.status,
            channel=entry.channel,
            reference=entry.reference,
            created_at=entry.created_at,
            activates_at=entry.activates_at,
            expires_at=entry.expires_at,
            idempotency_key=entry.idempotency_key,
            reverses_id=entry.reverses_id,
        )


class BalanceView(View):
    """A member's spendable and pending points."""

    points: int
    pending_points: int

    @classmethod
    def of(cls, member: Member) -> BalanceView:
        """The balances of a member row."""
        return cls(points=member.points, pending_points=member.pending_points)


class RedemptionView(View):
    """A redemption as a partner sees it."""

    id: str
    state: str
    reward_id: str
    points: int
    expires_at: datetime | None = None
    created_at: datetime | None = None
    redeemed_at: datetime | None = None
    voided_at: datetime | None = None
    channel: str | None = None
    code: str | None = None  # a Shopify discount code, once Shopify holds it
    discount_gid: str | None = None

    @classmethod
    def of(cls, redemption: Redemption) -> RedemptionView:
        """The view of a redemption row; a code Shopify has not confirmed (or refused) is not shown."""
        shown = redemption.code_state in ("active", "used", "deleted")
        return cls(
            id=redemption.id,
            state=redemption.state,
            reward_id=redemption.reward_uuid,
            points=redemption.points,
            expires_at=redemption.expires_at,
            created_at=redemption.created_at,
            redeemed_at=redemption.redeemed_at,
            voided_at=redemption.voided_at,
            channel=redemption.channel,
            code=redemption.code if shown else None,
            discount_gid=redemption.discount_gid if shown else None,
        )


class Written(View):
    """What a write did: ``created`` when it made something new; ``replayed`` when an idempotency key answered."""

    created: bool = False
    replayed: bool = False

    def stored(self) -> dict:
        """The form kept under an idempotency key."""
        return self.model_dump(mode="json", exclude={"replayed"})


class MembershipWritten(Written):
    """A membership write: the member after it, and a magic link when one was asked for."""

    membership: MembershipView
    magic_link: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_answers(cls, data: Any) -> Any:
        # Answers stored before write results were kept carried the link inside the membership.
        if isinstance(data, dict) and data.get("magic_link") is None and isinstance(data.get("membership"), dict):
            return {**data, "magic_link": data["membership"].get("magic_link")}
        return data


class PointsWritten(Written):
    """A points write: the entry it posted (or whose life it moved) and the balances after it."""

    transaction: TransactionView
    balance: BalanceView


class RedemptionWritten(Written):
    """A redemption write: the redemption after it."""

    redemption: RedemptionView


class RewardView(View):
    """A reward as one member sees it: its configured ``properties`` and the rules' verdict for that member."""

    properties: dict[str, Any]
    start_date: datetime | None = None
    end_date: datetime | None = None
    reward_value: Decimal | None = None
    maximum_discount_value: Decimal | None = None
    redemption_count: int = 0
    last_redeemed_at: datetime | None = None
    points_price: int = 0
    available: bool
    reason: str | None = None
