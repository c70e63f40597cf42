"""As Shopify and a partner app would: signed deliveries to the running app, results through the partner API."""

from __future__ import annotations

import random

import requests

from e2e_stack import signed_post
from factories import shopify_order, shopify_refund
from support import TEST_ENV, wait_for

KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}


def search(stack, **params):
    response = requests.get(
        f"{stack.base_url}/partner-api/v2/program-memberships/search", params=params, headers=KEY, timeout=5
    )
    return response.json()["membership"] if response.status_code == 200 else None


def level(stack, member_id):
    return requests.get(
        f"{stack.base_url}/partner-api/v2/program-memberships/{member_id}/level", headers=KEY, timeout=5
    ).json()


def test_a_paid_order_for_a_new_customer_shows_the_member_and_points(stack):

    email = f"new-{random.randrange(10**9)}@example.com"
    order = shopify_order(
        order_id=random.randrange(10**12),
        subtotal="42.50",
        email=email,
        customer={"id": random.randrange(10**15), "email": email, "first_name": "Grace"},
    )
    assert signed_post(stack, "orders/paid", order).status_code == 200
    member = wait_for(lambda: search(stack, email=email))
    assert member["first_name"] == "Grace"
    assert wait_for(lambda: level(stack, member["id"])["spendable_balance"] == 425 and level(stack, member["id"]))


def new_customer():
    n = random.randrange(10**12)
    email = f"guest-{n}@example.com"
    return n, email, {"id": 10**15 + n, "email": email}


def test_repeats_and_out_of_order_states_end_at_the_latest_state_counted_once(stack):
    order_id, email, customer = new_customer()
    states = [
        shopify_order(
            order_id=order_id, subtotal=s, email=email, customer=customer, updated_at=f"2026-06-01T1{i}:00:00Z"
        )
        for i, s in enumerate(["10.00", "20.00", "30.00"])
    ]
    refund = shopify_refund(order_id + 1, order_id, "15.00")
    for payload, topic, webhook_id in [
        (states[2], "orders/updated", "c"),
        (states[0], "orders/paid", "a"),
        (refund, "refunds/create", "r"),
        (states[1], "orders/updated", "b"),
        (states[2], "orders/updated", "c"),
        (refund, "refunds/create", "r"),
    ]:
        assert signed_post(stack, topic, payload, f"{order_id}-{webhook_id}").status_code == 200
    member = wait_for(lambda: search(stack, email=email))
    # 30.00 earns 300; refunding 15.00 of it takes back half
    assert wait_for(lambda: level(stack, member["id"])["spendable_balance"] == 150)


def test_a_wallet_holder_is_tagged_in_shopify_over_http(stack, fake_shopify):
    order_id, email, customer = new_customer()
    order = shopify_order(order_id=order_id, email=email, customer=customer, wallet="0xfeed")
    signed_post(stack, "orders/paid", order)
    gid = f"gid://shopify/Customer/{customer['id']}"
    call = wait_for(lambda: next((c for c in fake_shopify.calls if c["variables"].get("id") == gid), None))
    assert call["path"] == "/admin/api/2025-07/graphql.json"
    assert call["token"] == TEST_ENV["DEMO_CAFE_SHOPIFY_TOKEN"]
    assert call["variables"]["tags"] == ["loyalty-member", "wallet-connected"]


def test_a_bad_signature_is_refused_over_http(stack):
    from factories import encode, shopify_headers

    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "bad-sig", secret="wrong")
    response = requests.post(f"{stack.base_url}/webhooks/shopify", data=body, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "INVALID_SIGNATURE"
