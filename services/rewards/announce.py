"""``reward.redeemed`` (events.md): a redemption reached ``redeemed``, whichever engine and channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Redemption
from services.outbox import events


def redeemed(session: Session, redemption: Redemption, now: datetime) -> None:
    """Announce a redemption that was just redeemed (its code, when it is a Shopify discount code)."""
    body = {"id": redemption.id, "reward_id": redemption.reward_uuid, "points": redemption.points}
    # A Shopify discount code is kept on the redemption (services/shopify/codes.py); details for older writers.
    code = redemption.code or (redemption.details or {}).get("code")
    if code:
        body["code"] = code
    events.emit(
        session,
        merchant_id=redemption.merchant_id,
        type="reward.redeemed",
        member_id=redemption.member_id,
        occurred_at=now,
        data={"redemption": body, "membership_id": redemption.member_id},
    )
