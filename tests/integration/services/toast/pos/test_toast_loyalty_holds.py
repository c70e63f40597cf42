"""How a Toast REDEEM hold ends: committed when its check is paid, released when voided, or by its time to live."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ledger_support import configure
from models import LedgerEntry, Redemption
from services.ledger import schedule as ledger_jobs
from toast_factories import toast_check, toast_discount, toast_order
from toast_pos_support import ACCESS, COLD_BREW, balance, call, check_info, cold_brew, deliver, give_points, signup

LATER = "2026-06-01T15:00:00.000+0000"
DAY = timedelta(seconds=86400)


def redeem(client, member, check, reward=COLD_BREW):
    answer = call(client, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": reward}]))
    assert answer.status_code == 200 and len(answer.get_json()["checkResponse"]["appliedRedemptions"]) == 1


def states(rt) -> list[str]:
    with rt.db.reader() as s:
        return s.execute(select(Redemption.state).order_by(Redemption.seq)).scalars().all()


@pytest.fixture
def guest(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 600)
    return member


def test_a_redeem_hold_whose_check_is_neither_paid_nor_voided_rolls_back_after_a_day(rt, guest, client, clock):
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=guest)
    redeem(client, guest, check)
    clock.now += DAY - timedelta(seconds=1)
    assert ledger_jobs.expire_holds(rt) == 0 and balance(rt, guest) == (100, 500)
    clock.now += timedelta(seconds=2)
    assert ledger_jobs.expire_holds(rt) == 1
    assert balance(rt, guest) == (600, 0) and states(rt) == ["voided"]
    # The POS repeats the redemption on the still-open check: it is a new charge, not a 500.
    redeem(client, guest, check)
    assert balance(rt, guest) == (100, 500) and states(rt) == ["voided", "initiated"]


def test_the_toast_hold_time_to_live_is_the_programs_toast_hold_ttl_seconds(rt, guest, client, clock):
    configure(rt, toast_hold_ttl_seconds=600)
    redeem(client, guest, toast_check(selections=[cold_brew()], payment_status="OPEN"))
    with rt.db.reader() as s:
        held = s.execute(select(LedgerEntry).where(LedgerEntry.status == "HELD")).scalar_one()
        assert held.expires_at == clock.now + timedelta(seconds=600)
        assert s.execute(select(Redemption.expires_at)).scalar_one() == held.expires_at
    clock.now += timedelta(seconds=601)
    assert ledger_jobs.expire_holds(rt) == 1 and balance(rt, guest) == (600, 0)


def test_a_free_reward_redeemed_on_a_check_left_open_stops_counting_after_its_time_to_live(rt, guest, client, clock):
    redeem(client, guest, toast_check(selections=[cold_brew()], payment_status="OPEN"), reward=ACCESS)
    clock.now += DAY + timedelta(seconds=1)
    ledger_jobs.expire_holds(rt)
    assert states(rt) == ["voided"]


@pytest.mark.parametrize(
    "gone",
    [
        {"check": {"voided": True}},
        {"check": {"deleted": True}},
        {"order": {"voided": True}},
        {"order": {"deleted": True}},
    ],
)
def test_a_voided_or_deleted_check_releases_its_held_redemptions(rt, guest, client, work, gone):
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=guest)
    redeem(client, guest, check)
    order = toast_order(
        checks=[{**check, "modifiedDate": LATER, **gone.get("check", {})}], modified_date=LATER, **gone.get("order", {})
    )
    for _ in range(2):  # a repeated void changes nothing more
        deliver(client, order, event_guid=str(uuid.uuid4()))
        work()
        assert balance(rt, guest) == (600, 0) and states(rt) == ["voided"]


def test_a_check_voided_after_it_was_paid_refunds_the_reward_and_takes_back_its_points(rt, guest, client, work):
    check = toast_check(selections=[cold_brew(), cold_brew()], payment_status="OPEN", loyalty_identifier=guest)
    redeem(client, guest, check)
    paid = {**check, "paymentStatus": "CLOSED", "appliedDiscounts": [toast_discount(COLD_BREW, amount="5.00")]}
    deliver(client, toast_order(checks=[paid]))
    work()
    assert balance(rt, guest) == (200, 0) and states(rt) == ["redeemed"]  # 100 left + 10.00 spent earns 100
    voided = {**paid, "voided": True, "modifiedDate": LATER}
    deliver(client, toast_order(checks=[voided], modified_date=LATER))
    work()
    assert balance(rt, guest) == (600, 0) and states(rt) == ["voided"]


def test_a_paid_check_keeps_its_reward_spent_after_the_time_to_live(rt, guest, client, work, clock):
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=guest)
    redeem(client, guest, check)
    deliver(client, toast_order(checks=[{**check, "paymentStatus": "CLOSED"}]))
    work()
    clock.now += 2 * DAY
    assert ledger_jobs.expire_holds(rt) == 0
    assert states(rt) == ["redeemed"] and balance(rt, guest) == (150, 0)
