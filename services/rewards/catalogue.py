"""A merchant's rewards as pure rules (cached per config version) and a member's use of them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.rewards import MemberUsage, RewardRule
from models import Merchant, Redemption, Reward

_cache: dict[int, tuple[str, dict[str, RewardRule]]] = {}
_lock = threading.Lock()


def rules(session: Session, merchant: Merchant) -> dict[str, RewardRule]:
    """The merchant's active rewards by uuid.

    Parsed once per synced config (``merchant.config_version``): INQUIRE runs
    on every POS interaction and a catalogue can hold a thousand rewards.
    """
    cached = _cache.get(merchant.id)
    if cached and cached[0] == merchant.config_version and merchant.config_version:
        return cached[1]
    rows = session.execute(select(Reward.definition).where(Reward.merchant_id == merchant.id, Reward.active)).scalars()
    parsed = {rule.uuid: rule for rule in map(RewardRule.from_definition, rows)}
    with _lock:
        _cache[merchant.id] = (merchant.config_version, parsed)
    return parsed


def usage(session: Session, member_id: str) -> dict[str, MemberUsage]:
    """Per reward: how often, and when last, the member redeemed it (voided redemptions do not count)."""
    rows = session.execute(
        select(Redemption.reward_uuid, func.count(), func.max(Redemption.created_at))
        .where(Redemption.member_id == member_id, Redemption.state != "voided")
        .group_by(Redemption.reward_uuid)
    ).all()
    return {uuid: MemberUsage(count, _aware(last)) for uuid, count, last in rows}


def _aware(value) -> datetime | None:
    # Aggregates bypass the column type: SQLite hands back a naive string or datetime.

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
