"""Properties of reward amounts on any check (rewards.md: discount amount, several rewards)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.orders import Line
from loyalty.rewards import REWARD_TYPES, RewardRule, discount, match, plan

ITEMS = ["100000000437569098", "100000000999000001", "100000000555000002"]
GROUPS = ["100000000171239911", "100000000171230000"]
UNITS = st.sampled_from([Decimal("0.01"), Decimal(1)])

prices = st.decimals(min_value=Decimal(0), max_value=Decimal(200), places=2)
quantities = st.one_of(
    st.integers(min_value=1, max_value=4), st.decimals(min_value=Decimal("0.1"), max_value=Decimal(4), places=1)
)


def maybe(ids: list[str]) -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(ids)


@st.composite
def lines_of_a_check(draw, index: int) -> Line:
    rare = st.integers(min_value=0, max_value=4).map(lambda roll: roll == 0)  # voided/deferred one time in five
    return Line(
        key=f"sel-{index}",
        quantity=draw(quantities),
        price=draw(prices),
        item_id=draw(maybe(ITEMS)),
        group_id=draw(maybe(GROUPS)),
        item_guid=draw(maybe(ITEMS)),
        variant_id=draw(maybe(ITEMS)),
        voided=draw(rare),
        deferred=draw(rare),
    )


@st.composite
def checks(draw) -> list[Line]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [draw(lines_of_a_check(index)) for index in range(count)]


@st.composite
def rewards(draw, index: int = 0) -> RewardRule:
    reward_type = draw(st.sampled_from(REWARD_TYPES))
    value = draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal(100), places=2))
    return RewardRule(
        uuid=f"00000000-0000-0000-0000-{index:012d}",
        name=f"reward {index}",
        reward_type=reward_type,
        points_price=0,
        priority=draw(st.integers(min_value=0, max_value=3)),
        reward_value=value,
        minimum_quantity=Decimal(draw(st.integers(min_value=1, max_value=3))),
        maximum_discount_value=draw(
            st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50), places=2)
        ),
        combinable=draw(st.booleans()),
        item_ids=frozenset(draw(st.sets(st.sampled_from(ITEMS), max_size=2))),
        group_ids=frozenset(draw(st.sets(st.sampled_from(GROUPS), max_size=1))),
    )


@st.composite
def reward_lists(draw) -> list[RewardRule]:
    count = draw(st.integers(min_value=1, max_value=5))
    return [draw(rewards(index)) for index in range(count)]


def check_amount(lines: list[Line]) -> Decimal:
    return sum((line.price for line in lines if not (line.voided or line.deferred)), Decimal(0))


@given(rewards(), checks(), UNITS)
def test_a_discount_never_exceeds_the_lines_it_applies_to(rule, lines, unit):
    found = match(rule, lines)
    if found is not None:
        result = discount(rule, found, minor_unit=unit)
        assert Decimal(0) <= result.amount <= found.amount
        by_key = {line.key: line for line in found.lines}
        assert all(share.amount <= by_key[share.key].price for share in result.shares)


@settings(max_examples=200)
@given(reward_lists(), checks(), UNITS)
def test_the_discounts_on_a_check_never_exceed_the_check_or_any_line(rules, lines, unit):
    offers = plan(rules, lines, minor_unit=unit)
    assert sum((offer.amount for offer in offers), Decimal(0)) <= check_amount(lines)
    taken: dict[str, Decimal] = defaultdict(Decimal)
    for offer in offers:
        for share in offer.shares:
            taken[share.key] += share.amount
    prices = {line.key: line.price for line in lines}
    assert all(amount <= prices[key] for key, amount in taken.items())


@given(reward_lists(), checks(), UNITS)
def test_each_offer_is_split_over_its_matching_lines_to_the_exact_amount(rules, lines, unit):
    by_uuid = {rule.uuid: rule for rule in rules}
    for offer in plan(rules, lines, minor_unit=unit):
        assert sum((share.amount for share in offer.shares), Decimal(0)) == offer.amount
        found = match(by_uuid[offer.uuid], lines)
        assert {share.key for share in offer.shares} <= {line.key for line in (found.lines if found else ())}
        assert all(share.amount > 0 for share in offer.shares)


@given(reward_lists(), checks())
def test_a_non_combinable_reward_is_never_applied_with_another(rules, lines):
    by_uuid = {rule.uuid: rule for rule in rules}
    applied = [offer for offer in plan(rules, lines) if offer.applicable]
    if any(not by_uuid[offer.uuid].combinable for offer in applied):
        assert len(applied) == 1


@given(reward_lists(), checks(), rewards(99))
def test_a_non_combinable_reward_is_never_applied_on_a_check_that_has_a_reward(rules, lines, on_check):
    by_uuid = {rule.uuid: rule for rule in rules}
    for offer in plan(rules, lines, applied=[on_check]):
        if offer.applicable:
            assert by_uuid[offer.uuid].combinable and on_check.combinable


@given(reward_lists(), checks(), st.randoms(use_true_random=False), UNITS)
def test_the_order_of_the_lines_and_of_the_rewards_does_not_change_the_offers(rules, lines, random, unit):
    shuffled_lines, shuffled_rules = list(lines), list(rules)
    random.shuffle(shuffled_lines)
    random.shuffle(shuffled_rules)
    assert plan(shuffled_rules, shuffled_lines, minor_unit=unit) == plan(rules, lines, minor_unit=unit)


@given(reward_lists(), checks(), UNITS)
def test_every_amount_is_a_decimal_quantized_to_the_minor_unit(rules, lines, unit):
    exponent = unit.as_tuple().exponent
    for offer in plan(rules, lines, minor_unit=unit):
        amounts = [offer.amount, *(share.amount for share in offer.shares)]
        assert all(isinstance(amount, Decimal) and amount.as_tuple().exponent == exponent for amount in amounts)
