"""Rewards as pure rules, and whether a member may redeem one now (rewards.md, "Available to a member")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

CENT = Decimal("0.01")
REWARD_TYPES = ("redemption", "discount_percent_based", "discount_value_based", "access")

INACTIVE = "INACTIVE"
NOT_STARTED = "NOT_STARTED"
ENDED = "ENDED"
LIMIT_REACHED = "LIMIT_REACHED"
INTERVAL = "INTERVAL"
INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"


@dataclass(frozen=True)
class RewardRule:
    """The rules of one configured reward; ``start``/``end`` are aware UTC instants."""

    uuid: str
    name: str
    reward_type: str
    points_price: int
    priority: int = 0
    reward_value: Decimal = Decimal(0)
    interval: int = 0  # days between two redemptions by one member; 0: no limit
    limit: int = 0  # redemptions per member; 0: unlimited
    start: datetime | None = None
    end: datetime | None = None
    minimum_quantity: Decimal = Decimal(1)
    maximum_discount_value: Decimal | None = None
    combinable: bool = True
    item_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    active: bool = True
    description: str | None = None
    redemption_method: str = "code"  # how the guest uses it; "code" at a Shopify shop with codes: a discount code

    def __post_init__(self) -> None:
        if self.reward_type not in REWARD_TYPES:
            raise ValueError(f"unknown reward_type {self.reward_type!r}")

    @property
    def check_level(self) -> bool:
        """True when the reward names no item and no group: every line matches."""
        return not (self.item_ids or self.group_ids)

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> RewardRule:
        """Build the rule from ``RewardConfig.model_dump(mode="json")`` (``Reward.definition``).

        Money arrives as strings or numbers and becomes ``Decimal`` through ``str``;
        instants arrive as ISO strings (or epoch seconds) and become aware UTC.
        ``points_price`` is required, so a forgotten price never makes a reward free.
        """
        d = definition
        return cls(
            uuid=str(d["uuid"]),
            name=str(d["name"]),
            reward_type=str(d["reward_type"]),
            points_price=int(d["points_price"]),
            priority=int(d.get("priority") or 0),
            reward_value=_decimal(d.get("reward_value")) or Decimal(0),
            interval=int(d.get("interval") or 0),
            limit=int(d.get("limit") or 0),
            start=_instant(d.get("start_date")),
            end=_instant(d.get("end_date")),
            minimum_quantity=_decimal(d.get("minimum_quantity")) or Decimal(1),
            maximum_discount_value=_decimal(d.get("maximum_discount_value")),
            combinable=bool(d.get("can_be_combined_with_other_rewards", True)),
            item_ids=_ids(d.get("applicable_menu_item_multi_location_ids")),
            group_ids=_ids(d.get("applicable_menu_group_multi_location_ids")),
            active=bool(d.get("active", True)),
            description=d.get("description"),
            redemption_method=str(d.get("redemption_method") or "code"),
        )


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ids(values: Iterable[Any] | None) -> frozenset[str]:
    return frozenset(str(value) for value in values or ())


# --- availability ----------------------------------------------------------


@dataclass(frozen=True)
class MemberUsage:
    """How often, and when last, one member redeemed one reward."""

    redemption_count: int = 0
    last_redeemed_at: datetime | None = None


class Availability(NamedTuple):
    """Whether a member may redeem a reward now, and the reason when not."""

    available: bool
    reason: str | None


def availability(rule: RewardRule, usage: MemberUsage, spendable_points: int, now: datetime) -> Availability:
    """Whether the member may redeem ``rule`` at ``now`` (an aware instant).

    The first failing check gives the reason, in this order: INACTIVE,
    NOT_STARTED (``now < start``), ENDED (``now >= end``), LIMIT_REACHED,
    INTERVAL (fewer than ``interval`` days since the last redemption),
    INSUFFICIENT_POINTS (``points_price`` above the spendable balance).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    reason = _unavailable_reason(rule, usage, spendable_points, now)
    return Availability(reason is None, reason)


_NEVER_USED = MemberUsage()


def available_rules(
    rules: Iterable[RewardRule], usage: Mapping[str, MemberUsage], spendable_points: int, now: datetime
) -> list[RewardRule]:
    """The rules the member may redeem at ``now``, in the given order (INQUIRE weighs a whole catalogue).

    The same judgement as :func:`availability`, without building a reason per
    rule: a catalogue of 1,000 rewards is read on every INQUIRE.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return [
        rule
        for rule in rules
        if rule.points_price <= spendable_points
        and _unavailable_reason(rule, usage.get(rule.uuid, _NEVER_USED), spendable_points, now) is None
    ]


def _unavailable_reason(rule: RewardRule, usage: MemberUsage, spendable: int, now: datetime) -> str | None:
    last = usage.last_redeemed_at
    if not rule.active:
        return INACTIVE
    if rule.start is not None and now < rule.start:
        return NOT_STARTED
    if rule.end is not None and now >= rule.end:
        return ENDED
    if rule.limit and usage.redemption_count >= rule.limit:
        return LIMIT_REACHED
    if rule.interval and last is not None and now - last < timedelta(days=rule.interval):
        return INTERVAL
    if rule.points_price > spendable:
        return INSUFFICIENT_POINTS
    return None
