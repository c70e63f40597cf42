"""Rewards redeemed online as Shopify discount codes, against Shopify's GraphQL Admin API faked over real HTTP.

The partner API in-process on both databases, deliveries run by a real RQ worker. What happens when
Shopify refuses, fails or a process dies half-way: test_shopify_code_failures.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import LedgerEntry
from shopify_codes_support import (
    API,
    EARLY_ACCESS,
    FIVE_OFF,
    KEY,
    TEN_PERCENT,
    TOKEN,
    deliver,
    order,
    points,
    redeem,
    redemption,
)
from workers import jobs


def test_a_code_reward_holds_its_price_and_answers_a_single_use_code_for_that_customer(rt, client, guest, fake, clock):
    member_id, customer_id = guest
    answer = redeem(client, member_id)
    assert answer.status_code == 201, answer.json
    made = answer.json["redemption"]
    assert made["state"] == "initiated" and made["points"] == 500 and made["code"].startswith("PC-")
    assert made["expires_at"] == int((clock.now + timedelta(days=30)).timestamp())
    assert made["discount_gid"].startswith("gid://shopify/DiscountCodeNode/")
    assert points(rt, member_id) == (500, 500)
    discount = fake.live_code(made["code"])
    sent = discount["input"]
    assert sent["context"] == {"customers": {"add": [f"gid://shopify/Customer/{customer_id}"]}}
    assert "customerSelection" not in sent
    assert sent["customerGets"] == {
        "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
        "items": {"all": True},
    }
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert sent["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "25.00"}}
    assert sent["combinesWith"] == {"orderDiscounts": False, "productDiscounts": True, "shippingDiscounts": True}
    assert sent["endsAt"] == (clock.now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert made["id"] in sent["title"]
    assert fake.calls_of("discountCodeBasicCreate")[0]["token"] == TOKEN


@pytest.mark.parametrize("shop", ["2025-07"], indirect=True)
def test_before_api_version_2025_10_the_code_names_its_customer_with_customer_selection(client, guest, fake):
    member_id, customer_id = guest
    made = redeem(client, member_id, TEN_PERCENT).json["redemption"]
    sent = fake.live_code(made["code"])["input"]
    assert sent["customerSelection"] == {"customers": {"add": [f"gid://shopify/Customer/{customer_id}"]}}
    assert "context" not in sent
    assert sent["customerGets"]["value"] == {"percentage": 0.1}
    # A reward that may not be combined with other rewards combines with no other money off.
    assert sent["combinesWith"] == {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True}


def test_a_reward_that_takes_no_money_off_is_a_plain_redemption_without_a_code(client, guest, fake):
    member_id, _ = guest
    made = redeem(client, member_id, EARLY_ACCESS).json["redemption"]
    assert made["code"] is None and fake.calls_of("discountCodeBasicCreate") == []


def test_the_order_that_uses_the_code_redeems_it_once_whichever_topic_brings_it(rt, client, work, guest):
    member_id, customer_id = guest
    made = redeem(client, member_id).json["redemption"]
    used = order(9001, customer_id, subtotal="30.00", codes=(made["code"],))
    deliver(client, used, "orders/create")
    work()
    assert redemption(client, made["id"])["state"] == "redeemed"
    deliver(client, {**used, "updated_at": "2026-06-01T11:00:00Z"}, "orders/updated")
    deliver(client, used, "orders/paid")
    work()
    done = redemption(client, made["id"])
    assert done["state"] == "redeemed" and done["redeemed_at"] is not None
    assert points(rt, member_id) == (1000 - 500 + 300, 0)  # the code's order earned 300 on its own
    rewards = client.get(f"{API}/program-memberships/{member_id}/rewards?include=all", headers=KEY).json["rewards"]
    assert next(r for r in rewards if r["uuid"] == FIVE_OFF)["redemption_count"] == 1


def test_a_code_named_only_by_a_discount_application_in_other_case_is_recognised(client, work, guest):
    member_id, customer_id = guest
    made = redeem(client, member_id).json["redemption"]
    deliver(client, order(9002, customer_id, codes=(made["code"].lower(),), applications_only=True))
    work()
    assert redemption(client, made["id"])["state"] == "redeemed"


def test_a_cancelled_order_voids_its_codes_redemption_and_the_points_come_back(rt, client, work, guest):
    member_id, customer_id = guest
    made = redeem(client, member_id).json["redemption"]
    used = order(9003, customer_id, subtotal="30.00", codes=(made["code"],))
    deliver(client, used)
    work()
    deliver(
        client,
        {**used, "updated_at": "2026-06-02T10:00:00Z", "cancelled_at": "2026-06-02T10:00:00Z"},
        "orders/cancelled",
    )
    work()
    assert redemption(client, made["id"])["state"] == "voided"
    assert points(rt, member_id) == (1000, 0)  # the 500 back, the order's own 300 reversed


def test_a_code_left_to_expire_gives_its_points_back_and_is_deleted_in_shopify(rt, client, work, guest, fake, clock):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    clock.now += timedelta(days=29, hours=23)
    assert jobs.expire_holds() == 0
    clock.now += timedelta(hours=2)
    assert jobs.expire_holds() == 1
    work()
    assert points(rt, member_id) == (1000, 0)
    assert redemption(client, made["id"])["state"] == "voided"
    assert fake.live_code(made["code"]) is None
    [call] = fake.calls_of("discountCodeDelete")
    assert call["variables"] == {"id": made["discount_gid"]}


def test_voiding_an_unused_code_deletes_it_in_shopify_then_gives_the_points_back(rt, client, guest, fake):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    voided = client.post(f"{API}/redemptions/{made['id']}/void", json={}, headers=KEY)
    assert voided.status_code == 200 and voided.json["redemption"]["state"] == "voided"
    assert fake.live_code(made["code"]) is None
    assert points(rt, member_id) == (1000, 0)


def test_voiding_a_used_code_refunds_the_points_and_leaves_the_discount_alone(rt, client, work, guest, fake):
    member_id, customer_id = guest
    made = redeem(client, member_id).json["redemption"]
    deliver(client, order(9004, customer_id, subtotal="30.00", codes=(made["code"],)))
    work()
    voided = client.post(f"{API}/redemptions/{made['id']}/void", json={}, headers=KEY)
    assert voided.json["redemption"]["state"] == "voided"
    assert points(rt, member_id) == (1000 + 300, 0)
    assert fake.calls_of("discountCodeDelete") == []


def test_the_redeem_endpoint_leaves_a_code_to_the_order_that_uses_it(client, guest):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    refused = client.post(f"{API}/redemptions/{made['id']}/redeem", json={}, headers=KEY)
    assert refused.status_code == 422 and refused.json["error"] == "REDEEMED_BY_SHOPIFY_ORDER"


def test_a_member_is_found_in_shopify_by_email_when_not_linked(rt, client, shop, fake):
    made = client.post(
        f"{API}/program-memberships", json={"external_user_id": "u1", "email": "kim@example.com"}, headers=KEY
    )
    member_id = made.json["membership"]["id"]
    client.post(f"{API}/program-memberships/{member_id}/points", json={"points": 600}, headers=KEY)
    assert redeem(client, member_id).json["error"] == "SHOPIFY_CUSTOMER_NOT_FOUND"
    fake.customers["kim@example.com"] = "gid://shopify/Customer/42"
    answer = redeem(client, member_id)
    assert answer.status_code == 201
    assert fake.live_code(answer.json["redemption"]["code"])["input"]["context"]["customers"]["add"] == [
        "gid://shopify/Customer/42"
    ]


def test_the_hold_of_a_code_lives_as_long_as_the_code(rt, client, guest, clock):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    with rt.db.reader() as session:
        hold = session.execute(select(LedgerEntry).where(LedgerEntry.type == "HOLD")).scalar_one()
    assert hold.expires_at == clock.now + timedelta(days=30)
    assert made["expires_at"] == int(hold.expires_at.timestamp())


def test_the_member_page_shows_an_issued_unused_code_with_its_expiry(rt, client, work, guest):
    rt.secret_key = "test-secret-key"
    member_id, customer_id = guest
    unused = redeem(client, member_id).json["redemption"]
    used = redeem(client, member_id, TEN_PERCENT).json["redemption"]
    deliver(client, order(9005, customer_id, subtotal="30.00", codes=(used["code"],)))
    work()
    link = client.post(f"{API}/program-memberships/{member_id}/magic-link", headers=KEY).json["magic_link"]
    page = client.get("/m/" + link.rsplit("/m/", 1)[1]).get_data(as_text=True)
    assert unused["code"] in page and "Use by Jul 01, 2026" in page  # 30 days on, in the shop's timezone
    assert used["code"] not in page
