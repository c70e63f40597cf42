"""A Shopify code redeemed by an order is announced to the merchant: `reward.redeemed`, with its `code`, once.

The shop of the codes tests with a ``webhooks_out`` endpoint: the events receiver over real HTTP
(tests/fake_receiver.py), verifying each delivery with the standardwebhooks library.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fake_receiver import SECRET

from services.merchants.config import parse_config
from services.merchants.sync import sync
from shopify_codes_support import FIVE_OFF, deliver, order, redeem, redemption, shop_config
from workers import jobs


@pytest.fixture
def shop(rt, fake, receiver):
    """The codes shop, pointed at the fake Shopify, sending every event type to the receiver."""
    events = f"    webhooks_out: [{{url: '{receiver.url}', secret: {SECRET}}}]\n"
    sync(rt, parse_config(shop_config(fake.base_url) + events, {}))
    return "2025-10"


def test_the_order_that_uses_a_code_announces_reward_redeemed_with_the_code_once(client, work, guest, receiver):
    member_id, customer_id = guest
    made = redeem(client, member_id).json["redemption"]
    work()
    assert receiver.of_type("reward.redeemed") == []  # a code issued is not a reward redeemed
    used = order(9101, customer_id, subtotal="30.00", codes=(made["code"],))
    deliver(client, used, "orders/paid")
    deliver(client, {**used, "updated_at": "2026-06-01T11:00:00Z"}, "orders/updated")
    work()
    assert redemption(client, made["id"])["state"] == "redeemed"
    [event] = receiver.of_type("reward.redeemed")
    assert event["data"] == {
        "redemption": {"id": made["id"], "reward_id": FIVE_OFF, "points": 500, "code": made["code"]},
        "membership_id": member_id,
    }
    [spent] = [e for e in receiver.of_type("points.spent") if e["data"].get("reward_id") == FIVE_OFF]
    assert spent["data"]["points"] == 500


def test_a_code_left_to_expire_is_never_announced_as_redeemed(client, work, guest, clock, receiver):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    clock.now += timedelta(days=31)
    assert jobs.expire_holds() == 1
    work()
    assert redemption(client, made["id"])["state"] == "voided"
    assert receiver.of_type("reward.redeemed") == []
