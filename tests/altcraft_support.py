"""A merchant whose program runs on Altcraft, and the calls its tests make (Shopify, Toast, the POS)."""

from __future__ import annotations

from fake_altcraft import CURRENCY, PROGRAM_ID, TOKEN
from provider_support import Channels, check_info, postings, the_member  # noqa: F401  (the tests import them from here)

__all__ = ["check_info", "postings", "the_member"]

RESTAURANT = "7c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
SHOP = "altcraft-cafe.myshopify.com"
SHOPIFY_SECRET, TOAST_SECRET = "altcraft-shopify-secret", "altcraft-toast-secret"
POS_KEY, API = "altcraft-pos-key", "altcraft-cafe-key"
COLD_BREW = "5e8f2a1c-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
TWO_OFF = "6f9a3b2d-4c5e-4f7a-9b0c-1d2e3f4a5b6c"


def config(base_url: str, *, matching: str = "phone", currency: bool = True) -> str:
    """The merchants file of a café on Toast and Shopify whose points live in Altcraft."""
    eid = f"\n      points_currency_eid: {CURRENCY}" if currency else ""
    return f"""
merchants:
  - slug: altcraft-cafe
    name: Altcraft Cafe
    currency: USD
    timezone: America/New_York
    api_keys: [{API}]
    program: {{points_per_currency_unit: 10}}
    loyalty:
      provider: altcraft
      base_url: {base_url}
      token: {TOKEN}
      loyalty_program_id: {PROGRAM_ID}{eid}
      matching: {matching}
      timeout_seconds: 2
    toast: {{restaurant_guids: [{RESTAURANT}], webhook_secret: {TOAST_SECRET}, loyalty_api_key: {POS_KEY}}}
    shopify: {{shop_domain: {SHOP}, webhook_secret: {SHOPIFY_SECRET}}}
    rewards:
      - uuid: {COLD_BREW}
        name: Free Cold Brew
        priority: 1
        reward_type: redemption
        reward_value: 0
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
pos = _CHANNELS.pos


def profile_of(altcraft, phone: str = "+14155550134") -> dict:
    """The Altcraft profile of ``phone``."""
    [profile] = [p for p in altcraft.profiles.values() if p["phone"] == phone]
    return profile
