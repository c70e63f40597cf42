"""LOYALTY_REDEEM: what one request may accept, the amounts it answers, and redeeming again after a reverse."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Redemption
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV
from toast_factories import toast_check
from toast_pos_support import (
    COLD_BREW,
    DRINKS_10,
    TWO_OFF,
    bagel,
    balance,
    call,
    check_info,
    cold_brew,
    give_points,
    signup,
)

ONE_OFF = "5f1e0c3a-8b2d-4e7f-a9c6-3d4b5e6f7a81"  # 1.00 off the check, free, priority 4
ONE_OFF_REWARD = f"""
      - uuid: {ONE_OFF}
        name: "1.00 off the check"
        priority: 4
        reward_type: discount_value_based
        reward_value: 1.00
        points_price: 0
"""


def configure_rewards(rt, text: str) -> None:
    sync(rt, parse_config(text, TEST_ENV))


def answer_of(response) -> dict:
    assert response.status_code == 200
    body = response.get_json()
    assert body["transactionStatus"] == "ACCEPT"
    return body["checkResponse"]


def reverse(client, member, transaction_id):
    return call(
        client,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member, "transactionId": transaction_id}},
    )


def test_two_copies_of_a_once_a_week_reward_in_one_redeem_accept_one_and_reject_the_other(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 1000)
    check = toast_check(selections=[cold_brew(), bagel()], payment_status="OPEN")
    twice = [{"identifier": TWO_OFF, "appliedDiscountGuid": "d1"}, {"identifier": TWO_OFF, "appliedDiscountGuid": "d2"}]
    answer = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, twice)))
    assert [r["appliedDiscountGuid"] for r in answer["appliedRedemptions"]] == ["d1"]
    [rejected] = answer["rejectedRedemptions"]
    assert rejected["redemption"]["appliedDiscountGuid"] == "d2" and "too recently" in rejected["message"]
    assert balance(rt, member) == (800, 200)


def test_a_reward_limited_to_one_redemption_accepts_one_copy_per_request(rt, demo_merchant, client):
    configure_rewards(
        rt,
        EXAMPLE_CONFIG.read_text().replace(
            "        interval: 7                    # at most once a week per member", "        limit: 1"
        ),
    )
    member = signup(client)
    give_points(rt, member, 1000)
    check = toast_check(selections=[cold_brew(), bagel()], payment_status="OPEN")
    thrice = [{"identifier": TWO_OFF, "appliedDiscountGuid": f"d{n}"} for n in range(3)]
    answer = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, thrice)))
    assert len(answer["appliedRedemptions"]) == 1 and len(answer["rejectedRedemptions"]) == 2
    assert all("as often as allowed" in r["message"] for r in answer["rejectedRedemptions"])
    assert balance(rt, member) == (800, 200)


def test_the_balance_is_rechecked_as_each_redemption_is_accepted_and_a_refused_one_takes_nothing_off_the_check(
    rt, demo_merchant, client
):
    configure_rewards(rt, EXAMPLE_CONFIG.read_text() + ONE_OFF_REWARD)
    member = signup(client)
    give_points(rt, member, 400)
    check = toast_check(selections=[cold_brew(price="1.00"), cold_brew(price="1.00")], payment_status="OPEN")
    asked = [{"identifier": ONE_OFF}, {"identifier": TWO_OFF}, {"identifier": DRINKS_10}]
    answer = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, asked)))
    applied = {r["identifier"]: r["amount"] for r in answer["appliedRedemptions"]}
    # Drinks (priority 2) takes 300 of the 400 points; 2.00 off (priority 3) cannot be paid for,
    # so it leaves the check's 1.80 to the free 1.00 off (priority 4).
    assert applied == {DRINKS_10: 0.2, ONE_OFF: 1.0}
    [rejected] = answer["rejectedRedemptions"]
    assert rejected["redemption"]["identifier"] == TWO_OFF and "Not enough points" in rejected["message"]
    assert balance(rt, member) == (100, 300)


def test_a_redeem_answers_the_amount_computed_for_the_check_never_the_amount_the_pos_proposed(
    rt, demo_merchant, client
):
    member = signup(client)
    give_points(rt, member, 1000)
    brew, food = cold_brew(), bagel()
    check = toast_check(selections=[brew, food], payment_status="OPEN")
    asked = [
        {
            "identifier": COLD_BREW,
            "amount": 50.0,
            "selectionGuid": brew["guid"],
            "itemApplication": [{"selectionIdentifier": brew["guid"], "amount": 50.0}],
        }
    ]
    [applied] = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, asked)))["appliedRedemptions"]
    assert applied["amount"] == 5.0 and applied["selectionGuid"] == brew["guid"]
    assert applied["itemApplication"] == [{"selectionIdentifier": brew["guid"], "amount": 5.0}]
    with rt.db.reader() as s:
        assert s.execute(select(Redemption.amount)).scalar_one() == Decimal("5.00")


def test_a_check_level_reward_answers_its_amount_without_an_item_split(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 1000)
    check = toast_check(selections=[cold_brew(), bagel()], payment_status="OPEN")
    asked = [{"identifier": TWO_OFF, "amount": 13.5}]
    [applied] = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, asked)))["appliedRedemptions"]
    assert applied["amount"] == 2.0 and "itemApplication" not in applied


def test_a_redemption_already_charged_on_the_check_answers_its_stored_amount(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 600)
    brew = cold_brew()
    check = toast_check(selections=[brew], payment_status="OPEN")
    answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW}])))
    # Toast repeats the validated redemption with the discount now on the check: the line's net price is 0.
    discounted = toast_check(check["guid"], selections=[cold_brew(brew["guid"], price="0.00")], payment_status="OPEN")
    asked = [{"identifier": COLD_BREW, "amount": 99.0, "appliedDiscountGuid": "disc-1"}]
    answer = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, discounted, asked)))
    [applied] = answer["appliedRedemptions"]
    assert applied["amount"] == 5.0 and applied["appliedDiscountGuid"] == "disc-1"
    assert applied["itemApplication"] == [{"selectionIdentifier": brew["guid"], "amount": 5.0}]
    assert answer["rejectedRedemptions"] == [] and balance(rt, member) == (100, 500)


@pytest.mark.parametrize(
    "redemption", [{"identifier": COLD_BREW}, {"identifier": COLD_BREW, "appliedDiscountGuid": "disc-1"}]
)
def test_a_reward_redeemed_reversed_and_redeemed_again_on_the_same_check_works_every_time(
    rt, demo_merchant, client, redemption
):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    for _ in range(3):
        guid = str(uuid.uuid4())
        answer = answer_of(call(client, "LOYALTY_REDEEM", check_info(member, check, [redemption]), guid=guid))
        assert len(answer["appliedRedemptions"]) == 1 and balance(rt, member) == (100, 500)
        assert reverse(client, member, guid).status_code == 200
        assert balance(rt, member) == (600, 0)
    replay = call(client, "LOYALTY_REDEEM", check_info(member, check, [redemption]), guid=guid)
    assert answer_of(replay) == answer and balance(rt, member) == (600, 0)
    with rt.db.reader() as s:
        assert s.execute(select(Redemption.state)).scalars().all() == ["voided"] * 3


@pytest.mark.parametrize("kind", ["LOYALTY_INQUIRE", "LOYALTY_REDEEM"])
def test_a_check_whose_selections_share_a_guid_is_a_clear_400_and_charges_nothing(rt, demo_merchant, client, kind):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew("same-guid"), cold_brew("same-guid")], payment_status="OPEN")
    answer = call(client, kind, check_info(member, check, [{"identifier": COLD_BREW}]))
    assert answer.status_code == 400 and answer.get_json() == {"transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"}
    assert balance(rt, member) == (600, 0)


def test_a_transaction_guid_longer_than_any_key_keeps_is_refused_and_charges_nothing(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    long_guid = "g" * 64
    for guid in (long_guid + "-first", long_guid + "-second"):  # the same first 64 characters
        answer = call(client, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW}]), guid=guid)
        assert answer.status_code == 400 and answer.get_json() == {
            "transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"
        }
    assert balance(rt, member) == (600, 0)


def test_the_same_redeem_arriving_several_times_at_once_charges_once_and_answers_alike(rt, demo_merchant, client):
    from concurrent.futures import ThreadPoolExecutor

    member = signup(client)
    give_points(rt, member, 1000)
    body = check_info(member, toast_check(selections=[cold_brew()], payment_status="OPEN"), [{"identifier": COLD_BREW}])
    guid = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: call(client.application.test_client(), "LOYALTY_REDEEM", body, guid=guid), range(4))
        )
    assert {a.status_code for a in answers} == {200}
    assert all(a.get_json() == answers[0].get_json() for a in answers)
    assert balance(rt, member) == (500, 500)
    with rt.db.reader() as s:
        assert len(s.execute(select(Redemption)).scalars().all()) == 1
