"""Secrets rotate without downtime: any of a list of webhook secrets verifies, old magic links keep working."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from factories import encode, shopify_headers, shopify_order
from models import Delivery
from services.members import magic_links
from services.merchants.config import ConfigError, parse_config
from services.merchants.sync import sync
from support import TEST_ENV
from toast_factories import toast_body, toast_envelope, toast_headers, toast_order

ROTATING = """
merchants:
  - slug: rotating-cafe
    name: Rotating Cafe
    currency: USD
    api_keys: [rotating-key]
    program: {points_per_currency_unit: 1}
    shopify:
      shop_domain: rotating-cafe.myshopify.com
      webhook_secret: [new-shopify-secret, old-shopify-secret]
    toast:
      restaurant_guids: [6f1f0e52-0c0a-4a44-9a55-2f2f0a0c1b11]
      webhook_secret: [new-toast-secret, old-toast-secret]
      loyalty_api_key: rotating-loyalty-key
"""
RESTAURANT = "6f1f0e52-0c0a-4a44-9a55-2f2f0a0c1b11"


@pytest.fixture
def rotating(rt):
    sync(rt, parse_config(ROTATING, {}))


def deliveries(rt) -> int:
    with rt.db.reader() as session:
        return session.scalar(select(func.count()).select_from(Delivery))


@pytest.mark.parametrize("secret", ["new-shopify-secret", "old-shopify-secret"])
def test_a_shopify_delivery_signed_with_any_listed_secret_is_accepted(rt, rotating, client, secret):
    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "w1", secret=secret, shop="rotating-cafe.myshopify.com")
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200
    assert deliveries(rt) == 1


def test_a_shopify_delivery_signed_with_a_secret_no_longer_listed_is_refused(rt, rotating, client):
    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "w1", secret="retired-secret", shop="rotating-cafe.myshopify.com")
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "INVALID_SIGNATURE"
    assert deliveries(rt) == 0


@pytest.mark.parametrize(("secret", "status"), [("old-toast-secret", 200), ("new-toast-secret", 200), ("x", 401)])
def test_a_toast_delivery_verifies_with_any_listed_secret(rt, rotating, client, secret, status):
    body = toast_body(toast_envelope(toast_order(), RESTAURANT))
    headers = toast_headers(body, secret=secret, restaurant_guid=RESTAURANT)
    assert client.post("/webhooks/toast", data=body, headers=headers).status_code == status
    assert deliveries(rt) == (1 if status == 200 else 0)


def test_a_single_secret_still_works_as_before(rt, demo_merchant, client):
    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "w1", secret=TEST_ENV["DEMO_CAFE_SHOPIFY_SECRET"])
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[]", "must be a secret or a list of 1 to 5 secrets"),
        ('[a-secret, ""]', "item 1: must be a non-empty string"),
        ("[a, b, c, d, e, f]", "must be a secret or a list of 1 to 5 secrets"),
    ],
)
def test_a_bad_list_of_secrets_is_refused_by_path(value, problem):
    text = ROTATING.replace("[new-shopify-secret, old-shopify-secret]", value)
    with pytest.raises(ConfigError) as refused:
        parse_config(text, {})
    assert any(p.startswith("merchants[0].shopify.webhook_secret: ") and problem in p for p in refused.value.problems)


def test_a_magic_link_signed_with_a_retired_key_verifies_while_it_is_a_fallback(rt):
    rt.secret_key = "old-key"
    old_link = magic_links.issue(rt, 1, "mem_1")
    token = old_link.url.rsplit("/", 1)[1]
    rt.secret_key, rt.secret_key_fallbacks = "new-key", ("old-key",)
    assert magic_links.verify(rt, token) == (1, "mem_1")
    new_token = magic_links.issue(rt, 1, "mem_1").url.rsplit("/", 1)[1]
    rt.secret_key_fallbacks = ()
    assert magic_links.verify(rt, new_token) == (1, "mem_1")  # new links are signed with SECRET_KEY
    with pytest.raises(magic_links.InvalidLink):
        magic_links.verify(rt, token)  # the fallback dropped: old links stop working
