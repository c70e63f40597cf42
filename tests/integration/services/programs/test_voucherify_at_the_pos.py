"""The Toast POS for a Voucherify merchant: the card's balance at the register, the merchant's own rewards, and
redemptions as immediate card debits."""

from __future__ import annotations

from datetime import timedelta

from hang_support import check_info, postings
from sqlalchemy import select
from voucherify_support import COLD_BREW, TWO_OFF, adjusted, deliver_toast, pos

from models import Redemption
from services.programs import upkeep
from services.toast.pos.checks import UNREACHABLE as UNREACHABLE_OFFERS
from toast_factories import toast_check, toast_order, toast_selection


def cold_brew(price="5.00"):
    return toast_selection(price=price, name="Cold Brew", item_id="100000000437569098", group_id="100000000171239911")


def signed_up(client, work, voucherify, points: int = 0, phone: str = "4155550134") -> str:
    answer = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}}).get_json()
    member_id = answer["signupResponse"]["loyaltyIdentifier"]
    work()  # the enrollment posting goes to Voucherify
    if points:
        voucherify.give_points(voucherify.member_of(member_id), points)
    return member_id


def redeem(client, member_id: str, check: dict, reward: str = COLD_BREW, guid: str | None = None) -> dict:
    body = check_info(member_id, check, [{"identifier": reward}])
    return pos(client, "LOYALTY_REDEEM", body, guid=guid).get_json()["checkResponse"]


def test_signup_enrolls_the_guest_in_voucherify_with_our_identifier_as_the_customer_s_source_id(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify)
    member = voucherify.member_of(member_id)
    assert voucherify.customers[member["customer_id"]]["phone"] == "+14155550134"
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]
    assert adjusted(voucherify, member) == []


def test_inquire_offers_the_merchant_s_rewards_that_match_the_check_and_shows_the_card_s_balance(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check)).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "500"
    offers = {o["identifier"]: o for o in answer["offers"]}
    assert offers[COLD_BREW]["applicable"] and offers[COLD_BREW]["amount"] == 5.0
    assert offers[TWO_OFF]["applicable"] is False  # its item is not on the check


def test_inquire_reads_the_card_once_while_its_answer_is_fresh(rt, voucherify, voucherify_merchant, client, work):
    member_id = signed_up(client, work, voucherify, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    for _ in range(3):
        pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    assert len(voucherify.calls_to("/memberships/", "GET")) == 2  # one at enrollment, one for the three INQUIREs


def test_a_voucherify_too_slow_for_the_pos_gives_the_account_without_offers_never_an_error(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=500)
    voucherify.delay("/memberships/", 3)  # past the POS's 1.5 s budget
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    response = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    voucherify.delay("/memberships/", 0)
    assert response.status_code == 200
    answer = response.get_json()["checkResponse"]
    assert answer["offers"] == [] and answer["userMessage"] == UNREACHABLE_OFFERS
    assert "pointsBalance" not in answer["accountInfo"]


def test_redeem_debits_the_price_at_once_paid_spends_nothing_more_reverse_gives_it_back_and_redeem_again_works(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=500)
    member = voucherify.member_of(member_id)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    assert len(redeem(client, member_id, check, guid="r-1")["appliedRedemptions"]) == 1
    work()
    assert member["card"]["points"] == 200
    reversed_ = pos(
        client,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": "r-1"}},
    )
    assert reversed_.status_code == 200
    work()
    assert member["card"]["points"] == 500
    assert len(redeem(client, member_id, check, guid="r-2")["appliedRedemptions"]) == 1
    pos(client, "LOYALTY_ACCRUE", check_info(member_id, {**check, "paymentStatus": "CLOSED"}))
    work()
    assert [points for points, _ in adjusted(voucherify, member)] == [-300, 300, -300, 50]  # and 5.00 earned 50
    assert member["card"]["points"] == 500 - 300 + 50
    reasons = [reason for _, reason in adjusted(voucherify, member)]
    assert reasons[0].endswith(":debit") and reasons[1].endswith(":refund")
    with rt.db.reader() as s:
        assert sorted(r.state for r in s.query(Redemption)) == ["redeemed", "voided"]


def test_a_second_redeem_before_the_first_debit_is_sent_cannot_spend_the_same_points(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=400)
    first = toast_check(selections=[cold_brew()], payment_status="OPEN")
    second = toast_check(selections=[cold_brew()], payment_status="OPEN")
    assert len(redeem(client, member_id, first)["appliedRedemptions"]) == 1  # its debit not sent yet
    [rejected] = redeem(client, member_id, second)["rejectedRedemptions"]
    assert "Not enough points" in rejected["message"]
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, second)).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "100"
    work()
    assert voucherify.member_of(member_id)["card"]["points"] == 100


