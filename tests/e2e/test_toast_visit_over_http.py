"""A guest's visit as Toast's POS and Toast's webhooks drive it, against the running app."""

from __future__ import annotations

import random
import uuid

import requests

from support import TEST_ENV, wait_for
from toast_factories import toast_body, toast_check, toast_envelope, toast_headers, toast_order, toast_selection

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"
PARTNER = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}


def pos(stack, kind, body, guid=None):
    headers = {
        "Authorization": TEST_ENV["DEMO_CAFE_TOAST_LOYALTY_KEY"],
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    return requests.post(f"{stack.base_url}/webhooks/toast/loyalty", data=toast_body(body), headers=headers, timeout=10)


def webhook(stack, order):
    body = toast_body(toast_envelope(order, RESTAURANT))
    headers = toast_headers(body, secret=TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"], restaurant_guid=RESTAURANT)
    return requests.post(f"{stack.base_url}/webhooks/toast", data=body, headers=headers, timeout=10)


def spendable(stack, member):
    level = requests.get(
        f"{stack.base_url}/partner-api/v2/program-memberships/{member}/level", headers=PARTNER, timeout=5
    ).json()
    return level["spendable_balance"]


def check_info(member, check, redemptions=()):
    return {
        "checkTransactionInformation": {"loyaltyIdentifier": member, "check": check, "redemptions": list(redemptions)}
    }


def test_signup_earn_inquire_redeem_accrue_and_reverse_over_http(stack):
    phone = f"415555{random.randrange(1000, 9999)}"
    member = pos(stack, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}}).json()["signupResponse"][
        "loyaltyIdentifier"
    ]
    earlier = toast_check(selections=[toast_selection(price="60.00")], loyalty_identifier=member)
    assert webhook(stack, toast_order(checks=[earlier])).status_code == 200
    wait_for(lambda: spendable(stack, member) == 600)

    cold_brew = toast_selection(price="5.00", item_id="100000000437569098", group_id="100000000171239911")
    check = toast_check(selections=[cold_brew], payment_status="OPEN", loyalty_identifier=member)
    offers = pos(stack, "LOYALTY_INQUIRE", check_info(member, check)).json()["checkResponse"]["offers"]
    assert next(o for o in offers if o["identifier"] == COLD_BREW)["amount"] == 5.0

    redeem = str(uuid.uuid4())
    answer = pos(stack, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW}]), guid=redeem).json()
    assert answer["checkResponse"]["rejectedRedemptions"] == []
    assert spendable(stack, member) == 100

    accrue = pos(stack, "LOYALTY_ACCRUE", check_info(member, {**check, "paymentStatus": "CLOSED"}))
    assert accrue.json() == {"transactionStatus": "ACCEPT"}
    wait_for(lambda: spendable(stack, member) == 150)

    reverse = pos(
        stack,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member, "transactionId": redeem}},
    )
    assert reverse.json() == {"transactionStatus": "ACCEPT"}
    assert spendable(stack, member) == 650
