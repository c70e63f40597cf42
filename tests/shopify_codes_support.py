"""A Shopify merchant with discount codes and customer metafields, as a merchant would configure it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from base64 import b64encode

from rq.job import Job
from rq.registry import ScheduledJobRegistry

from models import Member

SLUG = "online-shop"
SHOP = "online-shop.myshopify.com"
SECRET = "online-shop-secret"
API_KEY = f"{SLUG}-key"
TOKEN = "shpat_online_shop_token"
FIVE_OFF = "5f0ff000-0000-4000-8000-000000000005"  # 5.00 off for 500 points
TEN_PERCENT = "10ba0000-0000-4000-8000-000000000010"  # 10% off for 300 points
EARLY_ACCESS = "acce5500-0000-4000-8000-000000000001"  # no money off: a plain redemption
API = "/partner-api/v2"
KEY = {"X-API-Key": API_KEY}
_ids = itertools.count(1)


def unique() -> int:
    """A number no other call of this test session got (order and webhook ids)."""
    return next(_ids)


def shop_config(base_url: str, *, version: str = "2025-10", expires_after_days: int = 30) -> str:
    """The merchants file of one Shopify shop whose rewards become discount codes, pointed at ``base_url``."""
    return "merchants:\n" + shop_merchant(base_url, version=version, expires_after_days=expires_after_days)


def shop_merchant(base_url: str, *, version: str = "2025-10", expires_after_days: int = 30, slug: str = SLUG) -> str:
    """The shop as one entry of the merchants list (its key ``<slug>-key``, its domain ``<slug>.myshopify.com``)."""
    return f"""
  - slug: {slug}
    name: Online Shop
    currency: USD
    timezone: America/New_York
    api_keys: [{slug}-key]
    program:
      points_per_currency_unit: 10
      tiers:
        - {{name: Bronze, min_lifetime_points: 0}}
        - {{name: Silver, min_lifetime_points: 1000}}
    shopify:
      shop_domain: {slug}.myshopify.com
      webhook_secret: {SECRET}
      admin_api: {{base_url: "{base_url}", access_token: {TOKEN}, version: "{version}"}}
      redemption_codes:
        prefix: PC-
        expires_after_days: {expires_after_days}
        minimum_subtotal: 25.00
        combines_with: {{order_discounts: false, product_discounts: true, shipping_discounts: true}}
      customer_metafields: {{namespace: loyalty}}
    rewards:
      - {{uuid: {_reward_uuid(FIVE_OFF, slug)}, name: Five Off, reward_type: discount_value_based,
          reward_value: 5.00, points_price: 500}}
      - {{uuid: {_reward_uuid(TEN_PERCENT, slug)}, name: Ten Percent Off, reward_type: discount_percent_based,
          reward_value: 10, points_price: 300, can_be_combined_with_other_rewards: false}}
      - {{uuid: {_reward_uuid(EARLY_ACCESS, slug)}, name: Early Access, reward_type: access, points_price: 100}}
"""


def _reward_uuid(uuid: str, slug: str) -> str:
    # Reward uuids are unique across the merchants file: another shop gets its own.
    return uuid if slug == SLUG else reward_of(uuid, slug)


def reward_of(uuid: str, slug: str) -> str:
    """The uuid of reward ``uuid`` at the shop ``slug``."""
    return uuid if slug == SLUG else uuid[:-4] + format(sum(map(ord, slug)) % 0xFFFF, "04x")


def order(
    order_id: int,
    customer_id: int,
    *,
    subtotal: str = "100.00",
    codes: tuple[str, ...] = (),
    updated_at: str = "2026-06-01T10:00:00Z",
    cancelled_at: str | None = None,
    applications_only: bool = False,
) -> dict:
    """An order payload as Shopify sends it, using ``codes`` the way checkout records them."""
    applications = [
        {
            "target_type": "line_item",
            "type": "discount_code",
            "value": "5.0",
            "value_type": "fixed_amount",
            "allocation_method": "across",
            "target_selection": "all",
            "code": code,
        }
        for code in codes
    ]
    return {
        "id": order_id,
        "email": f"guest-{customer_id}@example.com",
        "currency": "USD",
        "financial_status": "voided" if cancelled_at else "paid",
        "subtotal_price": subtotal,
        "total_price": subtotal,
        "total_outstanding": "0.00",
        "updated_at": updated_at,
        "cancelled_at": cancelled_at,
        "customer": {"id": customer_id, "email": f"guest-{customer_id}@example.com", "first_name": "Guest"},
        "discount_codes": []
        if applications_only
        else [{"code": c, "amount": "5.00", "type": "fixed_amount"} for c in codes],
        "discount_applications": applications,
        "line_items": [{"id": 1, "product_id": 1, "variant_id": 2, "quantity": 1, "price": subtotal}],
    }


def signed(payload: dict, topic: str, webhook_id: str, *, shop: str = SHOP) -> tuple[bytes, dict]:
    """The body and headers of a delivery signed as Shopify signs it."""
    body = json.dumps(payload).encode()
    digest = b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": digest,
        "Content-Type": "application/json",
    }
    return body, headers


# --- in-process helpers of the integration tier (a Flask test client, the runtime) ---------------


def deliver(client, payload: dict, topic: str = "orders/paid") -> None:
    """A signed delivery to the app; it answers 200."""
    body, headers = signed(payload, topic, f"wh-{unique()}")
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200


def redeem(client, member_id: str, reward_id: str = FIVE_OFF, **body):
    """POST a redemption of ``reward_id`` for the member."""
    return client.post(
        f"{API}/program-memberships/{member_id}/redemptions", json={"reward_id": reward_id, **body}, headers=KEY
    )


def redemption(client, redemption_id: str) -> dict:
    """GET one redemption."""
    answer = client.get(f"{API}/redemptions/{redemption_id}", headers=KEY)
    assert answer.status_code == 200, answer.json
    return answer.json["redemption"]


def points(rt, member_id: str) -> tuple[int, int]:
    """The member's spendable and held points."""
    with rt.db.reader() as session:
        member = session.get(Member, member_id)
        return member.points, member.held_points


def run_scheduled_now(rt, job_id: str) -> None:
    """Move a job RQ scheduled for later (a retry, a debounced write) onto its queue now."""
    registry = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection)
    job = Job.fetch(job_id, connection=rt.dispatcher.connection)
    registry.remove(job)
    rt.dispatcher.queue("integrations").enqueue_job(job)