def test_a_reward_the_card_cannot_cover_is_rejected_with_a_message_and_nothing_is_debited(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=100)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    [rejected] = redeem(client, member_id, check)["rejectedRedemptions"]
    assert "Not enough points" in rejected["message"]
    work()
    assert adjusted(voucherify, voucherify.member_of(member_id)) == []


def test_a_redeem_while_voucherify_does_not_answer_is_rejected_with_a_message_never_an_error(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=500)
    voucherify.fail("/memberships/", 503, times=5)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    [rejected] = redeem(client, member_id, check)["rejectedRedemptions"]
    assert rejected["message"].startswith("Rewards can't be redeemed right now")


def test_a_voided_check_gives_its_redemption_s_points_back(rt, voucherify, voucherify_merchant, client, work):
    member_id = signed_up(client, work, voucherify, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    redeem(client, member_id, check)
    work()
    deliver_toast(client, toast_order(checks=[{**check, "voided": True}]))
    work()
    member = voucherify.member_of(member_id)
    assert [points for points, _ in adjusted(voucherify, member)] == [-300, 300]
    assert member["card"]["points"] == 500


def test_a_redemption_left_open_past_its_time_gives_its_points_back(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    member_id = signed_up(client, work, voucherify, points=500)
    redeem(client, member_id, toast_check(selections=[cold_brew()], payment_status="OPEN"))
    work()
    clock.now += timedelta(days=2)  # past program.toast_hold_ttl_seconds (a day by default)
    assert upkeep.expire_provider_redemptions(rt) == 1
    work()
    assert voucherify.member_of(member_id)["card"]["points"] == 500


def test_a_debit_voucherify_refused_is_not_given_back_when_the_redemption_is_reversed(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = signed_up(client, work, voucherify, points=500)
    voucherify.fail("/points", 423, key="non_active_member")
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    redeem(client, member_id, check, guid="r-1")
    work()
    body = {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": "r-1"}}
    assert pos(client, "LOYALTY_REVERSE", body).status_code == 200
    work()
    debit, refund = postings(rt)[1:]
    assert (debit.status, refund.status, refund.details["skipped"]) == (
        "failed",
        "sent",
        "the redemption's debit was never taken",
    )
    assert adjusted(voucherify, voucherify.member_of(member_id)) == []
    with rt.db.reader() as s:
        assert s.execute(select(Redemption.state)).scalar_one() == "voided"


def test_a_transfer_between_voucherify_members_is_refused_at_the_pos(rt, voucherify, voucherify_merchant, client, work):
    first = signed_up(client, work, voucherify, points=100)
    second = signed_up(client, work, voucherify, phone="4155550199")
    body = {"transferTransactionInformation": {"fromLoyaltyIdentifier": first, "toLoyaltyIdentifier": second}}
    response = pos(client, "LOYALTY_TRANSFER", body)
    assert (response.status_code, response.get_json()) == (400, {"transactionStatus": "ERROR_INVALID_TRANSFER"})
    assert (
        voucherify.member_of(first)["card"]["points"] == 100 and adjusted(voucherify, voucherify.member_of(first)) == []
    )
