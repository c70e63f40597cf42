"""An Altcraft merchant through the running system: gunicorn, the Procfile's worker, Redis, and a fake Altcraft over
HTTP."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import requests
from altcraft_support import COLD_BREW, POS_KEY, RESTAURANT, SHOP, SHOPIFY_SECRET

from factories import encode, shopify_headers, shopify_order, shopify_refund
from support import wait_for
from toast_contract import validate_response
from toast_factories import toast_body, toast_check, toast_selection

_numbers = itertools.count(1)


def signed(stack, payload: dict, topic: str = "orders/paid", webhook_id: str | None = None):
    body = encode(payload)
    headers = shopify_headers(body, topic, webhook_id or str(uuid.uuid4()), secret=SHOPIFY_SECRET, shop=SHOP)
    return requests.post(f"{stack.base_url}/webhooks/shopify", data=body, headers=headers, timeout=10)


def pos(stack, kind: str, body: dict) -> dict:
    headers = {
        "Authorization": POS_KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    response = requests.post(
        f"{stack.base_url}/webhooks/toast/loyalty",
        timeout=10,
        headers=headers,
        data=toast_body({"toastTransactionType": kind, **body}),
    )
    assert response.status_code == 200, response.text
    validate_response(response.json())
    return response.json()


def unique(stack) -> int:
    return next(_numbers) + (0 if "sqlite" in stack.env["DATABASE_URL"] else 500)


def test_a_shopify_order_of_an_altcraft_merchant_accrues_once_whatever_the_repeats_and_its_refund_comes_back(
    stack, fake_altcraft
):
    order_id = 8_800_000_000_000 + unique(stack)
    phone = f"+1646777{order_id % 10000:04d}"
    customer = {"id": order_id, "email": f"a{order_id}@example.com", "phone": phone, "first_name": "Ada"}
    order = shopify_order(order_id, subtotal="18.00", customer=customer, email=customer["email"])
    assert signed(stack, order, webhook_id=f"a-{order_id}").status_code == 200
    assert signed(stack, order, webhook_id=f"a-{order_id}").json()["status"] == "duplicate"
    assert signed(stack, order, topic="orders/updated").status_code == 200
    key = f"shopify:order:{order_id}:r1"
    wait_for(lambda: fake_altcraft.by_eid(key), what="the accrual at Altcraft")
    [profile] = [p for p in fake_altcraft.profiles.values() if p["phone"] == phone]
    assert fake_altcraft.active(profile["id"]) == 180
    assert signed(stack, shopify_refund(order_id + 1, order_id, "6.00"), topic="refunds/create").status_code == 200
    wait_for(lambda: fake_altcraft.active(profile["id"]) == 120, what="the refund's points redeemed back")
    accruals = [t for t in fake_altcraft.transactions if t["profile"] == profile["id"] and t["type"] == "accrual"]
    assert [t["amount"] for t in accruals] == [Decimal(180)]


def test_a_visit_at_an_altcraft_register_redeems_through_a_temporary_redemption_committed_when_paid(
    stack, fake_altcraft
):
    phone = f"917777{unique(stack):04d}"
    member_id = pos(stack, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}})["signupResponse"][
        "loyaltyIdentifier"
    ]
    profile = wait_for(
        lambda: next((p for p in fake_altcraft.profiles.values() if p["phone"] == f"+1{phone}"), None),
        what="the guest registered at Altcraft",
    )
    fake_altcraft.give_points(profile["id"], 400)
    cold_brew = toast_selection(price="5.00", item_id="100000000437569098", group_id="100000000171239911")
    check = toast_check(selections=[cold_brew], payment_status="OPEN", loyalty_identifier=member_id)
    info = {"loyaltyIdentifier": member_id, "orderGuid": str(uuid.uuid4()), "check": check}
    offers = pos(stack, "LOYALTY_INQUIRE", {"checkTransactionInformation": {**info, "redemptions": []}})
    assert offers["checkResponse"]["accountInfo"]["pointsBalance"] == "400"
    assert any(o["identifier"] == COLD_BREW and o["applicable"] for o in offers["checkResponse"]["offers"])
    redeemed = pos(stack, "LOYALTY_REDEEM", {"checkTransactionInformation": {**info, "redemptions": [
        {"identifier": COLD_BREW}]}})  # fmt: skip
    assert len(redeemed["checkResponse"]["appliedRedemptions"]) == 1
    [held] = [t for t in fake_altcraft.transactions if t["profile"] == profile["id"] and t["type"] == "redemption"]
    assert held["status"] == "temp"
    paid = {**check, "paymentStatus": "CLOSED"}
    pos(stack, "LOYALTY_ACCRUE", {"checkTransactionInformation": {**info, "check": paid, "redemptions": []}})
    wait_for(lambda: held["status"] == "active", what="the redemption committed at Altcraft")
    wait_for(lambda: fake_altcraft.active(profile["id"]) == 400 - 300 + 50, what="the check's points at Altcraft")
