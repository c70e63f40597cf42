"""Request and response shapes of the rewards, redemptions, points and tiers endpoints (the OpenAPI answers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.common import Page, Strict, idempotency_key

# Bounds keep generated or hostile input away from integer overflow in the database.
MAX_POINTS = 10**9
MAX_KEY = 200  # the ledger's business key is "api:<key>..." in 255 characters
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]  # far dates overflow date arithmetic
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY, description="or the Idempotency-Key header")]


# --- requests ----------------------------------------------------------------


def retry_key(body: BaseModel | None) -> str | None:
    """The write's idempotency key: the ``Idempotency-Key`` header first, else the body's ``idempotency_key``."""
    return idempotency_key(getattr(body, "idempotency_key", None), MAX_KEY)


class RewardsQuery(BaseModel):
    """``?include=all`` also lists the rewards the member cannot redeem now."""

    model_config = ConfigDict(extra="ignore")
    include: Literal["all"] | None = None


class RedemptionIn(Strict):
    reward_id: str = Field(min_length=1, max_length=64)
    idempotency_key: IdempotencyKey | None = None


class RetryableIn(Strict):
    """The body of an action that needs no input: only an optional idempotency key."""

    idempotency_key: IdempotencyKey | None = None


class Activity(Strict):
    value: Decimal = Field(ge=0, le=10**9, description="the amount spent, in the merchant's currency")
    transaction_timestamp: float = Field(
        gt=0, lt=10**14, description="epoch seconds, or milliseconds (values above 10^11)"
    )


class ActivityIn(Strict):
    idempotency_key: IdempotencyKey | None = None  # required, here or in the Idempotency-Key header
    activity: Activity


class AdjustmentIn(Strict):
    points: int = Field(ge=-MAX_POINTS, le=MAX_POINTS, description="positive adds points, negative removes them")
    reason: str | None = Field(default=None, max_length=255)
    idempotency_key: IdempotencyKey | None = None
    is_temp: bool = Field(default=False, description="a hold to commit or roll back (negative points only)")
    temp_timeout_sec: int | None = Field(default=None, gt=0, le=30 * 86400)
    activation_date: Day | None = None
    expiration_date: Day | None = None


class TransactionsQuery(Page):
    type: (
        Literal[
            "ACCRUAL",
            "ADDITION",
            "REMOVAL",
            "REDEMPTION",
            "HOLD",
            "REFUND",
            "REVERSAL",
            "EXPIRATION",
            "TRANSFER_IN",
            "TRANSFER_OUT",
            "FORFEIT",
        ]
        | None
    ) = None


# --- responses ---------------------------------------------------------------


class RewardOut(BaseModel):
    """A reward with every property of Hang's rewards document, plus ``points_price`` and availability."""

    uuid: str
    name: str
    priority: int
    description: str | None = None
    redemption_instruction: str | None = None
    redemption_method: str | None = None
    redemption_count: int
    interval: int
    limit: int
    start_date: int | None = None
    end_date: int | None = None
    reward_type: str
    reward_value: float
    maximum_discount_value: float | None = None
    last_redeemed_at: int | None = None
    image_url: str | None = None
    video_url: str | None = None
    terms_and_conditions: str | None = None
    achievement_id: str | int | None = None
    can_be_combined_with_other_rewards: bool
    applicable_menu_item_multi_location_ids: list[str]
    applicable_menu_group_multi_location_ids: list[str]
    minimum_quantity: int
    metadata: dict[str, Any]
    points_price: int
    available: bool
    reason: str | None = None


class RewardsOut(BaseModel):
    rewards: list[RewardOut]


class RedemptionOut(BaseModel):
    id: str
    state: Literal["initiated", "redeemed", "voided"]
    reward_id: str
    points: int
    expires_at: int | None = None
    created_at: int
    redeemed_at: int | None = None
    voided_at: int | None = None
    channel: str | None = Field(None, description="where it was redeemed: partner_api, toast_loyalty, ...")
    code: str | None = Field(None, description="the Shopify discount code, for a reward redeemed online")
    discount_gid: str | None = Field(None, description="the Shopify discount's gid (gid://shopify/DiscountCodeNode/…)")


class RedemptionEnvelope(BaseModel):
    redemption: RedemptionOut


class RedemptionsQuery(Page):
    state: Literal["initiated", "redeemed", "voided"] | None = None


class RedemptionsOut(BaseModel):
    redemptions: list[RedemptionOut]
    next_cursor: str | None = None


class RefusalBody(BaseModel):
    """A rule refusal (422): the error code, and for rewards the ``reason``."""

    error: str
    message: str
    reason: str | None = None
    details: list[dict[str, Any]] | None = None


class TransactionOut(BaseModel):
    id: str
    reverses_id: str | None = None
    type: str
    points: int
    shortfall: int = Field(
        0,
        description="Points a reversal could not take back (already spent); owed by the "
        "member and collected from the next points that come back",
    )
    status: str
    channel: str
    reference: str | None = None
    created_at: int
    activates_at: int | None = None
    expires_at: int | None = None
    idempotency_key: str | None = None


class Balance(BaseModel):
    points: int | float  # a store-credit program's (Inveterate's) card holds money
    pending_points: int


class TransactionWrite(BaseModel):
    transaction: TransactionOut
    balance: Balance


class TransactionsOut(BaseModel):
    transactions: list[TransactionOut]
    next_cursor: str | None = None


class Lifetime(BaseModel):
    earned: int | float
    added: int
    subtracted: int
    expired: int
    spent: int
    refunded: int
    returned: int
    locked: int
    unlocked: int


class PendingBucket(BaseModel):
    total: int
    activated: int
    canceled: int


class Dated(BaseModel):
    points: int
    date: str


class CardOut(BaseModel):
    """Voucherify's loyalty card buckets."""

    balance: Balance
    lifetime: Lifetime
    pending_points: PendingBucket
    next_expiration: Dated | None = None
    next_activation: Dated | None = None


class TierOut(BaseModel):
    name: str
    min_lifetime_points: int
    multiplier: float


class TiersOut(BaseModel):
    tiers: list[TierOut]
    next_cursor: str | None = None
