"""Rewards: when a member may redeem one, and what it takes off a check (rewards.md).

Pure: time is a parameter, nothing is read or written. Money is ``Decimal``
throughout and every amount that leaves this module is quantized to the
currency's minor unit (a power of ten: ``Decimal("0.01")`` for USD, ``Decimal(1)``
for JPY).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from .orders import Line

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
            uuid=str(d["uuid"]), name=str(d["name"]), reward_type=str(d["reward_type"]),
            points_price=int(d["points_price"]), priority=int(d.get("priority") or 0),
            reward_value=_decimal(d.get("reward_value")) or Decimal(0),
            interval=int(d.get("interval") or 0), limit=int(d.get("limit") or 0),
            start=_instant(d.get("start_date")), end=_instant(d.get("end_date")),
            minimum_quantity=_decimal(d.get("minimum_quantity")) or Decimal(1),
            maximum_discount_value=_decimal(d.get("maximum_discount_value")),
            combinable=bool(d.get("can_be_combined_with_other_rewards", True)),
            item_ids=_ids(d.get("applicable_menu_item_multi_location_ids")),
            group_ids=_ids(d.get("applicable_menu_group_multi_location_ids")),
            active=bool(d.get("active", True)), description=d.get("description"),
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
        return datetime.fromtimestamp(value, timezone.utc)
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


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


# --- matching --------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The lines of a check a reward applies to (sorted by key) and their summed quantity."""

    lines: tuple[Line, ...]
    quantity: Decimal

    @property
    def amount(self) -> Decimal:
        """``M``: the net price of the matching lines."""
        return sum((line.price for line in self.lines), Decimal(0))


def line_matches(rule: RewardRule, line: Line) -> bool:
    """Whether ``line`` is one ``rule`` applies to; voided, deferred and empty lines never are."""
    if line.voided or line.deferred or line.quantity <= 0:
        return False
    if rule.check_level:
        return True
    return bool(_item_ids(line) & rule.item_ids or _group_ids(line) & rule.group_ids)


def _item_ids(line: Line) -> set[str]:
    # A Toast line without a multiLocationId is compared by its menu item guid;
    # a Shopify line by its product id and its variant id.
    item = line.item_id if line.item_id is not None else line.item_guid
    return {id_ for id_ in (item, line.variant_id) if id_ is not None}


def _group_ids(line: Line) -> set[str]:
    group = line.group_id if line.group_id is not None else line.group_guid
    return {group} if group is not None else set()


def _matching(rule: RewardRule, lines: Iterable[Line]) -> tuple[tuple[Line, ...], Decimal]:
    found = tuple(sorted((line for line in lines if line_matches(rule, line)), key=lambda line: line.key))
    return found, sum((Decimal(line.quantity) for line in found), Decimal(0))


def match(rule: RewardRule, lines: Iterable[Line]) -> Match | None:
    """The lines ``rule`` applies to, or None when their quantity is below ``minimum_quantity``."""
    found, quantity = _matching(rule, lines)
    if not found or quantity < rule.minimum_quantity:
        return None
    return Match(found, quantity)


# --- discount amount -------------------------------------------------------


@dataclass(frozen=True)
class LineShare:
    """The part of a discount that lands on one line (Toast ``itemApplication``)."""

    key: str
    amount: Decimal


@dataclass(frozen=True)
class Discount:
    """A discount and its split over lines (sorted by key, zero shares left out)."""

    amount: Decimal
    shares: tuple[LineShare, ...] = ()


def discount(rule: RewardRule, found: Match, remaining: Mapping[str, Decimal] | None = None,
             minor_unit: Decimal = CENT, ceiling: Decimal | None = None) -> Discount:
    """What ``rule`` takes off the ``found`` lines, and how it splits over them.

    The amount is computed from the lines' net prices (``M``, ``U``), capped by
    ``maximum_discount_value``, rounded half-even to ``minor_unit``, then limited
    to what ``remaining`` (line key -> amount left after earlier rewards; the line
    price when absent) still holds, and to ``ceiling`` when given. A free item
    lands on the dearest unit first; other discounts split pro rata to what is
    left of each line, the rounding remainder going to the largest.
    """
    left = {line.key: _floor(_left_of(line, remaining), minor_unit) for line in found.lines}
    limit = sum(left.values(), Decimal(0))
    if ceiling is not None:
        limit = min(limit, _floor(max(ceiling, Decimal(0)), minor_unit))
    amount = max(Decimal(0), min(_rounded(rule, _raw_amount(rule, found), minor_unit), limit)).quantize(minor_unit)
    return Discount(amount, _allocate(rule, found, amount, left, minor_unit))


def _left_of(line: Line, remaining: Mapping[str, Decimal] | None) -> Decimal:
    left = line.price if remaining is None else remaining.get(line.key, line.price)
    return max(left, Decimal(0))


def _unit_price(line: Line) -> Decimal:
    return line.price / Decimal(line.quantity)


def _raw_amount(rule: RewardRule, found: Match) -> Decimal:
    if rule.reward_type == "discount_percent_based":
        return found.amount * rule.reward_value / 100
    if rule.reward_type == "discount_value_based":
        return min(rule.reward_value, found.amount)
    if rule.reward_type == "redemption":
        return max(_unit_price(line) for line in found.lines)
    return Decimal(0)  # access: an entitlement, no money off


def _rounded(rule: RewardRule, amount: Decimal, minor_unit: Decimal) -> Decimal:
    if rule.maximum_discount_value is not None:
        amount = min(amount, rule.maximum_discount_value)
    return amount.quantize(minor_unit, rounding=ROUND_HALF_EVEN)


def _floor(amount: Decimal, minor_unit: Decimal) -> Decimal:
    return amount.quantize(minor_unit, rounding=ROUND_FLOOR)


