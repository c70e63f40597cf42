"""Pending points and expiry by lots (spec/ledger.md), on both databases, with a clock the tests move.

The demo merchant is in America/New_York; the clock starts at 2026-06-01 12:00 UTC (08:00 there).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger_support import (
    act,
    assert_consistent,
    balances,
    configure,
    entries,
    entry,
    fresh,
    grant,
    lot_remaining,
    new_member,
    post,
    refund,
    settle,
)
from models import Member
from services import ledger
from services.ledger import schedule as ledger_jobs
from services.ledger import views as ledger_views
from services.members.lookup import lock

UTC = UTC
END_OF_JUNE_3_NY = datetime(2026, 6, 4, 3, 59, 59, 999999, tzinfo=UTC)
END_OF_JULY_1_NY = datetime(2026, 7, 2, 3, 59, 59, 999999, tzinfo=UTC)


def card(rt, member_id):
    with rt.db.reader() as s:
        return ledger_views.card(s, s.get(Member, member_id), rt.clock())


# --- pending points ----------------------------------------------------------------------------


def test_with_pending_days_an_accrual_stays_pending_until_the_end_of_the_day_that_many_days_later(
    rt, demo_merchant, clock
):
    configure(rt, pending_days=2, expiration_days=0)
    mid = new_member(rt)
    accrual = post(rt, mid, 100, "ACCRUAL")
    assert (accrual.status, accrual.activates_at, accrual.expires_at) == ("PENDING", END_OF_JUNE_3_NY, None)
    assert balances(rt, mid) == (0, 100, 0)
    assert card(rt, mid)["next_activation"] == {"points": 100, "date": "2026-06-03"}

    clock.now = END_OF_JUNE_3_NY - timedelta(minutes=1)
    assert ledger_jobs.activate_points(rt) == 0
    clock.now = END_OF_JUNE_3_NY + timedelta(minutes=1)
    assert ledger_jobs.activate_points(rt) == 1
    assert ledger_jobs.activate_points(rt) == 0  # a second run changes nothing
    assert balances(rt, mid) == (100, 0, 0)
    assert entry(rt, accrual.id).status == "ACTIVE"
    assert card(rt, mid)["pending_points"] == {"total": 100, "activated": 100, "canceled": 0}
    assert_consistent(rt, mid)


def test_pending_points_cannot_be_spent_or_held(rt, demo_merchant):
    configure(rt, pending_days=1)
    mid = new_member(rt)
    post(rt, mid, 500, "ACCRUAL")
    with pytest.raises(ledger.InsufficientPoints):
        act(rt, mid, lambda s, m, now: ledger.hold(s, m, key="h", points=1, channel="admin", reference=None, now=now))
    spend = post(rt, mid, -100, "REDEMPTION")
    assert (spend.points, spend.shortfall) == (0, 100)
    assert balances(rt, mid) == (0, 500, 0)


def test_explicit_activation_and_expiration_instants_on_a_posting_win_over_the_program(rt, demo_merchant, clock):
    configure(rt, pending_days=0, expiration_days=365)
    mid = new_member(rt)
    activates, expires = clock.now + timedelta(days=10), clock.now + timedelta(days=20)
    addition = post(rt, mid, 70, activates_at=activates, expires_at=expires)
    assert (addition.status, addition.activates_at, addition.expires_at) == ("PENDING", activates, expires)
    clock.now = activates
    assert ledger_jobs.activate_points(rt) == 1
    assert balances(rt, mid) == (70, 0, 0)
    with pytest.raises(ValueError):
        post(rt, mid, 5, activates_at=expires, expires_at=activates)


def test_a_posting_to_a_member_activates_its_due_points_even_before_the_job_runs(rt, demo_merchant, clock):
    configure(rt, pending_days=1)
    mid = new_member(rt)
    post(rt, mid, 100, "ACCRUAL")
    clock.now += timedelta(days=3)
    spend = post(rt, mid, -60, "REDEMPTION")
    assert (spend.points, spend.shortfall) == (-60, 0)
    assert balances(rt, mid) == (40, 0, 0)
    assert_consistent(rt, mid)


def test_a_refund_inside_the_pending_window_takes_the_orders_pending_points_and_leaves_spendable_alone(
    rt, demo_merchant, clock
):
    configure(rt, pending_days=3)
    mid = new_member(rt)
    grant(rt, mid, 200)
    settle(rt, mid, "1", "40.00", at=clock.now)
    assert balances(rt, mid) == (200, 400, 0)
    assert refund(rt, "1", "rf-1", "10.00").points_posted == -100
    reversal = entries(rt, mid)[-1]
    assert (reversal.type, reversal.status, reversal.points, reversal.shortfall) == ("REVERSAL", "PENDING", -100, 0)
    assert balances(rt, mid) == (200, 300, 0)

    clock.now += timedelta(days=4)
    assert ledger_jobs.activate_points(rt) == 1
    assert balances(rt, mid) == (500, 0, 0)
    assert {e.status for e in entries(rt, mid)[1:]} == {"ACTIVE"}
    assert card(rt, mid)["pending_points"] == {"total": 400, "activated": 300, "canceled": 100}
    assert_consistent(rt, mid)


def test_an_order_cancelled_inside_the_pending_window_never_becomes_spendable(rt, demo_merchant, clock):
    configure(rt, pending_days=3)
    mid = new_member(rt)
    settle(rt, mid, "1", "40.00", at=clock.now)
    settle(rt, mid, "1", "40.00", at=clock.now + timedelta(hours=1), cancelled=True)
    assert balances(rt, mid) == (0, 0, 0)
    clock.now += timedelta(days=4)
    assert ledger_jobs.activate_points(rt) == 1  # the emptied lot closes
    assert balances(rt, mid) == (0, 0, 0)
    assert [(e.type, e.status, e.points) for e in entries(rt, mid)] == [
        ("ACCRUAL", "CANCELED", 400),
        ("REVERSAL", "CANCELED", -400),
    ]
    assert card(rt, mid)["pending_points"] == {"total": 400, "activated": 0, "canceled": 400}
    assert_consistent(rt, mid)


def test_a_reversal_takes_the_orders_pending_points_first_then_spendable_with_a_shortfall_for_what_was_spent(
    rt, demo_merchant, clock
):
    configure(rt, pending_days=0)
    mid = new_member(rt)
    settle(rt, mid, "1", "10.00", at=clock.now)  # 100, spendable at once
    post(rt, mid, -80, "REDEMPTION")
    configure(rt, pending_days=2)
    settle(rt, mid, "1", "15.00", at=clock.now + timedelta(hours=1))  # +50, pending
    assert balances(rt, mid) == (20, 50, 0)
    outcome = settle(rt, mid, "1", "15.00", at=clock.now + timedelta(hours=2), cancelled=True)
    assert outcome.points_posted == -70
    pending_part, spendable_part = entries(rt, mid)[-2:]
    assert (pending_part.status, pending_part.points, pending_part.shortfall) == ("PENDING", -50, 0)
    assert (spendable_part.status, spendable_part.points, spendable_part.shortfall) == ("ACTIVE", -20, 80)
    assert balances(rt, mid) == (0, 0, 0)
    assert_consistent(rt, mid)


# --- expiry ------------------------------------------------------------------------------------


def test_points_expire_at_the_end_of_the_day_expiration_days_after_activation(rt, demo_merchant, clock):
    configure(rt, pending_days=0, expiration_days=30)
    mid = new_member(rt)
    accrual = post(rt, mid, 100, "ACCRUAL")
    assert accrual.expires_at == END_OF_JULY_1_NY
    assert card(rt, mid)["next_expiration"] == {"points": 100, "date": "2026-07-01"}

    clock.now = END_OF_JULY_1_NY
    assert ledger_jobs.expire_points(rt) == 0
    clock.now = END_OF_JULY_1_NY + timedelta(hours=1)
    assert ledger_jobs.expire_points(rt) == 1
    expiration = entries(rt, mid)[-1]
    assert (expiration.type, expiration.status, expiration.points) == ("EXPIRATION", "EXPIRED", -100)
    assert expiration.business_key == f"expiration:{mid}:2026-07-02"
    assert balances(rt, mid) == (0, 0, 0)
    assert card(rt, mid)["next_expiration"] is None
    assert_consistent(rt, mid)


def test_pending_points_expire_counting_from_their_activation(rt, demo_merchant):
    configure(rt, pending_days=2, expiration_days=30)
    mid = new_member(rt)
    accrual = post(rt, mid, 100, "ACCRUAL")
    assert accrual.expires_at == datetime(2026, 7, 4, 3, 59, 59, 999999, tzinfo=UTC)  # end of 3 July in New York


def test_spending_takes_the_soonest_expiring_lot_first_and_never_expiring_points_last(rt, demo_merchant, clock):
    configure(rt, expiration_days=0)
    mid = new_member(rt)
    later = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=10))
    forever = grant(rt, mid, 100)
    sooner = grant(rt, mid, 50, expires_at=clock.now + timedelta(days=5))
    post(rt, mid, -120, "REDEMPTION")
    assert [lot_remaining(rt, e.id) for e in (sooner, later, forever)] == [0, 30, 100]

    clock.now += timedelta(days=6)
    assert ledger_jobs.expire_points(rt) == 0  # the sooner lot was spent
    clock.now += timedelta(days=5)
    assert ledger_jobs.expire_points(rt) == 1
    assert entries(rt, mid)[-1].points == -30
    assert balances(rt, mid) == (100, 0, 0)
    assert_consistent(rt, mid)


def test_a_refund_of_a_spend_restores_the_same_lots_with_their_original_dates(rt, demo_merchant, clock):
    configure(rt, expiration_days=0)
    mid = new_member(rt)
    soon = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=5))
    late = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=50))
    spend = post(rt, mid, -150, "REDEMPTION")
    assert [lot_remaining(rt, e.id) for e in (soon, late)] == [0, 50]
    assert card(rt, mid)["next_expiration"] == {"points": 50, "date": "2026-07-21"}

    refunded = act(
        rt, mid, lambda s, m, now: ledger.cancel(s, m, fresh(s, spend), key="undo", channel="admin", now=now)
    )
    assert (refunded.type, refunded.points, refunded.reverses_id) == ("REFUND", 150, spend.id)
    assert [lot_remaining(rt, e.id) for e in (soon, late)] == [100, 100]
    assert card(rt, mid)["next_expiration"] == {"points": 100, "date": "2026-06-06"}
    assert_consistent(rt, mid)


def test_points_refunded_to_a_lot_already_past_its_date_expire_at_the_next_run(rt, demo_merchant, clock):
    configure(rt, expiration_days=0)
    mid = new_member(rt)
    lot = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=1))
    held = act(
        rt,
        mid,
        lambda s, m, now: ledger.hold(s, m, key="h", points=60, channel="toast_loyalty", reference=None, now=now),
    )
    act(rt, mid, lambda s, m, now: ledger.commit_hold(m, fresh(s, held)) and None)
    clock.now += timedelta(days=3)
    assert ledger_jobs.expire_points(rt) == 1  # the 40 left
    act(
        rt,
        mid,
        lambda s, m, now: ledger.refund_commit(s, m, fresh(s, held), key="void", channel="toast_loyalty", now=now),
    )
    assert lot_remaining(rt, lot.id) == 60 and balances(rt, mid) == (60, 0, 0)
    assert ledger_jobs.expire_points(rt) == 0  # today's expiration entry is already posted
    clock.now += timedelta(days=1)
    assert ledger_jobs.expire_points(rt) == 1
    assert balances(rt, mid) == (0, 0, 0)
    assert_consistent(rt, mid)


def test_the_expiry_job_posts_one_entry_per_member_and_day_however_often_it_runs(rt, demo_merchant, clock):
    configure(rt, expiration_days=1)
    first, second = new_member(rt), new_member(rt, phone="+14155550199")
    for mid in (first, first, second):
        post(rt, mid, 40, "ACCRUAL")
    clock.now += timedelta(days=3)
    assert ledger_jobs.expire_points(rt) == 2
    assert ledger_jobs.expire_points(rt) == 0
    assert [e.points for e in entries(rt, first) if e.type == "EXPIRATION"] == [-80]
    assert [e.points for e in entries(rt, second) if e.type == "EXPIRATION"] == [-40]


def test_the_jobs_run_on_a_real_worker_from_the_maintenance_queue(rt, demo_merchant, clock, work):
    from workers.queues import JOBS, MAINTENANCE

    configure(rt, pending_days=1)
    mid = new_member(rt)
    post(rt, mid, 100, "ACCRUAL")
    clock.now += timedelta(days=2)
    assert {JOBS[name].queue for name in ("activate_points", "expire_points", "expire_holds")} == {MAINTENANCE}
    for name in ("activate_points", "expire_points", "expire_holds"):
        rt.dispatcher.dispatch(name)
    work()
    assert balances(rt, mid) == (100, 0, 0)


def test_cancelling_a_pending_addition_takes_what_is_left_of_it_before_it_activates(rt, demo_merchant, clock):
    configure(rt, pending_days=2)
    mid = new_member(rt)
    addition = post(rt, mid, 90)
    with rt.db.transaction() as s:
        m = lock(s, mid)
        first = ledger.cancel(s, m, fresh(s, addition), key="cancel-1", channel="admin", now=clock.now)
        again = ledger.cancel(s, m, fresh(s, addition), key="cancel-2", channel="admin", now=clock.now)
    assert (first.points, first.status, again) == (-90, "CANCELED", None)
    assert entry(rt, addition.id).status == "CANCELED"
    assert balances(rt, mid) == (0, 0, 0)
    clock.now += timedelta(days=3)
    assert ledger_jobs.activate_points(rt) == 0
    assert_consistent(rt, mid)
