"""The Toast POS for an Altcraft merchant: Altcraft's balance and the merchant's rewards at the register, redemptions
as temporary Altcraft transactions committed, rolled back or cancelled."""

from __future__ import annotations

from datetime import timedelta

from altcraft_support import COLD_BREW, TWO_OFF, check_info, deliver_toast, pos, postings, profile_of

from models import Redemption
from services.programs import upkeep
from services.toast.pos.checks import UNREACHABLE as UNREACHABLE_OFFERS
from support import wait_for
from toast_factories import toast_check, toast_order, toast_selection


def cold_brew(price="5.00"):
    return toast_selection(price=price, name="Cold Brew", item_id="100000000437569098", group_id="100000000171239911")


def signed_up(client, work, altcraft, points: int = 0) -> str:
    answer = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550134"}}).get_json()
    work()  # the registration posting goes to Altcraft
    if points:
        altcraft.give_points(profile_of(altcraft)["id"], points)
    return answer["signupResponse"]["loyaltyIdentifier"]


def redeem(client, member_id, check, guid):
    body = check_info(member_id, check, [{"identifier": COLD_BREW}])
    return pos(client, "LOYALTY_REDEEM", body, guid=guid).get_json()["checkResponse"]


def states(rt) -> list[str]:
    with rt.db.reader() as s:
        return [r.state for r in s.query(Redemption).order_by(Redemption.seq)]


def test_signup_registers_the_guest_in_altcraft_by_phone_and_answers_our_own_identifier(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft)
    assert member_id.startswith("mem_") and profile_of(altcraft)["registered"]
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]


def test_inquire_shows_altcrafts_active_balance_and_offers_the_merchants_rewards_that_match_the_check(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check)).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "500"
    offers = {o["identifier"]: o for o in answer["offers"]}
    assert offers[COLD_BREW]["applicable"] and offers[COLD_BREW]["amount"] == 5.0
    assert offers[TWO_OFF]["applicable"] is False  # its item is not on the check


def test_inquire_reads_altcraft_once_while_its_answer_is_fresh(rt, altcraft, altcraft_merchant, client, work):
    member_id = signed_up(client, work, altcraft, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    for _ in range(3):
        pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    assert len(altcraft.calls_to("account/balance")) == 1


def test_an_altcraft_too_slow_for_the_pos_gives_the_account_without_offers_never_an_error(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=500)
    altcraft.delay("account/balance", 3)  # past the POS's 1.5 s budget
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    response = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    altcraft.delay("account/balance", 0)
    answer = response.get_json()["checkResponse"]
    assert response.status_code == 200 and answer["offers"] == [] and answer["userMessage"] == UNREACHABLE_OFFERS


def test_redeem_holds_the_points_as_a_temporary_redemption_reverse_rolls_it_back_and_a_paid_check_commits(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=500)
    profile = profile_of(altcraft)["id"]
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    assert len(redeem(client, member_id, check, "r-1")["appliedRedemptions"]) == 1
    [(_, taken, _)] = altcraft.calls_to("redeeme_points")
    assert (taken["amount"], taken["is_temp"]) == ("300", True)
    assert taken["temp_timeout_sec"] >= 86400  # no shorter than the hold Punchcard keeps
    assert altcraft.active(profile) == 200  # held at Altcraft while the check is open
    reverse = {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": "r-1"}}
    assert pos(client, "LOYALTY_REVERSE", reverse).status_code == 200
    work()
    assert altcraft.by_eid(taken["transaction_eid"])[0]["status"] == "rolled_back" and altcraft.active(profile) == 500
    assert len(redeem(client, member_id, check, "r-2")["appliedRedemptions"]) == 1
    pos(client, "LOYALTY_ACCRUE", check_info(member_id, {**check, "paymentStatus": "CLOSED"}))
    work()
    second = altcraft.calls_to("redeeme_points")[1][1]["transaction_eid"]
    assert altcraft.by_eid(second)[0]["status"] == "active"  # committed
    assert altcraft.active(profile) == 500 - 300 + 50  # the cold brew spent, then 5.00 of the check earned
    assert states(rt) == ["voided", "redeemed"]


def test_a_check_voided_after_it_was_paid_cancels_the_committed_redemption_at_altcraft(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    redeem(client, member_id, check, "r-1")
    deliver_toast(client, toast_order(checks=[{**check, "paymentStatus": "PAID"}]))
    work()
    voided = {**check, "paymentStatus": "PAID", "voided": True, "modifiedDate": "2026-06-01T15:00:00.000+0000"}
    deliver_toast(client, toast_order(checks=[voided]))
    work()
    eid = altcraft.calls_to("redeeme_points")[0][1]["transaction_eid"]
    assert [c[1] for c in altcraft.calls_to("commit_transaction")] == [{"transaction_eid": eid}]
    assert [c[1] for c in altcraft.calls_to("cancel_transaction")][-1] == {"transaction_eid": eid}
    assert altcraft.active(profile_of(altcraft)["id"]) == 500 and states(rt) == ["voided"]


def test_a_redemption_left_open_past_its_hold_is_rolled_back_at_altcraft_by_the_expiry_job(
    rt, altcraft, altcraft_merchant, client, work, clock
):
    member_id = signed_up(client, work, altcraft, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    redeem(client, member_id, check, "r-1")
    clock.now += timedelta(days=1, seconds=1)
    assert upkeep.expire_provider_redemptions(rt) == 1
    work()
    assert [c[0] for c in altcraft.calls if "transaction" in c[0]] == ["loyalty/rollback_transaction"]
    assert altcraft.active(profile_of(altcraft)["id"]) == 500 and states(rt) == ["voided"]


def test_a_reward_the_altcraft_balance_cannot_cover_is_rejected_with_a_message_and_nothing_taken(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=100)
    answer = redeem(client, member_id, toast_check(selections=[cold_brew()], payment_status="OPEN"), "r-1")
    [rejected] = answer["rejectedRedemptions"]
    assert "Not enough points" in rejected["message"] and not altcraft.calls_to("redeeme_points")


def test_a_redemption_whose_answer_never_came_is_rejected_and_rolled_back_at_altcraft_afterwards(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = signed_up(client, work, altcraft, points=500)
    altcraft.delay("redeeme_points", 2.5)  # Altcraft takes the points, after the POS has given up
    answer = redeem(client, member_id, toast_check(selections=[cold_brew()], payment_status="OPEN"), "r-1")
    altcraft.delay("redeeme_points", 0)
    [rejected] = answer["rejectedRedemptions"]
    assert "can't be redeemed right now" in rejected["message"] and states(rt) == []
    profile = profile_of(altcraft)["id"]
    wait_for(lambda: altcraft.active(profile) == 200, what="the late temporary redemption at Altcraft")
    work()
    assert altcraft.active(profile) == 500
    assert [(p.kind, p.status) for p in postings(rt)][-1] == ("void", "sent")
