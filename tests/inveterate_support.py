"""A merchant whose program runs on Inveterate, and the calls its tests make (Shopify, Toast, the POS, the API)."""

from __future__ import annotations

import uuid

from fake_inveterate import API_KEY
from sqlalchemy import select

from factories import CUSTOMER_ID, encode, shopify_headers
from models import Delivery, Member, ProviderPosting
from toast_contract import validate_response
from toast_factories import toast_body, toast_envelope, toast_headers

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


def deliveries(rt) -> list[Delivery]:
    with rt.db.reader() as s:
        return s.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


def the_member(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()
