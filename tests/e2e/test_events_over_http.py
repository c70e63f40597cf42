"""Events through the running system: each change a Shopify order, a Toast visit or a partner makes reaches the
merchant's endpoint once, verified by the standardwebhooks library, with the balance as of the change."""

from __future__ import annotations

import random
import uuid

import requests
from test_toast_visit_over_http import COLD_BREW, PARTNER, check_info, pos, webhook

from e2e_stack import signed_post
from factories import shopify_order
from support import wait_for
from toast_factories import toast_check, toast_order, toast_selection


def events_of(receiver, member_id: str, count: int) -> list[dict]:
    """Wait for ``count`` verified events of the member; return them in their order of occurrence."""

    def mine() -> list[dict]:
        return [
            e for e in receiver.events.values() if member_id in (e["data"].get("membership_id"), e["data"].get("id"))
        ]

    wait_for(lambda: len(mine()) >= count, what=f"{count} events of {member_id}")
    return sorted(mine(), key=lambda e: (e["timestamp"], e["data"].get("transaction_id") or ""))


def member_by_email(stack, email: str) -> str | None:
    found = requests.get(
        f"{stack.base_url}/partner-api/v2/program-memberships/search",
        params={"email": email},
        headers=PARTNER,
        timeout=5,
    )
    return found.json()["membership"]["id"] if found.status_code == 200 else None


def summary(event: dict) -> tuple:
    data = event["data"]
    return event["type"], data.get("points"), (data.get("balance") or {}).get("points")


def test_a_shopify_order_and_a_partner_adjustment_announce_the_member_and_each_change(stack, events_receiver):
    order_id = random.randrange(10**12, 10**13)
    customer = {"id": order_id, "email": f"ev{order_id}@example.com", "first_name": "Eve"}
    order = shopify_order(order_id, subtotal="42.50", customer=customer, email=customer["email"])
    assert signed_post(stack, "orders/paid", order).status_code == 200
    member_id = wait_for(lambda: member_by_email(stack, customer["email"]), what="the member")
    added = requests.post(
        f"{stack.base_url}/partner-api/v2/program-memberships/{member_id}/points",
        json={"points": 75, "reason": "birthday"},
        headers=PARTNER,
        timeout=5,
    )
    assert added.status_code == 201
    events = events_of(events_receiver, member_id, 3)
    assert events[0]["type"] == "membership.created"
    assert [summary(e) for e in events[1:]] == [("points.earned", 425, 425), ("points.earned", 75, 500)]
    assert events[1]["data"]["channel"] == "shopify" and str(order_id) in events[1]["data"]["reference"]
    assert events[2]["data"]["channel"] == "partner_api"


def test_a_toast_redemption_announces_the_points_spent_and_the_reward_redeemed(stack, events_receiver):
    phone = f"212555{random.randrange(1000, 9999)}"
    signup = pos(stack, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}})
    member = signup.json()["signupResponse"]["loyaltyIdentifier"]
    earlier = toast_check(selections=[toast_selection(price="60.00")], loyalty_identifier=member)
    assert webhook(stack, toast_order(checks=[earlier])).status_code == 200
    events_of(events_receiver, member, 2)

    cold_brew = toast_selection(price="5.00", item_id="100000000437569098", group_id="100000000171239911")
    check = toast_check(selections=[cold_brew], payment_status="OPEN", loyalty_identifier=member)
    redeem = pos(
        stack, "LOYALTY_REDEEM", check_info(member, check, [{"identifier": COLD_BREW}]), guid=str(uuid.uuid4())
    )
    assert redeem.json()["checkResponse"]["rejectedRedemptions"] == []
    accrue = pos(stack, "LOYALTY_ACCRUE", check_info(member, {**check, "paymentStatus": "CLOSED"}))
    assert accrue.json() == {"transactionStatus": "ACCEPT"}

    events = events_of(events_receiver, member, 5)
    assert [e["type"] for e in events[:2]] == ["membership.created", "points.earned"]
    by_type = {e["type"]: e for e in events[2:]}
    assert set(by_type) == {"points.spent", "reward.redeemed", "points.earned"}
    spent = by_type["points.spent"]["data"]
    assert (spent["points"], spent["reward_id"], spent["channel"]) == (500, COLD_BREW, "toast_loyalty")
    redeemed = by_type["reward.redeemed"]["data"]
    assert (redeemed["membership_id"], redeemed["redemption"]["reward_id"]) == (member, COLD_BREW)
    assert redeemed["redemption"]["points"] == 500
    earned = by_type["points.earned"]["data"]
    # The hold took the 500 at REDEEM; whichever the paid check posted first, the check's 50 ends at 150.
    assert (earned["points"], earned["balance"]) == (50, {"points": 150, "pending_points": 0})
    assert spent["balance"]["points"] in (100, 150)
