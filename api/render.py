"""How the partner API shows the use cases' results: Hang's shapes, epoch seconds, and the status of a write.

The one place this edge turns domain views (``services/partner_api/views.py``)
into JSON bodies; a replayed write renders exactly like the first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.partner_api.views import (
    MembershipView,
    MembershipWritten,
    PointsWritten,
    RedemptionView,
    RedemptionWritten,
    RewardView,
    TransactionView,
    Written,
)


def epoch(moment: datetime | None) -> int | None:
    """An instant as Hang returns it: whole epoch seconds."""
    return int(moment.timestamp()) if moment is not None else None


def number(value: Decimal | None) -> int | float | None:
    """A money amount as Hang's document shows it: a plain JSON number (10, 15.25)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def amounts(value):
    """``value`` with every Decimal in it as a plain JSON number (a store-credit program's money in a card)."""
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, dict):
        return {key: amounts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [amounts(item) for item in value]
    return value


def status_of(written: Written) -> int:
    """201 when a write made something new, 200 when it only moved a lifecycle or a key replayed it."""
    return 201 if written.created and not written.replayed else 200


def membership(view: MembershipView, magic_link: str | None = None) -> dict:
    """A membership in Hang's shape (``MembershipOut``)."""
    return view.published(magic_link)


def membership_written(written: MembershipWritten, *, with_created: bool) -> dict:
    """``{"membership"}``, and ``created`` for a get-or-create (Hang answers 200 either way)."""
    body = {"membership": membership(written.membership, written.magic_link)}
    if with_created:
        body["created"] = written.created
    return body


def transaction(view: TransactionView) -> dict:
    """A ledger entry as a partner API transaction."""
    body = view.model_dump(exclude={"created_at", "activates_at", "expires_at"})
    body.update(
        created_at=epoch(view.created_at), activates_at=epoch(view.activates_at), expires_at=epoch(view.expires_at)
    )
    return body


def points_written(written: PointsWritten) -> tuple[dict, int]:
    """``{"transaction", "balance"}`` and its status."""
    return {"transaction": transaction(written.transaction), "balance": written.balance.model_dump()}, status_of(
        written
    )


def redemption(view: RedemptionView) -> dict:
    """A redemption as the partner API answers it."""
    return {
        "id": view.id,
        "state": view.state,
        "reward_id": view.reward_id,
        "points": view.points,
        "expires_at": epoch(view.expires_at),
        "created_at": epoch(view.created_at),
        "redeemed_at": epoch(view.redeemed_at),
        "voided_at": epoch(view.voided_at),
        "channel": view.channel,
        "code": view.code,
        "discount_gid": view.discount_gid,
    }


def redemption_written(written: RedemptionWritten) -> tuple[dict, int]:
    """``{"redemption"}`` and its status."""
    return {"redemption": redemption(written.redemption)}, status_of(written)


def reward(view: RewardView) -> dict:
    """A reward with every property of Hang's rewards document, the member's counts, price and availability."""
    body = dict(view.properties)
    body.update(
        start_date=epoch(view.start_date),
        end_date=epoch(view.end_date),
        reward_value=number(view.reward_value),
        maximum_discount_value=number(view.maximum_discount_value),
        redemption_count=view.redemption_count,
        last_redeemed_at=epoch(view.last_redeemed_at),
        points_price=view.points_price,
        available=view.available,
        reason=view.reason,
    )
    return body
