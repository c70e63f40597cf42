"""A merchant whose program runs on Hang, and the calls its tests make (Shopify, Toast, the POS, the partner API)."""

from __future__ import annotations

from fake_hang import API_KEY
from provider_support import Channels, check_info, postings, the_member  # noqa: F401  (the tests import them from here)

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


_CHANNELS = Channels(SHOP, SHOPIFY_SECRET, RESTAURANT, TOAST_SECRET, POS_KEY)
deliver_shopify = _CHANNELS.deliver_shopify
deliver_toast = _CHANNELS.deliver_toast
pos = _CHANNELS.pos


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
