"""Rewards: when a member may redeem one, and what it takes off a check (rewards.md).

Pure: time is a parameter, nothing is read or written. Money is ``Decimal``
throughout and every amount that leaves this module is quantized to the
currency's minor unit (a power of ten: ``Decimal("0.01")`` for USD, ``Decimal(1)``
for JPY).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from .orders import Line
from .reward_rules import (  # noqa: F401  (the rules are part of this module's interface)
    CENT,
    ENDED,
    INACTIVE,
    INSUFFICIENT_POINTS,
    INTERVAL,
    LIMIT_REACHED,
    NOT_STARTED,
    REWARD_TYPES,
    Availability,
    MemberUsage,
    RewardRule,
    availability,
    available_rules,
)

# --- matching --------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The lines of a check a reward applies to (sorted by key) and their summed quantity."""

    lines: tuple[Line, ...]
    quantity: Decimal
    total: Decimal | None = None  # ``M`` when the caller already knows it
    top_unit: Decimal | None = None  # ``U`` when the caller already knows it

    @property
    def amount(self) -> Decimal:
        """``M``: the net price of the matching lines."""
        if self.total is not None:
            return self.total
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


class CheckIndex:
    """A check's lines indexed by item and group id, built once and matched against many rewards.

    INQUIRE weighs a whole catalogue against one check: looking ids up beats
    scanning every line for every reward.
    """

    def __init__(self, lines: Iterable[Line]) -> None:
        self.lines = tuple(lines)
        keys = [line.key for line in self.lines]
        if len(set(keys)) != len(keys):
            raise ValueError("line keys must be unique on a check")
        check_level = CheckLevel()
        self.eligible = tuple(
            sorted((line for line in self.lines if line_matches(check_level, line)), key=lambda line: line.key)
        )
        self.eligible_amount = sum((line.price for line in self.eligible), Decimal(0))
        self.eligible_quantity = sum((Decimal(line.quantity) for line in self.eligible), Decimal(0))
        self.eligible_top_unit = max((_unit_price(line) for line in self.eligible), default=None)
        self.by_item: dict[str, list[int]] = {}
        self.by_group: dict[str, list[int]] = {}
        for position, line in enumerate(self.eligible):
            for id_ in _item_ids(line):
                self.by_item.setdefault(id_, []).append(position)
            for id_ in _group_ids(line):
                self.by_group.setdefault(id_, []).append(position)

    def matching(self, rule: RewardRule) -> tuple[tuple[Line, ...], Decimal]:
        """The lines ``rule`` applies to (sorted by key) and their summed quantity."""
        if rule.check_level:
            return self.eligible, self.eligible_quantity
        else:
            positions = {p for id_ in rule.item_ids for p in self.by_item.get(id_, ())}
            positions.update(p for id_ in rule.group_ids for p in self.by_group.get(id_, ()))
            found = tuple(self.eligible[p] for p in sorted(positions))
        return found, sum((Decimal(line.quantity) for line in found), Decimal(0))


class CheckLevel:
    """Stands in for a reward that lists no ids: every eligible line matches it."""

    check_level = True


def _index(lines: Iterable[Line] | CheckIndex) -> CheckIndex:
    return lines if isinstance(lines, CheckIndex) else CheckIndex(lines)


def match(rule: RewardRule, lines: Iterable[Line] | CheckIndex) -> Match | None:
    """The lines ``rule`` applies to, or None when their quantity is below ``minimum_quantity``."""
    found, quantity = _index(lines).matching(rule)
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


def discount(
    rule: RewardRule,
    found: Match,
    remaining: Mapping[str, Decimal] | None = None,
    minor_unit: Decimal = CENT,
    ceiling: Decimal | None = None,
    *,
    left_total: Decimal | None = None,
) -> Discount:
    """What ``rule`` takes off the ``found`` lines, and how it splits over them.

    The amount is computed from the lines' net prices (``M``, ``U``), capped by
    ``maximum_discount_value``, rounded half-even to ``minor_unit``, then limited
    to what ``remaining`` (line key -> amount left after earlier rewards; the line
    price when absent) still holds, and to ``ceiling`` when given. A free item
    lands on the dearest unit first; other discounts split pro rata to what is
    left of each line, the rounding remainder going to the largest.

    ``left_total``, when given, is what the lines still hold in all (floored):
    the split over lines is then skipped (a check-level offer needs none).
    """
    if left_total is not None:
        left, limit = None, left_total
    else:
        left = {line.key: _floor(_left_of(line, remaining), minor_unit) for line in found.lines}
        limit = sum(left.values(), Decimal(0))
    if ceiling is not None:
        limit = min(limit, _floor(max(ceiling, Decimal(0)), minor_unit))
    amount = max(Decimal(0), min(_rounded(rule, _raw_amount(rule, found), minor_unit), limit)).quantize(minor_unit)
    return Discount(amount, _allocate(rule, found, amount, left, minor_unit) if left is not None else ())


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
        return found.top_unit if found.top_unit is not None else max(_unit_price(line) for line in found.lines)
    return Decimal(0)  # access: an entitlement, no money off


