"""A Voucherify merchant through the running system: gunicorn, the Procfile's worker, Redis and a fake Voucherify."""

from __future__ import annotations

import itertools
import uuid

import requests
from voucherify_support import API, COLD_BREW, POS_KEY, RESTAURANT, SHOP, SHOPIFY_SECRET

from factories import encode, shopify_headers, shopify_order, shopify_refund
from support import wait_for
from toast_contract import validate_response
from toast_factories import toast_body, toast_check, toast_selection

_numbers = itertools.count(1)


def signed(stack, payload: dict, topic: str = "orders/paid", webhook_id: str | None = None):
    body = encode(payload)
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
    data = toast_body({"toastTransactionType": kind, **body})
    response = requests.post(f"{stack.base_url}/webhooks/toast/loyalty", timeout=10, headers=headers, data=data)
    assert response.status_code == 200, response.text
    validate_response(response.json())
    return response.json()


def offset(stack) -> int:
    return 0 if "sqlite" in stack.env["DATABASE_URL"] else 500  # the fake is shared by both backends' stacks


def points_of(fake, member: dict, prefix: str) -> list[int]:
    return [
        t["details"]["points"]["total"] for t in fake.adjustments(member) if t["details"]["reason"].startswith(prefix)
    ]


def test_a_shopify_order_of_a_voucherify_merchant_is_credited_once_and_its_refund_taken_back(stack, fake_voucherify):
    order_id = 8_800_000_000_000 + next(_numbers) + offset(stack)
    customer = {"id": order_id, "email": f"vf{order_id}@example.com", "first_name": "Grace", "last_name": "Hopper"}
    customer["phone"] = f"+1646556{order_id % 10000:04d}"
    order = shopify_order(order_id, subtotal="18.00", customer=customer, email=customer["email"])
    assert signed(stack, order, webhook_id=f"v-{order_id}").status_code == 200
    assert signed(stack, order, webhook_id=f"v-{order_id}").json()["status"] == "duplicate"
    assert signed(stack, order, topic="orders/updated").status_code == 200
    customer_of = lambda: next(  # noqa: E731
        (c for c in fake_voucherify.customers.values() if c.get("email") == customer["email"]), None
    )
    found = wait_for(customer_of, what="the customer upserted at Voucherify")
    member = wait_for(
        lambda: next((m for m in fake_voucherify.members.values() if m["customer_id"] == found["id"]), None),
        what="the member created at Voucherify",
    )
    wait_for(lambda: points_of(fake_voucherify, member, "shopify:"), what="the order's credit")
    refund_id = order_id % 1_000_000
    assert signed(stack, shopify_refund(refund_id, order_id, "6.00"), topic="refunds/create").status_code == 200
    wait_for(lambda: len(points_of(fake_voucherify, member, "shopify:")) == 2, what="the refund's debit")
    assert points_of(fake_voucherify, member, "shopify:") == [180, -60]
    assert member["card"]["points"] == 120
    level = requests.get(
        f"{stack.base_url}/partner-api/v2/program-memberships/{found['source_id']}/level",
        headers={"X-API-Key": API},
        timeout=10,
    ).json()
    assert level["spendable_balance"] == 120


def test_a_visit_at_a_voucherify_register_debits_the_card_and_a_reverse_gives_it_back(stack, fake_voucherify):
    phone = f"917556{next(_numbers) + offset(stack):04d}"
    signup = pos(stack, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}})
    member_id = signup["signupResponse"]["loyaltyIdentifier"]
    member = wait_for(lambda: fake_voucherify.member_of(member_id), what="the guest enrolled at Voucherify")
    fake_voucherify.give_points(member, 400)
    cold_brew = toast_selection(price="5.00", item_id="100000000437569098", group_id="100000000171239911")
    check = toast_check(selections=[cold_brew], payment_status="OPEN", loyalty_identifier=member_id)
    info = {"loyaltyIdentifier": member_id, "orderGuid": str(uuid.uuid4()), "check": check}
    inquired = pos(stack, "LOYALTY_INQUIRE", {"checkTransactionInformation": {**info, "redemptions": []}})
    assert inquired["checkResponse"]["accountInfo"]["pointsBalance"] == "400"
    assert any(o["identifier"] == COLD_BREW and o["applicable"] for o in inquired["checkResponse"]["offers"])
    redeem = {"checkTransactionInformation": {**info, "redemptions": [{"identifier": COLD_BREW}]}}
    assert len(pos(stack, "LOYALTY_REDEEM", redeem, guid=f"r-{phone}")["checkResponse"]["appliedRedemptions"]) == 1
    wait_for(lambda: member["card"]["points"] == 100, what="the reward's price debited at Voucherify")
    reverse = {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": f"r-{phone}"}}
    pos(stack, "LOYALTY_REVERSE", reverse)
    wait_for(lambda: member["card"]["points"] == 400, what="the price given back at Voucherify")
    assert [
        (t["details"]["points"]["total"], t["details"]["reason"].rsplit(":", 1)[1])
        for t in fake_voucherify.adjustments(member)
    ] == [(-300, "debit"), (300, "refund")]
