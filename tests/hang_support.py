"""A merchant whose program runs on Hang, and the calls its tests make (Shopify, Toast, the POS, the partner API)."""

from __future__ import annotations

import uuid

from fake_hang import API_KEY
from sqlalchemy import select

from factories import encode, shopify_headers
from models import Member, ProviderPosting
from toast_contract import validate_response
from toast_factories import toast_body, toast_envelope, toast_headers

RESTAURANT = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SHOP = "hang-cafe.myshopify.com"
SHOPIFY_SECRET, TOAST_SECRET, POS_KEY, API = "hang-shopify-secret", "hang-toast-secret", "hang-pos-key", "hang-cafe-key"
COLD_BREW = "hang-reward-cold-brew"
TWO_OFF = "hang-reward-two-off"


def config(base_url: str) -> str:
    """The merchants file of a café on Toast and Shopify whose points live in Hang."""
    return f"""
merchants:
  - slug: hang-cafe
    name: Hang Cafe
    currency: USD
    timezone: America/New_York
    api_keys: [{API}]
    program: {{points_per_currency_unit: 10}}
    loyalty:
      provider: hang
      base_url: {base_url}
      api_key: {API_KEY}
      activity_type_id: act_purchase
      timeout_seconds: 2
    toast: {{restaurant_guids: [{RESTAURANT}], webhook_secret: {TOAST_SECRET}, loyalty_api_key: {POS_KEY}}}
    shopify: {{shop_domain: {SHOP}, webhook_secret: {SHOPIFY_SECRET}}}
"""


HANG_REWARDS = [
    {
        "uuid": COLD_BREW,
        "name": "Free Cold Brew",
        "priority": 1,
        "reward_type": "redemption",
        "reward_value": 0,
        "points_price": 300,
        "interval": 0,
        "limit": 0,
        "minimum_quantity": 1,
        "maximum_discount_value": 6.5,
        "can_be_combined_with_other_rewards": True,
        "applicable_menu_item_multi_location_ids": ["100000000437569098"],
        "applicable_menu_group_multi_location_ids": [],
        "start_date": None,
        "end_date": None,
    },
    {
        "uuid": TWO_OFF,
        "name": "2.00 off",
        "priority": 2,
        "reward_type": "discount_value_based",
        "reward_value": 2,
        "points_price": 200,
        "interval": 0,
        "limit": 0,
        "minimum_quantity": 1,
        "can_be_combined_with_other_rewards": True,
        "applicable_menu_item_multi_location_ids": ["999"],
        "applicable_menu_group_multi_location_ids": [],
    },
]


def deliver_shopify(client, topic: str, payload: dict, webhook_id: str | None = None):
    body = encode(payload)
    headers = shopify_headers(body, topic, webhook_id or str(uuid.uuid4()), secret=SHOPIFY_SECRET, shop=SHOP)
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response


def deliver_toast(client, order: dict):
    body = toast_body(toast_envelope(order, RESTAURANT))
    headers = toast_headers(body, secret=TOAST_SECRET, restaurant_guid=RESTAURANT)
    assert client.post("/webhooks/toast", data=body, headers=headers).status_code == 200


def pos(client, kind: str, body: dict, *, guid: str | None = None):
    headers = {
        "Authorization": POS_KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    response = client.post(
        "/webhooks/toast/loyalty", data=toast_body({"toastTransactionType": kind, **body}), headers=headers
    )
    validate_response(response.get_json())
    return response


def check_info(member_id: str | None, check: dict, redemptions: list | None = None) -> dict:
    return {
        "checkTransactionInformation": {
            "loyaltyIdentifier": member_id,
            "orderGuid": str(uuid.uuid4()),
            "check": check,
            "redemptions": redemptions or [],
        }
    }


def postings(rt) -> list[ProviderPosting]:
    with rt.db.reader() as s:
        return s.execute(select(ProviderPosting).order_by(ProviderPosting.id)).scalars().all()


def the_member(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()
