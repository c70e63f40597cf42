"""Which lines a reward applies to and what it takes off (rewards.md, with its worked example)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.orders import Line
from loyalty.rewards import LineShare, RewardRule, discount, inquire, match, ordered, plan

COLD_BREW, DRINKS = "100000000437569098", "100000000171239911"
BAGEL, BAKERY = "100000000999000001", "100000000171230000"


def rule(
    uuid: str = "00000000-0000-0000-0000-000000000001", reward_type: str = "discount_value_based", **fields
) -> RewardRule:
    fields.setdefault("name", f"reward {uuid[-2:]}")
    return RewardRule(uuid=uuid, reward_type=reward_type, points_price=0, **fields)


def line(key: str, price: str, quantity=1, **fields) -> Line:
    return Line(key=key, quantity=quantity, price=Decimal(price), **fields)


CHECK = (
    line("brew-1", "5.00", item_id=COLD_BREW, group_id=DRINKS),
    line("brew-2", "5.00", item_id=COLD_BREW, group_id=DRINKS),
    line("bagel", "3.50", item_id=BAGEL, group_id=BAKERY),
)
FREE_COLD_BREW = rule(
    "00000000-0000-0000-0000-0000000000a1",
    "redemption",
    name="Free Cold Brew",
    priority=1,
    item_ids=frozenset({COLD_BREW}),
    maximum_discount_value=Decimal("6.50"),
    combinable=False,
)
TEN_OFF_DRINKS = rule(
    "00000000-0000-0000-0000-0000000000a2",
    "discount_percent_based",
    name="10% off Drinks",
    priority=2,
    reward_value=Decimal(10),
    group_ids=frozenset({DRINKS}),
    minimum_quantity=Decimal(2),
)
TWO_OFF_CHECK = rule(
    "00000000-0000-0000-0000-0000000000a3", name="2.00 off the check", priority=3, reward_value=Decimal(2)
)


def only(reward: RewardRule, lines=CHECK, **options):
    [offer] = plan([reward], lines, **options)
    return offer


# --- the worked example ------------------------------------------------------


def test_a_free_cold_brew_matches_both_cold_brews_and_takes_one_off():
    assert [found.key for found in match(FREE_COLD_BREW, CHECK).lines] == ["brew-1", "brew-2"]
    offer = only(FREE_COLD_BREW)
    assert (offer.applicable, offer.amount, offer.selection_type) == (True, Decimal("5.00"), "ITEM")


def test_ten_percent_off_drinks_with_two_drinks_and_minimum_two_takes_one_dollar():
    offer = only(TEN_OFF_DRINKS)
    assert (offer.applicable, offer.amount) == (True, Decimal("1.00"))
    assert offer.shares == (LineShare("brew-1", Decimal("0.50")), LineShare("brew-2", Decimal("0.50")))


def test_ten_percent_off_drinks_with_minimum_three_is_not_applicable_to_two_drinks():
    needs_three = rule(
        TEN_OFF_DRINKS.uuid,
        "discount_percent_based",
        reward_value=Decimal(10),
        group_ids=frozenset({DRINKS}),
        minimum_quantity=Decimal(3),
    )
    assert match(needs_three, CHECK) is None
    offer = only(needs_three)
    assert (offer.applicable, offer.amount) == (False, Decimal("0.00"))
    assert offer.rejection == "Needs 3 matching items; the check has 2."


def test_two_dollars_off_the_check_matches_every_line_of_13_50():
    assert match(TWO_OFF_CHECK, CHECK).amount == Decimal("13.50")
    offer = only(TWO_OFF_CHECK)
    assert (offer.applicable, offer.amount, offer.selection_type) == (True, Decimal("2.00"), "CHECK")


def test_inquire_offers_each_reward_of_the_example_on_its_own_in_priority_order():
    offers = inquire([TWO_OFF_CHECK, TEN_OFF_DRINKS, FREE_COLD_BREW], CHECK)
    assert [(o.name, o.applicable, o.amount) for o in offers] == [
        ("Free Cold Brew", True, Decimal("5.00")),
        ("10% off Drinks", True, Decimal("1.00")),
        ("2.00 off the check", True, Decimal("2.00")),
    ]


# --- matching ------------------------------------------------------------------


def test_a_line_without_multi_location_ids_is_matched_by_its_item_guid():
    guid_only = line("sel-1", "4.00", item_guid=COLD_BREW)
    assert match(FREE_COLD_BREW, [guid_only]) is not None


def test_a_line_without_multi_location_ids_is_matched_by_its_group_guid():
    guid_only = line("sel-1", "4.00", quantity=2, group_guid=DRINKS)
    assert only(TEN_OFF_DRINKS, [guid_only]).amount == Decimal("0.40")


def test_the_guid_is_not_compared_when_the_multi_location_id_is_present():
    other = line("sel-1", "4.00", item_id="100000000000000001", item_guid=COLD_BREW)
    assert match(FREE_COLD_BREW, [other]) is None


def test_a_shopify_line_matches_by_its_variant_id_or_its_product_id():
    by_variant = rule(item_ids=frozenset({"44556677"}), reward_value=Decimal(1))
    by_product = rule(item_ids=frozenset({"1122"}), reward_value=Decimal(1))
    shopify_line = line("9001", "20.00", item_id="1122", variant_id="44556677")
    assert match(by_variant, [shopify_line]) is not None
    assert match(by_product, [shopify_line]) is not None
    assert match(by_variant, [line("9002", "20.00", item_id="1122", variant_id="1")]) is None


@pytest.mark.parametrize("flag", ["voided", "deferred"])
def test_voided_and_deferred_lines_never_match_even_a_check_level_reward(flag):
    lines = [line("brew-1", "5.00", item_id=COLD_BREW, **{flag: True})]
    assert match(FREE_COLD_BREW, lines) is None
    assert match(TWO_OFF_CHECK, lines) is None
    assert only(TWO_OFF_CHECK, lines).rejection == "The check has no item this reward applies to."


def test_voided_lines_do_not_count_towards_the_minimum_quantity():
    lines = [*CHECK[:1], line("brew-void", "5.00", group_id=DRINKS, voided=True)]
    assert match(TEN_OFF_DRINKS, lines) is None


def test_fractional_quantities_are_summed_for_the_minimum_quantity():
    lines = [
        line("a", "3.00", quantity=Decimal("1.5"), group_id=DRINKS),
        line("b", "1.00", quantity=Decimal("0.5"), group_id=DRINKS),
    ]
    assert match(TEN_OFF_DRINKS, lines).quantity == Decimal(2)


# --- amounts -------------------------------------------------------------------


def test_the_maximum_discount_value_caps_the_discount():
    capped = rule(
        "00000000-0000-0000-0000-0000000000b1",
        "discount_percent_based",
        reward_value=Decimal(50),
        maximum_discount_value=Decimal("3.00"),
    )
    assert only(capped).amount == Decimal("3.00")


def test_a_free_item_is_capped_by_the_maximum_discount_value():
    lines = [line("steak", "30.00", item_id=COLD_BREW)]
    assert only(FREE_COLD_BREW, lines).amount == Decimal("6.50")


def test_amounts_are_rounded_half_even_to_the_minor_unit():
    percent = rule("00000000-0000-0000-0000-0000000000b2", "discount_percent_based", reward_value=Decimal(5))
    assert only(percent, [line("a", "0.50")]).amount == Decimal("0.02")  # 0.025
    assert only(percent, [line("a", "0.70")]).amount == Decimal("0.04")  # 0.035


def test_a_currency_without_minor_units_rounds_to_whole_units():
    percent = rule("00000000-0000-0000-0000-0000000000b3", "discount_percent_based", reward_value=Decimal(10))
    offer = only(percent, [line("ramen", "1250", item_id="x")], minor_unit=Decimal(1))
    assert offer.amount == Decimal("125") and offer.amount.as_tuple().exponent == 0
    assert only(percent, [line("gyoza", "450")], minor_unit=Decimal(1)).amount == Decimal("45")
    assert only(percent, [line("tea", "250")], minor_unit=Decimal(1)).amount == Decimal("25")
    assert only(percent, [line("tea", "255")], minor_unit=Decimal(1)).amount == Decimal("26")  # 25.5, half even


def test_a_value_discount_never_exceeds_the_matching_lines():
    big = rule(reward_value=Decimal(50), item_ids=frozenset({BAGEL}))
    assert only(big).amount == Decimal("3.50")


def test_the_redemption_type_takes_one_unit_of_the_dearest_matching_line():
    free_drink = rule("00000000-0000-0000-0000-0000000000b4", "redemption", group_ids=frozenset({DRINKS}))
    lines = [
        line("small", "6.00", quantity=2, group_id=DRINKS),
        line("large", "8.00", quantity=2, group_id=DRINKS),
        line("mid", "3.50", group_id=DRINKS),
    ]
    offer = only(free_drink, lines)
    assert offer.amount == Decimal("4.00")
    assert offer.shares == (LineShare("large", Decimal("4.00")),)


def test_an_access_reward_is_applicable_and_takes_nothing_off():
    lounge = rule("00000000-0000-0000-0000-0000000000b5", "access", name="Lounge access")
    offer = only(lounge)
    assert (offer.applicable, offer.amount, offer.shares) == (True, Decimal("0.00"), ())


def test_the_split_over_lines_is_pro_rata_with_the_remainder_on_the_largest_line():
    third = rule(reward_value=Decimal("1.00"))
    offer = only(third, [line("a", "2.00"), line("b", "1.00"), line("c", "1.00")])
    assert offer.shares == (
        LineShare("a", Decimal("0.50")),
        LineShare("b", Decimal("0.25")),
        LineShare("c", Decimal("0.25")),
    )
    uneven = only(third, [line("a", "1.00"), line("b", "1.00"), line("c", "1.00")])
    assert uneven.shares == (
        LineShare("a", Decimal("0.34")),
        LineShare("b", Decimal("0.33")),
        LineShare("c", Decimal("0.33")),
    )


def test_a_discount_is_limited_to_what_earlier_rewards_left_of_its_lines():
    found = match(TWO_OFF_CHECK, [line("a", "3.00")])
    result = discount(TWO_OFF_CHECK, found, {"a": Decimal("1.25")})
    assert result.amount == Decimal("1.25") and result.shares == (LineShare("a", Decimal("1.25")),)


# --- several rewards on one check --------------------------------------------


def test_a_non_combinable_reward_applied_first_rejects_every_later_one():
    offers = plan([TWO_OFF_CHECK, FREE_COLD_BREW, TEN_OFF_DRINKS], CHECK)
    assert [(o.name, o.applicable) for o in offers] == [
        ("Free Cold Brew", True),
        ("10% off Drinks", False),
        ("2.00 off the check", False),
    ]
    assert offers[1].rejection == "Cannot be combined with Free Cold Brew."


def test_a_non_combinable_reward_after_another_one_is_offered_but_rejected():
    late = rule(
        "00000000-0000-0000-0000-0000000000c1",
        "redemption",
        name="Free Cold Brew",
        priority=9,
        item_ids=frozenset({COLD_BREW}),
        combinable=False,
    )
    offers = plan([late, TWO_OFF_CHECK], CHECK)
    assert [(o.name, o.applicable) for o in offers] == [("2.00 off the check", True), ("Free Cold Brew", False)]
    assert offers[1].rejection == "Cannot be combined with other rewards on the check."


def test_a_non_combinable_reward_is_rejected_when_a_reward_is_already_on_the_check():
    assert (
        only(FREE_COLD_BREW, applied=[TWO_OFF_CHECK]).rejection == "Cannot be combined with other rewards on the check."
    )
    assert only(TWO_OFF_CHECK, applied=[FREE_COLD_BREW]).rejection == "Cannot be combined with Free Cold Brew."


def test_combinable_rewards_stack_on_what_is_left_of_the_lines():
    offers = plan([TEN_OFF_DRINKS, TWO_OFF_CHECK], CHECK)
    assert [o.amount for o in offers] == [Decimal("1.00"), Decimal("2.00")]


def test_a_reward_with_nothing_left_to_discount_is_rejected():
    all_of_it = rule("00000000-0000-0000-0000-0000000000c2", reward_value=Decimal(100), priority=1)
    offers = plan([all_of_it, TWO_OFF_CHECK], CHECK)
    assert offers[0].amount == Decimal("13.50")
    assert (offers[1].applicable, offers[1].rejection) == (
        False,
        "Nothing is left to discount on the items this reward applies to.",
    )


def test_rewards_are_considered_by_priority_then_uuid_whatever_order_they_come_in():
    first = rule("00000000-0000-0000-0000-00000000000a", priority=1)
    second = rule("00000000-0000-0000-0000-00000000000b", priority=1)
    third = rule("00000000-0000-0000-0000-000000000001", priority=2)
    assert ordered([third, second, first]) == [first, second, third]
    assert [o.uuid for o in plan([third, second, first], CHECK)] == [first.uuid, second.uuid, third.uuid]


def test_repeated_line_keys_are_refused():
    with pytest.raises(ValueError):
        plan([TWO_OFF_CHECK], [line("a", "1.00"), line("a", "2.00")])


def test_a_rule_is_built_from_its_stored_json_definition():
    definition = {
        "uuid": FREE_COLD_BREW.uuid,
        "name": "Free Cold Brew",
        "priority": 1,
        "description": None,
        "reward_type": "redemption",
        "reward_value": "0",
        "points_price": 500,
        "interval": 7,
        "limit": 0,
        "start_date": "2026-01-01T05:00:00Z",
        "end_date": None,
        "minimum_quantity": 1,
        "maximum_discount_value": "6.5",
        "can_be_combined_with_other_rewards": False,
        "applicable_menu_item_multi_location_ids": [COLD_BREW],
        "applicable_menu_group_multi_location_ids": [],
        "metadata": {},
        "active": True,
    }
    built = RewardRule.from_definition(definition)
    assert built.maximum_discount_value == Decimal("6.5") and built.points_price == 500
    assert built.start is not None and built.start.utcoffset().total_seconds() == 0 and built.start.hour == 5
    assert (built.item_ids, built.combinable, built.interval, built.check_level) == (
        frozenset({COLD_BREW}),
        False,
        7,
        False,
    )
