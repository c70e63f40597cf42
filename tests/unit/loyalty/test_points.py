"""Points arithmetic: earning, proportional refunds, settling to the latest state."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from loyalty.points import OrderPosition, points_for_spend, refund_reversal

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
rates = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("100"), places=1)


def test_ten_points_per_unit_on_42_50_earns_425():
    assert points_for_spend(Decimal("42.50"), Decimal(10), "floor") == 425


def test_the_program_rounding_applies_once_per_order():
    spend = Decimal("10.05")
    assert points_for_spend(spend, Decimal("1"), "floor") == 10
    assert points_for_spend(spend, Decimal("1"), "ceil") == 11
    assert points_for_spend(Decimal("10.50"), Decimal("1"), "round") == 11


def test_a_tier_multiplier_scales_the_exact_amount_before_rounding():
    assert points_for_spend(Decimal("10.00"), Decimal(10), "floor", Decimal("1.25")) == 125


def test_nothing_is_earned_on_zero_or_negative_spend():
    assert points_for_spend(Decimal(0), Decimal(10), "ceil") == 0
    assert points_for_spend(Decimal("-5"), Decimal(10), "ceil") == 0


@given(amounts, rates, st.sampled_from(["floor", "round", "ceil"]))
def test_earned_points_are_within_one_of_the_exact_amount(spend, rate, rounding):
    points = points_for_spend(spend, rate, rounding)
    assert isinstance(points, int)
    assert abs(Decimal(points) - spend * rate) < 1


@given(st.integers(min_value=0, max_value=10**7), amounts, st.lists(amounts, max_size=6))
def test_the_sum_of_refund_reversals_never_exceeds_what_was_earned(earned, eligible, refunds):
    total = Decimal(0)
    reversed_so_far = 0
    for refund in refunds:
        total += refund
        now = refund_reversal(earned, eligible, total)
        assert now >= reversed_so_far  # cumulative reversal only grows
        reversed_so_far = now
    assert 0 <= reversed_so_far <= earned


@given(st.integers(min_value=0, max_value=10**7), amounts)
def test_refunding_the_whole_eligible_spend_reverses_everything(earned, eligible):
    assert refund_reversal(earned, eligible, eligible) == earned


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)
def test_settling_to_a_position_makes_the_ledger_equal_the_target(earned, held, shortfall):
    position = OrderPosition(
        earned=earned,
        eligible_spend=Decimal(1),
        refunded=Decimal(0),
        cancelled=False,
        held=held,
        shortfall=min(shortfall, held),
    )
    assert (position.held - position.shortfall) + position.delta() == position.target()


def test_a_cancelled_order_targets_zero_whatever_it_earned():
    position = OrderPosition(
        earned=500, eligible_spend=Decimal(50), refunded=Decimal(10), cancelled=True, held=400, shortfall=0
    )
    assert position.target() == 0 and position.delta() == -400
