"""The Toast POS for a Hang merchant: Hang's balance and rewards at the register, redemptions through Hang."""

from __future__ import annotations

from hang_support import COLD_BREW, TWO_OFF, check_info, pos, postings

from models import Redemption
from services.toast.pos.checks import UNREACHABLE as UNREACHABLE_OFFERS
from toast_factories import toast_check, toast_selection


def cold_brew(price="5.00"):
    return toast_selection(price=price, name="Cold Brew", item_id="100000000437569098", group_id="100000000171239911")


def signed_up(client, work, hang, points: int = 0) -> str:
    answer = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550134"}}).get_json()
    member_id = answer["signupResponse"]["loyaltyIdentifier"]
    work()  # the enrollment posting goes to Hang
    [hang_member] = hang.members.values()
    hang.give_points(hang_member["id"], points)
    return member_id


def test_signup_enrolls_the_guest_in_hang_by_phone_and_answers_our_own_identifier(
    rt, hang, hang_merchant, client, work
):
    member_id = signed_up(client, work, hang)
    assert member_id.startswith("mem_")
    [hang_member] = hang.members.values()
    assert hang_member["phone"] == "+14155550134"
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]


def test_inquire_offers_the_hang_rewards_that_match_the_check_and_shows_hangs_balance(
    rt, hang, hang_merchant, client, work
):
    member_id = signed_up(client, work, hang, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check)).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "500"
    offers = {o["identifier"]: o for o in answer["offers"]}
    assert offers[COLD_BREW]["applicable"] and offers[COLD_BREW]["amount"] == 5.0
    assert offers[TWO_OFF]["applicable"] is False  # its item is not on the check


def test_inquire_reads_hang_once_while_its_answer_is_fresh(rt, hang, hang_merchant, client, work):
    member_id = signed_up(client, work, hang, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    for _ in range(3):
        pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    assert len(hang.calls_to("/level")) == 1 and len(hang.calls_to("/rewards")) == 1


def test_a_hang_too_slow_for_the_pos_gives_the_account_without_offers_never_an_error(
    rt, hang, hang_merchant, client, work
):
    member_id = signed_up(client, work, hang, points=500)
    hang.delay("/level", 3)  # past the POS's 1.5 s budget
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    response = pos(client, "LOYALTY_INQUIRE", check_info(member_id, check))
    hang.delay("/level", 0)
    assert response.status_code == 200
    answer = response.get_json()["checkResponse"]
    assert answer["offers"] == [] and answer["userMessage"] == UNREACHABLE_OFFERS
    assert "pointsBalance" not in answer["accountInfo"]


def test_redeem_creates_a_hang_redemption_paid_redeems_it_reverse_voids_it_and_redeem_again_works(
    rt, hang, hang_merchant, client, work
):
    member_id = signed_up(client, work, hang, points=500)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member_id)
    first = pos(client, "LOYALTY_REDEEM", check_info(member_id, check, [{"identifier": COLD_BREW}]), guid="r-1")
    assert len(first.get_json()["checkResponse"]["appliedRedemptions"]) == 1
    [started] = hang.redemptions.values()
    assert started["state"] == "initiated"
    reversed_ = pos(
        client,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": "r-1"}},
    )
    assert reversed_.status_code == 200
    work()
    assert started["state"] == "voided"
    again = pos(client, "LOYALTY_REDEEM", check_info(member_id, check, [{"identifier": COLD_BREW}]), guid="r-2")
    assert len(again.get_json()["checkResponse"]["appliedRedemptions"]) == 1
    paid = {**check, "paymentStatus": "CLOSED"}
    pos(client, "LOYALTY_ACCRUE", check_info(member_id, paid))
    work()
    second = next(r for r in hang.redemptions.values() if r["uuid"] != started["uuid"])
    assert second["state"] == "redeemed"
    member = next(iter(hang.members.values()))
    assert member["points"] == 500 - 300 + 50  # the cold brew spent, then 5.00 of the check earned
    with rt.db.reader() as s:
        states = sorted(r.state for r in s.query(Redemption))
    assert states == ["redeemed", "voided"]


def test_a_reward_hang_says_the_balance_cannot_cover_is_rejected_with_a_message(rt, hang, hang_merchant, client, work):
    member_id = signed_up(client, work, hang, points=100)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    answer = pos(client, "LOYALTY_REDEEM", check_info(member_id, check, [{"identifier": COLD_BREW}])).get_json()
    [rejected] = answer["checkResponse"]["rejectedRedemptions"]
    assert "Not enough points" in rejected["message"] and hang.redemptions == {}


def test_a_transfer_between_hang_members_is_refused_at_the_pos(rt, hang, hang_merchant, client, work):
    first = signed_up(client, work, hang)
    answer = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550199"}}).get_json()
    second = answer["signupResponse"]["loyaltyIdentifier"]
    response = pos(
        client,
        "LOYALTY_TRANSFER",
        {"transferTransactionInformation": {"fromLoyaltyIdentifier": first, "toLoyaltyIdentifier": second}},
    )
    assert (response.status_code, response.get_json()) == (400, {"transactionStatus": "ERROR_INVALID_TRANSFER"})
