"""An Inveterate merchant through the running system: gunicorn, the Procfile's worker, Redis, and a fake Inveterate
over HTTP."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import requests
from inveterate_support import API, POS_KEY, RESTAURANT, SHOP, SHOPIFY_SECRET

from factories import encode, shopify_headers, shopify_order, shopify_refund
from services.programs.inveterate import REFUSAL
from support import wait_for
from toast_contract import validate_response
from toast_factories import toast_body, toast_check, toast_selection

_numbers = itertools.count(1)


def signed(stack, topic: str, payload: dict, webhook_id: str | None = None) -> requests.Response:
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
    data = toast_body({"toastTransactionType": kind, **body})
    response = requests.post(f"{stack.base_url}/webhooks/toast/loyalty", timeout=10, headers=headers, data=data)
    assert response.status_code == 200, response.text
    validate_response(response.json())
    return response.json()


def a_customer(stack) -> tuple[int, dict]:
    """A Shopify customer unique to this test and backend (the fake Inveterate is shared by both stacks)."""
    n = next(_numbers) + (0 if "sqlite" in stack.env["DATABASE_URL"] else 500)
    customer_id = 8_800_000_000_000 + n
    phone = f"+1628555{n:04d}"
    return customer_id, {"id": customer_id, "email": f"inv{n}@example.com", "phone": phone, "first_name": "Ada"}


def settled(fake, customer_id: int, amount: str) -> bool:
    """Whether every credit the member was sent adds up to ``amount`` at Inveterate (applied or not yet)."""
    return fake.credit_of(customer_id) == Decimal(amount)


def test_a_members_shopify_order_becomes_one_credit_whatever_the_repeats_and_its_refund_one_debit(
    stack, fake_inveterate
):
    customer_id, customer = a_customer(stack)
    fake_inveterate.add_member(customer_id, credit="1.00")
    order_id = customer_id
    order = shopify_order(order_id, subtotal="30.00", customer=customer, email=customer["email"])
    assert signed(stack, "orders/paid", order, webhook_id=f"i-{order_id}").status_code == 200
    assert signed(stack, "orders/paid", order, webhook_id=f"i-{order_id}").json()["status"] == "duplicate"
    assert signed(stack, "orders/updated", order).status_code == 200
    wait_for(lambda: settled(fake_inveterate, customer_id, "2.50"), what="the order's 1.50 of credit at Inveterate")
    assert fake_inveterate.notes(customer_id) == [f"shopify:order:{order_id}:r1"]

    refund = shopify_refund(order_id + 1, order_id, "10.00")
    assert signed(stack, "refunds/create", refund).status_code == 200
    wait_for(lambda: settled(fake_inveterate, customer_id, "2.00"), what="the refund's 0.50 taken back")
    assert [c["amount"] for c in fake_inveterate.credits[str(customer_id)]] == [Decimal("1.50"), Decimal("-0.50")]


def test_a_shopify_members_visit_at_the_register_shows_the_credit_refuses_redeem_and_earns(stack, fake_inveterate):
    customer_id, customer = a_customer(stack)
    fake_inveterate.add_member(customer_id, credit="4.00")
    order = shopify_order(customer_id, subtotal="10.00", customer=customer, email=customer["email"])
    assert signed(stack, "orders/paid", order).status_code == 200
    wait_for(lambda: settled(fake_inveterate, customer_id, "4.50"), what="the online order's credit")
    found = requests.post(
        f"{stack.base_url}/partner-api/v2/program-memberships",
        json={"phone": customer["phone"]},
        headers={"X-API-Key": API},
        timeout=10,
    )
    member_id = found.json()["membership"]["id"]

    check = toast_check(selections=[toast_selection(price="8.00")], payment_status="OPEN", loyalty_identifier=member_id)
    info = {"loyaltyIdentifier": member_id, "orderGuid": str(uuid.uuid4()), "check": check, "redemptions": []}
    inquired = pos(stack, "LOYALTY_INQUIRE", {"checkTransactionInformation": info})["checkResponse"]
    assert inquired["accountInfo"]["pointsBalance"] == "4.50" and inquired["offers"] == []
    wanted = {**info, "redemptions": [{"identifier": "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"}]}
    redeemed = pos(stack, "LOYALTY_REDEEM", {"checkTransactionInformation": wanted})["checkResponse"]
    assert redeemed["appliedRedemptions"] == [] and redeemed["rejectedRedemptions"][0]["message"] == REFUSAL

    paid = {**check, "paymentStatus": "CLOSED"}
    pos(stack, "LOYALTY_ACCRUE", {"checkTransactionInformation": {**info, "check": paid}})
    wait_for(lambda: settled(fake_inveterate, customer_id, "4.90"), what="the check's 0.40 of credit")
