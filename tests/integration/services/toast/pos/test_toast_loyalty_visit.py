"""The Toast Loyalty Integration as the POS calls it, on a real database, Redis and RQ worker."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from models import Member, Redemption
from toast_factories import toast_check
from toast_pos_support import (
    COLD_BREW,
    DRINKS_10,
    KEY,
    RESTAURANT,
    TWO_OFF,
    bagel,
    balance,
    call,
    check_info,
    cold_brew,
    give_points,
    signup,
)


def test_a_full_visit_signup_inquire_redeem_accrue_void_reverse(rt, demo_merchant, client, work):
    member = signup(client)
    assert member.startswith("mem_") and "4155550134" not in member
    give_points(rt, member, 1000)
    check = toast_check(selections=[cold_brew(), cold_brew(), bagel()], payment_status="OPEN")

    offers = call(client, "LOYALTY_INQUIRE", check_info(member, check)).get_json()["checkResponse"]
    by_id = {o["identifier"]: o for o in offers["offers"]}
    assert by_id[COLD_BREW]["applicable"] and by_id[COLD_BREW]["amount"] == 5.0
    assert by_id[COLD_BREW]["selectionType"] == "ITEM" and len(by_id[COLD_BREW]["itemApplication"]) == 1
    assert by_id[DRINKS_10]["amount"] == 1.0 and by_id[TWO_OFF]["selectionType"] == "CHECK"
    assert offers["accountInfo"] == {"identifier": member, "pointsBalance": "1000", "phone": "+14155550134"}

    redeem_guid = str(uuid.uuid4())
    redeemed = call(
        client,
        "LOYALTY_REDEEM",
        check_info(member, check, [{"identifier": COLD_BREW, "amount": 5.0}]),
        guid=redeem_guid,
    ).get_json()
    assert redeemed["transactionStatus"] == "ACCEPT" and len(redeemed["checkResponse"]["appliedRedemptions"]) == 1
    assert balance(rt, member) == (500, 500)

    paid = {**check, "paymentStatus": "CLOSED"}
    accrue_guid = str(uuid.uuid4())
    assert call(client, "LOYALTY_ACCRUE", check_info(member, paid), guid=accrue_guid).get_json() == {
        "transactionStatus": "ACCEPT"
    }
    work()
    # 13.50 eligible at 10 points per unit, x1.1 since the 1,000 seeded points reached Silver;
    # the held redemption is now spent
    assert balance(rt, member) == (648, 0)

    assert (
        call(
            client,
            "LOYALTY_REVERSE",
            {"reverseTransactionInformation": {"loyaltyIdentifier": member, "transactionId": redeem_guid}},
        ).status_code
        == 200
    )
    assert balance(rt, member) == (1148, 0)
    assert (
        call(
            client,
            "LOYALTY_REVERSE",
            {"reverseTransactionInformation": {"loyaltyIdentifier": member, "transactionId": accrue_guid}},
        ).status_code
        == 200
    )
    assert balance(rt, member) == (1000, 0)
    with rt.db.reader() as s:
        assert s.execute(select(Redemption.state)).scalars().all() == ["voided"]


def test_a_repeated_transaction_guid_replays_the_answer_and_changes_nothing(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    body = check_info(member, check, [{"identifier": COLD_BREW}])
    first = call(client, "LOYALTY_REDEEM", body, guid="txn-1")
    again = call(client, "LOYALTY_REDEEM", body, guid="txn-1")
    assert first.get_json() == again.get_json()
    assert balance(rt, member) == (100, 500)


def test_a_redemption_the_balance_cannot_cover_is_rejected_and_the_transaction_still_accepted(
    rt, demo_merchant, client
):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew(), cold_brew(), bagel()], payment_status="OPEN")
    body = check_info(member, check, [{"identifier": COLD_BREW}, {"identifier": DRINKS_10}, {"identifier": TWO_OFF}])
    answer = call(client, "LOYALTY_REDEEM", body).get_json()
    assert answer["transactionStatus"] == "ACCEPT"
    rejected = {r["redemption"]["identifier"]: r["message"] for r in answer["checkResponse"]["rejectedRedemptions"]}
    # Free Cold Brew combines with nothing: the others are refused whatever the balance
    assert set(rejected) == {DRINKS_10, TWO_OFF} and "combined" in rejected[DRINKS_10]
    assert balance(rt, member) == (100, 500)


def test_a_second_redeem_repeating_an_already_charged_redemption_charges_nothing_more(rt, demo_merchant, client):
    member = signup(client)
    give_points(rt, member, 600)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    call(client, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW}]))
    answer = call(
        client, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW, "appliedDiscountGuid": "d1"}])
    )
    assert answer.get_json()["checkResponse"]["rejectedRedemptions"] == []
    assert balance(rt, member) == (100, 500)


def test_a_reverse_of_an_unknown_transaction_is_refused(rt, demo_merchant, client):
    member = signup(client)
    response = call(
        client,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member, "transactionId": "nope"}},
    )
    assert response.status_code == 400
    assert response.get_json() == {"transactionStatus": "ERROR_TRANSACTION_DOES_NOT_EXIST"}


def test_search_finds_members_by_phone_digits_and_email(rt, demo_merchant, client):
    member = signup(client)
    found = call(
        client, "LOYALTY_SEARCH", {"searchTransactionInformation": {"searchCriteria": {"phone": "4155550134"}}}
    )
    assert [a["identifier"] for a in found.get_json()["searchResponse"]["accounts"]] == [member]
    missing = call(client, "LOYALTY_SEARCH", {"searchTransactionInformation": {"searchCriteria": {"email": "x@y.z"}}})
    assert missing.status_code == 404 and missing.get_json() == {"transactionStatus": "ERROR_ACCOUNT_INVALID"}


def test_signup_is_get_or_create(rt, demo_merchant, client):
    assert signup(client) == signup(client, phone="415-555-0134")
    email = call(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"email": "Ada@Example.com"}})
    assert email.get_json()["signupResponse"]["loyaltyIdentifier"] != signup(client)


def test_signup_needs_exactly_one_of_phone_or_email(rt, demo_merchant, client):
    both = call(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550134", "email": "a@b.co"}})
    assert both.status_code == 400 and both.get_json()["transactionStatus"] == "ERROR_INVALID_INPUT_PROPERTIES"


def test_transfer_moves_the_balance_and_closes_the_source_whose_id_then_names_the_target(rt, demo_merchant, client):
    source, target = signup(client), signup(client, phone="4155550199")
    give_points(rt, source, 700)
    answer = call(
        client,
        "LOYALTY_TRANSFER",
        {"transferTransactionInformation": {"fromLoyaltyIdentifier": source, "toLoyaltyIdentifier": target}},
    )
    assert answer.get_json()["transferResponse"] == {"loyaltyIdentifier": target}
    assert balance(rt, target) == (700, 0) and balance(rt, source) == (0, 0)
    with rt.db.reader() as s:
        assert s.get(Member, source).status == "MERGED"
    again = call(client, "LOYALTY_INQUIRE", check_info(source, toast_check(payment_status="OPEN")))
    assert again.get_json()["checkResponse"]["accountInfo"]["identifier"] == target


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({"restaurant": "11111111-2222-3333-4444-555555555555"}, 400, "ERROR_INVALID_RESTAURANT"),
        ({"key": "wrong"}, 401, "ERROR_INVALID_TOKEN"),
    ],
)
def test_an_unknown_restaurant_or_a_wrong_key_is_refused(rt, demo_merchant, client, headers, status, code):
    response = call(
        client, "LOYALTY_SEARCH", {"searchTransactionInformation": {"searchCriteria": {"phone": "1"}}}, **headers
    )
    assert response.status_code == status and response.get_json() == {"transactionStatus": code}


def test_an_unknown_transaction_type_is_refused(rt, demo_merchant, client):
    response = call(client, "LOYALTY_TELEPORT", {})
    assert response.status_code == 400
    assert response.get_json() == {"transactionStatus": "ERROR_INVALID_TOAST_TRANSACTION_TYPE"}


def test_a_malformed_body_is_a_clear_400_and_changes_nothing(rt, demo_merchant, client):
    headers = {
        "Authorization": KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": "LOYALTY_SIGNUP",
        "Toast-Transaction-GUID": "g",
    }
    response = client.post("/webhooks/toast/loyalty", data=b'{"signupTransactionInformation": ', headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"}
    with rt.db.reader() as s:
        assert s.execute(select(Member)).first() is None


def test_an_accrue_without_an_account_is_accepted_and_does_nothing(rt, demo_merchant, client, work):
    response = call(client, "LOYALTY_ACCRUE", check_info(None, toast_check()))
    assert response.get_json() == {"transactionStatus": "ACCEPT"}
    work()
    with rt.db.reader() as s:
        assert s.execute(select(Member)).first() is None
