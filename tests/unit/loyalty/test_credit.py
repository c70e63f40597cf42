"""Store-credit arithmetic: the credit an order earns, rounded down once on its whole spend."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from loyalty.credit import credit_for_spend

CENT = Decimal("0.01")
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
rates = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1"), places=3)


def test_five_percent_of_42_50_is_2_12_never_more_than_the_rate_gives():
    assert credit_for_spend(Decimal("42.50"), Decimal("0.05"), CENT) == Decimal("2.12")


def test_a_currency_without_cents_gets_whole_units():
    assert credit_for_spend(Decimal("1999"), Decimal("0.05"), Decimal(1)) == Decimal("99")


def test_no_spend_earns_no_credit():
    assert credit_for_spend(Decimal(0), Decimal("0.05"), CENT) == Decimal("0.00")
    assert credit_for_spend(Decimal("-3"), Decimal("0.05"), CENT) == Decimal("0.00")


@given(amounts, rates)
def test_the_credit_is_within_a_cent_below_the_exact_amount_and_in_cents(spend, rate):
    credit = credit_for_spend(spend, rate, CENT)
    assert Decimal(0) <= spend * rate - credit < CENT
    assert credit == credit.quantize(CENT)


@given(st.lists(amounts, min_size=1, max_size=6), rates)
def test_the_differences_posted_for_an_order_always_add_up_to_what_its_latest_state_earns(states, rate):
    posted = Decimal(0)
    for spend in states:  # each state of the order (larger, smaller: refunds) posts its difference
        posted += credit_for_spend(spend, rate, CENT) - posted
    assert posted == credit_for_spend(states[-1], rate, CENT)
    assert posted - credit_for_spend(Decimal(0), rate, CENT) == posted  # a full refund takes back exactly this
