"""A Shopify guest earns and spends online through the running app: discount codes and the balance on the customer.

Gunicorn and the worker as processes, signed deliveries over HTTP, the partner API as a partner app calls
it, and Shopify's GraphQL Admin API faked over real HTTP (tests/shopify_fake.py).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from e2e_stack import BIN
from models import Database, Delivery, Member
from shopify_codes_support import FIVE_OFF, order, reward_of, shop_merchant, signed
from support import ROOT, wait_for

SLUG = "e2e-shop"
KEY = {"X-API-Key": f"{SLUG}-key"}
REWARD = reward_of(FIVE_OFF, SLUG)


@pytest.fixture
def shop(stack, fake_shopify):
    """The shop onboarded as an operator does it: added to the merchants file, then synced."""
    config = Path(stack.env["MERCHANTS_CONFIG"])
    if SLUG not in config.read_text():
        config.write_text(config.read_text().rstrip("\n") + "\n" + shop_merchant(fake_shopify.base_url, slug=SLUG))
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "merchants", "sync"],
        env=stack.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fake_shopify.outage = False
    return f"{stack.base_url}/partner-api/v2"


def deliver(stack, payload: dict, topic: str = "orders/paid") -> str:
    webhook_id = f"e2e-{random.randrange(10**12)}"
    body, headers = signed(payload, topic, webhook_id, shop=f"{SLUG}.myshopify.com")
    assert (
        requests.post(f"{stack.base_url}/webhooks/shopify", data=body, headers=headers, timeout=10).status_code == 200
    )
    return webhook_id


def processed(stack, webhook_id: str) -> bool:
    db = Database(stack.env["DATABASE_URL"])
    try:
        with db.reader() as session:
            status = session.execute(select(Delivery.status).where(Delivery.delivery_id == webhook_id)).scalar()
    finally:
        db.dispose()
    return status == "processed"


def metafields_due(stack, customer_id: int):
    db = Database(stack.env["DATABASE_URL"])
    try:
        with db.reader() as session:
            return session.execute(
                select(Member.shopify_metafields_due_at).where(Member.shopify_customer_id == str(customer_id))
            ).scalar_one()
    finally:
        db.dispose()


def spendable(api: str, member_id: str) -> int:
    return requests.get(f"{api}/program-memberships/{member_id}/level", headers=KEY, timeout=5).json()[
        "spendable_balance"
    ]


def a_guest(stack, api: str, *subtotals: str) -> tuple[str, int]:
    """A new customer whose paid orders arrive in a burst; returns (member id, customer id) once all are settled."""
    customer_id = 7_700_000_000_000_000 + random.randrange(10**12)
    ids = [deliver(stack, order(random.randrange(10**12), customer_id, subtotal=s)) for s in subtotals]
    wait_for(lambda: all(processed(stack, i) for i in ids), what="the orders settled")
    found = requests.get(
        f"{api}/program-memberships/search",
        params={"email": f"guest-{customer_id}@example.com"},
        headers=KEY,
        timeout=5,
    )
    return found.json()["membership"]["id"], customer_id


def redeem(api: str, member_id: str) -> requests.Response:
    return requests.post(
        f"{api}/program-memberships/{member_id}/redemptions", json={"reward_id": REWARD}, headers=KEY, timeout=30
    )


def test_a_burst_of_orders_puts_the_balance_on_the_customer_once(stack, shop, fake_shopify):
    member_id, customer_id = a_guest(stack, shop, "10.00", "20.00", "30.00")
    gid = f"gid://shopify/Customer/{customer_id}"
    wait_for(
        lambda: metafields_due(stack, customer_id) is None and fake_shopify.metafields_of(gid, "loyalty"),
        timeout=30,
        what="the metafields written",
    )
    assert fake_shopify.metafields_of(gid, "loyalty") == {"points": "600", "pending_points": "0", "tier": "Bronze"}
    writes = [c for c in fake_shopify.calls_of("metafieldsSet") if c["variables"]["metafields"][0]["ownerId"] == gid]
    assert len(writes) == 1


def test_redeem_for_a_code_the_order_that_uses_it_commits_it_once_across_topics(stack, shop, fake_shopify):
    member_id, customer_id = a_guest(stack, shop, "100.00")
    answer = redeem(shop, member_id)
    assert answer.status_code == 201, answer.text
    made = answer.json()["redemption"]
    discount = fake_shopify.live_code(made["code"])
    assert discount["input"]["context"] == {"customers": {"add": [f"gid://shopify/Customer/{customer_id}"]}}
    assert spendable(shop, member_id) == 500
    used = order(random.randrange(10**12), customer_id, subtotal="30.00", codes=(made["code"],))
    first = deliver(stack, used, "orders/paid")
    again = deliver(stack, {**used, "updated_at": "2026-06-01T11:00:00Z"}, "orders/updated")
    wait_for(lambda: processed(stack, first) and processed(stack, again), what="both topics processed")
    shown = requests.get(f"{shop}/redemptions/{made['id']}", headers=KEY, timeout=5).json()["redemption"]
    assert shown["state"] == "redeemed" and shown["code"] == made["code"]
    assert spendable(shop, member_id) == 500 + 300
    holds = requests.get(f"{shop}/program-memberships/{member_id}/transactions?type=HOLD", headers=KEY, timeout=5)
    assert [(t["points"], t["status"]) for t in holds.json()["transactions"]] == [(-500, "COMMITTED")]


def test_a_void_of_an_unused_code_deletes_it_in_shopify_and_gives_the_points_back(stack, shop, fake_shopify):
    member_id, _ = a_guest(stack, shop, "60.00")
    made = redeem(shop, member_id).json()["redemption"]
    voided = requests.post(f"{shop}/redemptions/{made['id']}/void", json={}, headers=KEY, timeout=30)
    assert voided.status_code == 200 and voided.json()["redemption"]["state"] == "voided"
    assert fake_shopify.live_code(made["code"]) is None
    assert spendable(shop, member_id) == 600


def test_shopify_down_at_redemption_is_a_503_and_nothing_is_held(stack, shop, fake_shopify):
    member_id, _ = a_guest(stack, shop, "60.00")
    fake_shopify.outage = True
    try:
        refused = redeem(shop, member_id)
    finally:
        fake_shopify.outage = False
    assert refused.status_code == 503 and refused.json()["error"] == "SHOPIFY_UNAVAILABLE"
    assert int(refused.headers["Retry-After"]) >= 1
    assert spendable(shop, member_id) == 600