def _rounded(rule: RewardRule, amount: Decimal, minor_unit: Decimal) -> Decimal:
    if rule.maximum_discount_value is not None:
        amount = min(amount, rule.maximum_discount_value)
    return amount.quantize(minor_unit, rounding=ROUND_HALF_EVEN)


def _floor(amount: Decimal, minor_unit: Decimal) -> Decimal:
    return amount.quantize(minor_unit, rounding=ROUND_FLOOR)


def _allocate(
    rule: RewardRule, found: Match, amount: Decimal, left: dict[str, Decimal], minor_unit: Decimal
) -> tuple[LineShare, ...]:
    if rule.reward_type == "redemption":
        shares = dict.fromkeys(left, Decimal(0))
        order = sorted(found.lines, key=lambda line: (-_unit_price(line), line.key))
    else:
        total = sum(left.values(), Decimal(0))
        shares = {
            key: _floor(amount * value / total, minor_unit) if total else Decimal(0) for key, value in left.items()
        }
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
    eligible_left: Decimal | None = None  # cache: what the untouched eligible lines hold, floored

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


def plan(
    rules: Iterable[RewardRule],
    lines: Sequence[Line] | CheckIndex,
    *,
    applied: Sequence[RewardRule] = (),
    minor_unit: Decimal = CENT,
) -> list[Offer]:
    """Apply ``rules`` to a check one after the other, in ``ordered`` order.

    The order the caller lists them in does not matter (a REDEEM applies the
    requested rewards by priority, then uuid). ``applied`` are rewards already
    on the check: their money is already out of the lines' net prices, they
    only count for combinability. Each applied reward reduces what is left of
    its lines for the next; the total never exceeds the check's amount (the
    prices of its lines that are neither voided nor deferred). Line keys must
    be unique.
    """
    index = _index(lines)
    check = _start(index, applied, minor_unit)
    return [_offer(rule, index, check, minor_unit) for rule in ordered(rules)]  # in turn: each updates check


def inquire(
    rules: Iterable[RewardRule],
    lines: Sequence[Line] | CheckIndex,
    *,
    applied: Sequence[RewardRule] = (),
    minor_unit: Decimal = CENT,
) -> list[Offer]:
    """Each reward on its own against the check (the alternatives a guest can pick), in ``ordered`` order."""
    index = _index(lines)
    check = _start(index, applied, minor_unit)
    # Each reward is weighed alone: the shared starting point is never updated.
    return [_offer(rule, index, check, minor_unit, take=False) for rule in ordered(rules)]


def _start(index: CheckIndex, applied: Sequence[RewardRule], minor_unit: Decimal) -> _Check:
    counted = [line.price for line in index.lines if not (line.voided or line.deferred)]
    blocker = next((rule.name for rule in applied if not rule.combinable), None)
    total = _floor(max(sum(counted, Decimal(0)), Decimal(0)), minor_unit)
    return _Check({line.key: max(line.price, Decimal(0)) for line in index.lines}, total, len(applied), blocker)


def _offer(rule: RewardRule, index: CheckIndex, check: _Check, minor_unit: Decimal, take: bool = True) -> Offer:
    found, quantity = index.matching(rule)
    rejection = _rejection(rule, found, quantity, check)
    if rejection is None:
        if not take and rule.check_level:
            # Weighed alone on an untouched check: M and what is left are the same for every such reward.
            result = discount(
                rule,
                Match(found, quantity, index.eligible_amount, index.eligible_top_unit),
                None,
                minor_unit,
                check.total_left,
                left_total=_untouched_left(index, check, minor_unit),
            )
        else:
            result = discount(rule, Match(found, quantity), check.left, minor_unit, check.total_left)
        if result.amount > 0 or rule.reward_type == "access":
            if take:
                check.take(rule, result)
            return Offer(rule.uuid, rule.name, True, result.amount, _selection_type(rule), result.shares)
        rejection = "Nothing is left to discount on the items this reward applies to."
    zero = Decimal(0).quantize(minor_unit)
    return Offer(rule.uuid, rule.name, False, zero, _selection_type(rule), (), rejection)


def _untouched_left(index: CheckIndex, check: _Check, minor_unit: Decimal) -> Decimal:
    if check.eligible_left is None:
        check.eligible_left = sum(
            (_floor(max(line.price, Decimal(0)), minor_unit) for line in index.eligible), Decimal(0)
        )
    return check.eligible_left


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
