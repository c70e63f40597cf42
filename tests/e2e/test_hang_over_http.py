"""A Hang merchant through the running system: gunicorn, the Procfile's worker, Redis, and a fake Hang over HTTP."""

from __future__ import annotations

import itertools
import uuid

import requests
from hang_support import COLD_BREW, POS_KEY, RESTAURANT, SHOP, SHOPIFY_SECRET

from factories import encode, shopify_headers, shopify_order
from support import wait_for
from toast_contract import validate_response
from toast_factories import toast_body, toast_check, toast_selection

_numbers = itertools.count(1)


def signed_order(stack, order: dict, topic: str = "orders/paid", webhook_id: str | None = None):
    body = encode(order)
    headers = shopify_headers(body, topic, webhook_id or str(uuid.uuid4()), secret=SHOPIFY_SECRET, shop=SHOP)
    return requests.post(f"{stack.base_url}/webhooks/shopify", data=body, headers=headers, timeout=10)


def pos(stack, kind: str, body: dict, guid: str | None = None) -> dict:
    headers = {
        "Authorization": POS_KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
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


def test_a_shopify_order_of_a_hang_merchant_becomes_one_hang_activity_whatever_the_repeats(stack, fake_hang):
    n = next(_numbers)
    order_id = 7_700_000_000_000 + n + (0 if "sqlite" in stack.env["DATABASE_URL"] else 500)
    customer = {
        "id": order_id,
        "email": f"hang{order_id}@example.com",
        "phone": f"+1646555{order_id % 10000:04d}",
        "first_name": "Grace",
        "last_name": "Hopper",
    }
    order = shopify_order(order_id, subtotal="18.00", customer=customer, email=customer["email"])
    assert signed_order(stack, order, webhook_id=f"h-{order_id}").status_code == 200
    assert signed_order(stack, order, webhook_id=f"h-{order_id}").json()["status"] == "duplicate"
    assert signed_order(stack, order, topic="orders/updated").status_code == 200
    key = f"shopify:order:{order_id}:r1"
    wait_for(lambda: key in fake_hang.activities, what="the activity at Hang")
    [member] = [m for m in fake_hang.members.values() if m["phone"] == customer["phone"]]
    assert member["points"] == 180
    assert [k for k in fake_hang.activities if k.startswith(f"shopify:order:{order_id}:")] == [key]


def test_a_visit_at_a_hang_register_redeems_through_hang(stack, fake_hang):
    n = next(_numbers) + (0 if "sqlite" in stack.env["DATABASE_URL"] else 500)
    phone = f"917555{n:04d}"
    member_id = pos(stack, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}})["signupResponse"][
        "loyaltyIdentifier"
    ]
    hang_member = wait_for(
        lambda: next((m for m in fake_hang.members.values() if m["phone"] == f"+1{phone}"), None),
        what="the guest enrolled at Hang",
    )
    fake_hang.give_points(hang_member["id"], 400)
    cold_brew = toast_selection(price="5.00", item_id="100000000437569098", group_id="100000000171239911")
    check = toast_check(selections=[cold_brew], payment_status="OPEN", loyalty_identifier=member_id)
    info = {
        "loyaltyIdentifier": member_id,
        "orderGuid": str(uuid.uuid4()),
        "check": check,
        "redemptions": [{"identifier": COLD_BREW}],
    }
    offers = pos(stack, "LOYALTY_INQUIRE", {"checkTransactionInformation": {**info, "redemptions": []}})
    assert any(o["identifier"] == COLD_BREW and o["applicable"] for o in offers["checkResponse"]["offers"])
    redeemed = pos(stack, "LOYALTY_REDEEM", {"checkTransactionInformation": info})
    assert len(redeemed["checkResponse"]["appliedRedemptions"]) == 1
    paid = {**check, "paymentStatus": "CLOSED"}
    pos(stack, "LOYALTY_ACCRUE", {"checkTransactionInformation": {**info, "check": paid, "redemptions": []}})
    mine = lambda: [r for r in fake_hang.redemptions.values() if r["member"] == hang_member["id"]]  # noqa: E731
    wait_for(lambda: mine() and mine()[0]["state"] == "redeemed", what="the redemption redeemed at Hang")
    wait_for(lambda: hang_member["points"] == 400 - 300 + 50, what="the check's points at Hang")
