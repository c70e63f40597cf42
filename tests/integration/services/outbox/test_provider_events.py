"""A merchant whose points live on a loyalty platform: Punchcard announces the members and the rewards redeemed
through it, and leaves the point changes to the platform's own events."""

from __future__ import annotations

import pytest
from events_support import endpoint
from fake_voucherify import FakeVoucherify
from hang_support import check_info
from voucherify_support import COLD_BREW, pos
from voucherify_support import config as voucherify_config

from services.merchants.config import parse_config
from services.merchants.sync import sync
from toast_factories import toast_check, toast_selection


@pytest.fixture
def voucherify(clock):
    fake = FakeVoucherify(clock=clock)
    yield fake
    fake.stop()


def test_a_voucherify_merchants_register_visit_announces_the_member_and_the_reward_redeemed(
    rt, voucherify, receiver, client, work
):
    out = f"    webhooks_out: [{{url: '{receiver.url}', secret: {endpoint(receiver.url)['secret']}}}]\n"
    sync(rt, parse_config(voucherify_config(voucherify.base_url) + out, {}))
    signup = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550199"}}).get_json()
    member_id = signup["signupResponse"]["loyaltyIdentifier"]
    work()
    voucherify.give_points(voucherify.member_of(member_id), 500)
    item = toast_selection(price="5.00", name="Cold Brew", item_id="100000000437569098", group_id="1")
    check = toast_check(selections=[item], payment_status="OPEN", loyalty_identifier=member_id)
    redeemed = pos(client, "LOYALTY_REDEEM", check_info(member_id, check, [{"identifier": COLD_BREW}]), guid="r-9")
    assert len(redeemed.get_json()["checkResponse"]["appliedRedemptions"]) == 1
    pos(client, "LOYALTY_ACCRUE", check_info(member_id, {**check, "paymentStatus": "CLOSED"}))
    work()
    assert receiver.types == ["membership.created", "reward.redeemed"]
    [event] = receiver.of_type("reward.redeemed")
    assert (event["data"]["membership_id"], event["data"]["redemption"]["reward_id"]) == (member_id, COLD_BREW)
    assert event["data"]["redemption"]["points"] == 300