def _allocate(rule: RewardRule, found: Match, amount: Decimal, left: dict[str, Decimal],
              minor_unit: Decimal) -> tuple[LineShare, ...]:
    if rule.reward_type == "redemption":
        shares = dict.fromkeys(left, Decimal(0))
        order = sorted(found.lines, key=lambda line: (-_unit_price(line), line.key))
    else:
        total = sum(left.values(), Decimal(0))
        shares = {key: _floor(amount * value / total, minor_unit) if total else Decimal(0)
                  for key, value in left.items()}
        order = sorted(found.lines, key=lambda line: (-left[line.key], line.key))
    _fill(shares, left, amount - sum(shares.values(), Decimal(0)), [line.key for line in order])
    return tuple(LineShare(key, shares[key]) for key in sorted(shares) if shares[key])


def _fill(shares: dict[str, Decimal], left: dict[str, Decimal], rest: Decimal, order: list[str]) -> None:
    """Place ``rest`` on the lines in ``order``, each up to what is left of it."""
    for key in order:
        more = min(rest, left[key] - shares[key])
        shares[key] += more
        rest -= more


# --- several rewards on one check ------------------------------------------


@dataclass(frozen=True)
class Offer:
    """One reward evaluated on a check: what Toast's ``Offer``/``Redemption`` needs.

    ``shares`` is the per-line split (``itemApplication``); it sums to ``amount``.
    A reward that cannot be applied has ``applicable`` false, amount 0 and a
    ``rejection`` sentence for the POS.
    """

    uuid: str
    name: str
    applicable: bool
    amount: Decimal
    selection_type: str  # "CHECK" for check-level rewards, "ITEM" otherwise
    shares: tuple[LineShare, ...] = ()
    rejection: str | None = None


@dataclass
class _Check:
    """What is left of a check while rewards are applied to it in turn."""

    left: dict[str, Decimal]
    total_left: Decimal
    applied: int = 0
    blocker: str | None = None  # name of an applied reward that combines with nothing

    def take(self, rule: RewardRule, result: Discount) -> None:
        for share in result.shares:
            self.left[share.key] -= share.amount
        self.total_left -= result.amount
        self.applied += 1
        if not rule.combinable and self.blocker is None:
            self.blocker = rule.name


def ordered(rules: Iterable[RewardRule]) -> list[RewardRule]:
    """Rules in the order they are considered: ``priority`` ascending, then uuid."""
    return sorted(rules, key=lambda rule: (rule.priority, rule.uuid))


def plan(rules: Iterable[RewardRule], lines: Sequence[Line], *,
         applied: Sequence[RewardRule] = (), minor_unit: Decimal = CENT) -> list[Offer]:
    """Apply ``rules`` to a check one after the other, in ``ordered`` order.

    The order the caller lists them in does not matter (a REDEEM applies the
    requested rewards by priority, then uuid). ``applied`` are rewards already
    on the check: their money is already out of the lines' net prices, they
    only count for combinability. Each applied reward reduces what is left of
    its lines for the next; the total never exceeds the check's amount (the
    prices of its lines that are neither voided nor deferred). Line keys must
    be unique.
    """
    check = _start(lines, applied, minor_unit)
    return [_offer(rule, lines, check, minor_unit) for rule in ordered(rules)]  # in turn: each updates check


def inquire(rules: Iterable[RewardRule], lines: Sequence[Line], *,
            applied: Sequence[RewardRule] = (), minor_unit: Decimal = CENT) -> list[Offer]:
    """Each reward on its own against the check (the alternatives a guest can pick), in ``ordered`` order."""
    return [plan([rule], lines, applied=applied, minor_unit=minor_unit)[0] for rule in ordered(rules)]


def _start(lines: Sequence[Line], applied: Sequence[RewardRule], minor_unit: Decimal) -> _Check:
    keys = [line.key for line in lines]
    if len(set(keys)) != len(keys):
        raise ValueError("line keys must be unique on a check")
    counted = [line.price for line in lines if not (line.voided or line.deferred)]
    blocker = next((rule.name for rule in applied if not rule.combinable), None)
    total = _floor(max(sum(counted, Decimal(0)), Decimal(0)), minor_unit)
    return _Check({line.key: max(line.price, Decimal(0)) for line in lines}, total, len(applied), blocker)


def _offer(rule: RewardRule, lines: Sequence[Line], check: _Check, minor_unit: Decimal) -> Offer:
    found, quantity = _matching(rule, lines)
    rejection = _rejection(rule, found, quantity, check)
    if rejection is None:
        result = discount(rule, Match(found, quantity), check.left, minor_unit, check.total_left)
        if result.amount > 0 or rule.reward_type == "access":
            check.take(rule, result)
            return Offer(rule.uuid, rule.name, True, result.amount, _selection_type(rule), result.shares)
        rejection = "Nothing is left to discount on the items this reward applies to."
    zero = Decimal(0).quantize(minor_unit)
    return Offer(rule.uuid, rule.name, False, zero, _selection_type(rule), (), rejection)


def _selection_type(rule: RewardRule) -> str:
    return "CHECK" if rule.check_level else "ITEM"


def _rejection(rule: RewardRule, found: tuple[Line, ...], quantity: Decimal, check: _Check) -> str | None:
    if not found:
        return "The check has no item this reward applies to."
    if quantity < rule.minimum_quantity:
        return f"Needs {rule.minimum_quantity.normalize():f} matching items; the check has {quantity.normalize():f}."
    if check.blocker is not None:
        return f"Cannot be combined with {check.blocker}."
    if not rule.combinable and check.applied:
        return "Cannot be combined with other rewards on the check."
    return None
