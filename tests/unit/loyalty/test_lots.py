"""Lot arithmetic: debits take the soonest-expiring points first, refunds give the same lots back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from loyalty.lots import (
    Lot,
    Take,
    apply,
    consume,
    end_of_day,
    end_of_day_after,
    expired,
    local_date,
    restore,
    spending_order,
)

BASE = datetime(2026, 1, 1, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
expiries = st.one_of(st.none(), st.integers(0, 400).map(lambda d: BASE + timedelta(days=d)))


@st.composite
def lot_lists(draw):
    specs = draw(st.lists(st.tuples(st.integers(0, 500), expiries), max_size=12))
    return [Lot(id=i + 1, remaining=n, expires_at=at) for i, (n, at) in enumerate(specs)]


def total(lots) -> int:
    return sum(lot.remaining for lot in lots)


def test_the_lot_expiring_soonest_is_taken_first_and_never_expiring_lots_last():
    lots = [Lot(1, 100, None), Lot(2, 100, BASE + timedelta(days=30)), Lot(3, 100, BASE + timedelta(days=10))]
    assert consume(lots, 150) == ([Take(3, 100), Take(2, 50)], 0)
    assert consume(lots, 350) == ([Take(3, 100), Take(2, 100), Take(1, 100)], 50)


def test_lots_expiring_at_the_same_instant_are_taken_oldest_first():
    same = BASE + timedelta(days=5)
    assert consume([Lot(7, 10, same), Lot(3, 10, same)], 15)[0] == [Take(3, 10), Take(7, 5)]


@given(lot_lists(), st.integers(-10, 5000))
def test_a_debit_takes_what_the_lots_hold_and_reports_the_rest_as_shortfall(lots, points):
    takes, shortfall = consume(lots, points)
    taken = sum(t.points for t in takes)
    assert taken == min(max(points, 0), total(lots))
    assert shortfall == max(points, 0) - taken
    assert all(t.points > 0 for t in takes)


@given(lot_lists(), st.integers(0, 5000))
def test_no_lot_is_ever_taken_below_zero(lots, points):
    takes, _ = consume(lots, points)
    assert all(lot.remaining >= 0 for lot in apply(lots, takes))


@given(lot_lists(), st.integers(0, 5000))
def test_a_debit_touches_a_lot_only_once_every_lot_before_it_in_spending_order_is_empty(lots, points):
    takes, _ = consume(lots, points)
    after = {lot.id: lot for lot in apply(lots, takes)}
    touched = {t.lot_id for t in takes}
    order = spending_order(lots)
    last = max((i for i, lot in enumerate(order) if lot.id in touched), default=0)
    assert all(after[lot.id].remaining == 0 for lot in order[:last])


@given(lot_lists(), st.integers(0, 5000))
def test_a_refund_of_a_debit_gives_every_lot_back_exactly_what_it_gave(lots, points):
    takes, _ = consume(lots, points)
    assert restore(apply(lots, takes), takes) == lots


@given(lot_lists(), st.integers(0, 400))
def test_expired_lots_are_the_head_of_the_spending_order_so_an_expiration_debit_takes_exactly_them(lots, day):
    now = BASE + timedelta(days=day, hours=1)
    gone = expired(lots, now)
    amount = total(gone)
    takes, shortfall = consume(lots, amount)
    assert shortfall == 0
    assert {t.lot_id for t in takes} == {lot.id for lot in gone}
    assert all(lot.expires_at < now for lot in gone)


def test_a_lot_expires_only_after_the_end_of_its_day():
    end = end_of_day(date(2026, 3, 1), NEW_YORK)
    lot = Lot(1, 10, end)
    assert expired([lot], end) == []
    assert expired([lot], end + timedelta(microseconds=1)) == [lot]


@given(
    st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    st.sampled_from(["America/New_York", "Europe/Paris", "Asia/Kolkata", "Pacific/Auckland", "UTC"]),
)
def test_the_end_of_a_day_is_its_last_microsecond_in_the_merchant_time_zone(day, zone):
    tz = ZoneInfo(zone)
    end = end_of_day(day, tz)
    assert end.tzinfo == UTC
    assert local_date(end, tz) == day
    assert local_date(end + timedelta(microseconds=1), tz) == day + timedelta(days=1)


def test_days_after_are_counted_in_local_dates_across_a_dst_change():
    # 22:30 in New York on 7 March 2026 is already 8 March in UTC; DST starts on 8 March.
    posted = datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
    end = end_of_day_after(posted, 1, NEW_YORK)
    assert local_date(end, NEW_YORK) == date(2026, 3, 8)
    assert end == datetime(2026, 3, 9, 3, 59, 59, 999999, tzinfo=UTC)  # EDT is UTC-4
