"""A merchant whose program runs on Inveterate, and the calls its tests make (Shopify, Toast, the POS, the API)."""

from __future__ import annotations

from fake_inveterate import API_KEY
from provider_support import Channels, check_info, deliveries, postings, the_member  # noqa: F401  (the tests import them from here)

from factories import CUSTOMER_ID

RESTAURANT = "8d4e5f60-7b8c-4d9e-8f01-2b3c4d5e6f70"
SHOP = "inveterate-shop.myshopify.com"
SHOPIFY_SECRET, TOAST_SECRET = "inveterate-shopify-secret", "inveterate-toast-secret"
POS_KEY, API = "inveterate-pos-key", "inveterate-shop-key"
CUSTOMER = str(CUSTOMER_ID)  # the Shopify customer of factories.shopify_order


def config(base_url: str) -> str:
    """The merchants file of a brand on Shopify (and a Toast café) whose program is Inveterate's store credit."""
    return f"""
merchants:
  - slug: inveterate-shop
    name: Inveterate Shop
    currency: USD
    timezone: America/New_York
    api_keys: [{API}]
    program: {{points_per_currency_unit: 10}}
    loyalty:
      provider: inveterate
      base_url: {base_url}
      api_key: {API_KEY}
      credit_rate: 0.05
      timeout_seconds: 2
    toast: {{restaurant_guids: [{RESTAURANT}], webhook_secret: {TOAST_SECRET}, loyalty_api_key: {POS_KEY}}}
    shopify: {{shop_domain: {SHOP}, webhook_secret: {SHOPIFY_SECRET}}}
"""


_CHANNELS = Channels(SHOP, SHOPIFY_SECRET, RESTAURANT, TOAST_SECRET, POS_KEY)
deliver_shopify = _CHANNELS.deliver_shopify
deliver_toast = _CHANNELS.deliver_toast
pos = _CHANNELS.pos
