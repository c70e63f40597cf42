"""The rewards a member sees through the partner API: every property of Hang's rewards document, and whether
the member may redeem each one now."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.rewards import RewardRule, availability
from models import Merchant, Reward
from services.partner_api.access import get_member, require_ledger
from services.partner_api.views import RewardView
from services.rewards import catalogue as rewards_catalog
from services.rewards.redemptions import Usage, member_usage
from services.runtime import Runtime

# Every property of the rewards seed document that is read straight from the configured definition.
PROPERTIES = (
    "uuid",
    "name",
    "priority",
    "description",
    "redemption_instruction",
    "redemption_method",
    "interval",
    "limit",
    "reward_type",
    "image_url",
    "video_url",
    "terms_and_conditions",
    "achievement_id",
    "can_be_combined_with_other_rewards",
    "applicable_menu_item_multi_location_ids",
    "applicable_menu_group_multi_location_ids",
    "minimum_quantity",
    "metadata",
)


def list_rewards(rt: Runtime, merchant_id: int, member_id: str, *, include_all: bool = False) -> list[RewardView]:
    """The merchant's rewards as this member sees them, by priority then name.

    Only the available ones, unless ``include_all``: then the unavailable ones
    too, with ``available`` false and the ``reason``.
    """
    require_ledger(rt, merchant_id)
    now = rt.clock()
    with rt.db.reader() as session:
        member = get_member(session, merchant_id, member_id)
        catalogue = rewards_catalog.rules(session, session.get(Merchant, merchant_id))
        used = member_usage(session, member.id, now)
        rows = session.execute(select(Reward).where(Reward.merchant_id == merchant_id, Reward.active)).scalars()
        listed = [
            _view(
                row.definition,
                catalogue.get(row.uuid) or RewardRule.from_definition(row.definition),
                used.get(row.uuid, Usage()),
                member.points,
                now,
            )
            for row in rows
        ]
    listed.sort(key=lambda r: (r.properties["priority"], r.properties["name"].casefold(), r.properties["uuid"]))
    return [r for r in listed if include_all or r.available]


def _view(definition: dict, rule: RewardRule, usage: Usage, spendable: int, now) -> RewardView:
    verdict = availability(rule, usage.standing, spendable, now)
    return RewardView(
        properties={name: definition.get(name) for name in PROPERTIES},
        start_date=rule.start,
        end_date=rule.end,
        reward_value=rule.reward_value,
        maximum_discount_value=rule.maximum_discount_value,
        redemption_count=usage.redeemed.redemption_count,
        last_redeemed_at=usage.redeemed.last_redeemed_at,
        points_price=rule.points_price,
        available=verdict.available,
        reason=verdict.reason,
    )
