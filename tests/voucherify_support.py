"""A merchant whose program runs on Voucherify, and the calls its tests make (Shopify, Toast, the POS, partners)."""

from __future__ import annotations

from fake_voucherify import APP_ID, APP_TOKEN, PROGRAM_ID
from provider_support import Channels

RESTAURANT = "6b2c3d4e-5f60-4b7c-9d8e-0f1a2b3c4d5e"
SHOP = "voucherify-cafe.myshopify.com"
SHOPIFY_SECRET, TOAST_SECRET = "vf-shopify-secret", "vf-toast-secret"
POS_KEY, API = "vf-pos-key", "vf-cafe-key"
COLD_BREW = "8e1f7b3a-3c9d-4d66-8a1f-1b4d7e2f3a01"  # 300 points: a cold brew
TWO_OFF = "8e1f7b3a-3c9d-4d66-8a1f-1b4d7e2f3a02"  # 200 points: 2.00 off item 999


def config(base_url: str) -> str:
    """The merchants file of a café on Toast and Shopify whose points live in a Voucherify Loyalty v2 program."""
    return f"""
merchants:
  - slug: voucherify-cafe
    name: Voucherify Cafe
    currency: USD
    timezone: America/New_York
    api_keys: [{API}]
    program: {{points_per_currency_unit: 10}}
    loyalty:
      provider: voucherify
      base_url: {base_url}
      app_id: {APP_ID}
      app_token: {APP_TOKEN}
      program_id: {PROGRAM_ID}
      timeout_seconds: 2
    toast: {{restaurant_guids: [{RESTAURANT}], webhook_secret: {TOAST_SECRET}, loyalty_api_key: {POS_KEY}}}
    shopify: {{shop_domain: {SHOP}, webhook_secret: {SHOPIFY_SECRET}}}
    rewards:
      - uuid: {COLD_BREW}
        name: Free Cold Brew
        priority: 1
        reward_type: redemption
        points_price: 300
        maximum_discount_value: 6.50
        applicable_menu_item_multi_location_ids: ["100000000437569098"]
      - uuid: {TWO_OFF}
        name: 2.00 off
        priority: 2
        reward_type: discount_value_based
        reward_value: 2
        points_price: 200
        applicable_menu_item_multi_location_ids: ["999"]
"""


_CHANNELS = Channels(SHOP, SHOPIFY_SECRET, RESTAURANT, TOAST_SECRET, POS_KEY)
deliver_shopify = _CHANNELS.deliver_shopify
deliver_toast = _CHANNELS.deliver_toast
pos_headers = _CHANNELS.pos_headers
pos = _CHANNELS.pos


def adjusted(fake, member: dict) -> list[tuple[int, str]]:
    """The card adjustments Voucherify took for ``member``: ``(points, reason)``, oldest first."""
    return [(t["details"]["points"]["total"], t["details"]["reason"]) for t in fake.adjustments(member)]
