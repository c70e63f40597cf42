"""``make demo``: a signed Shopify order and a signed Toast check sent to a running server, then the members.

Start the server first (``make run``), then ``make demo`` in another terminal. The demo:

1. sends the README's Shopify order (``orders/paid``) to ``/webhooks/shopify``, signed with the
   merchant's webhook secret as Shopify signs it;
2. sends a Toast ``order_updated`` webhook with one paid check to ``/webhooks/toast``, signed as
   Toast signs it;
3. waits until the worker has settled both (it polls the partner API for the members and for the
   ledger entries that reference the order and the check);
4. prints each member with its tier and balances.

The base URL is ``PUBLIC_BASE_URL``, else ``http://localhost:$PORT`` (port 5000 by default). The
secrets are read from the same variables, with the same defaults, as ``config/merchants.example.yaml``.
The order, the check and the guests are the same on every run, so a second run changes no balance:
each order earns once.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

import requests

from integrations.shopify.signature import sign as shopify_sign
from integrations.toast.signature import sign as toast_sign

SHOP_DOMAIN = "demo-cafe.myshopify.com"
RESTAURANT_GUID = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
SHOPIFY_ORDER_ID = 820982911946154508
TOAST_ORDER_GUID = "5f0b8a8e-6a43-4d9b-9a7c-3e2f1d0c9b8a"
TOAST_CHECK_GUID = "b7e4c2a1-9d3f-4e58-8a6b-2c1d0e9f8a7b"
TIMEOUT = 30.0  # seconds to wait for the worker


def settings(env=os.environ) -> dict:
    """Where the server is and the demo merchant's secrets (the example config's variables and defaults)."""
    base = env.get("PUBLIC_BASE_URL") or f"http://localhost:{env.get('PORT') or '5000'}"
    return {
        "base_url": base.rstrip("/"),
        "shopify_secret": env.get("DEMO_CAFE_SHOPIFY_SECRET") or "dev-shopify-secret",
        "toast_secret": env.get("DEMO_CAFE_TOAST_WEBHOOK_SECRET") or "dev-toast-secret",
        "api_key": env.get("DEMO_CAFE_API_KEY") or "demo-cafe-dev-key",
    }


# --- what is sent -------------------------------------------------------------------------------


def shopify_order() -> dict:
    """The README's order: 42.50 of subtotal for Jon, who has a wallet address."""
    return {
        "id": SHOPIFY_ORDER_ID,
        "email": "jon@example.com",
        "financial_status": "paid",
        "subtotal_price": "42.50",
        "total_price": "50.90",
        "total_tax": "3.40",
        "currency": "USD",
        "updated_at": "2026-06-01T10:00:00-04:00",
        "customer": {
            "id": 115310627314723954,
            "email": "jon@example.com",
            "phone": "+14155550134",
            "first_name": "Jon",
            "last_name": "Snow",
        },
        "note_attributes": [{"name": "wallet_address", "value": "0x52908400098527886E0F7030069857D2E4169EE7"}],
    }


def toast_envelope() -> dict:
    """An ``order_updated`` webhook: one paid check for Arya, a cold brew and a bagel (8.50 earns)."""
    selections = [
        {
            "guid": "c0ffee00-0000-4000-8000-000000000001",
            "entityType": "MenuItemSelection",
            "displayName": "Cold Brew",
            "quantity": 1,
            "price": 5.00,
            "voided": False,
            "deferred": False,
            "item": {"guid": "c0ffee00-0000-4000-8000-0000000000a1", "multiLocationId": "100000000437569098"},
            "itemGroup": {"guid": "c0ffee00-0000-4000-8000-0000000000b1", "multiLocationId": "100000000171239911"},
        },
        {
            "guid": "c0ffee00-0000-4000-8000-000000000002",
            "entityType": "MenuItemSelection",
            "displayName": "Bagel",
            "quantity": 1,
            "price": 3.50,
            "voided": False,
            "deferred": False,
            "item": {"guid": "c0ffee00-0000-4000-8000-0000000000a2", "multiLocationId": "100000000999000001"},
            "itemGroup": {"guid": "c0ffee00-0000-4000-8000-0000000000b2", "multiLocationId": "100000000171230000"},
        },
    ]
    check = {
        "guid": TOAST_CHECK_GUID,
        "entityType": "Check",
        "paymentStatus": "PAID",
        "voided": False,
        "deleted": False,
        "modifiedDate": "2026-06-01T16:30:00.000+0000",
        "selections": selections,
        "customer": {"email": "arya@example.com", "phone": "2125550162", "firstName": "Arya", "lastName": "Stark"},
        "taxAmount": 0.68,
        "totalAmount": 9.18,
    }
    order = {
        "guid": TOAST_ORDER_GUID,
        "entityType": "Order",
        "voided": False,
        "deleted": False,
        "modifiedDate": "2026-06-01T16:30:00.000+0000",
        "checks": [check],
    }
    return {
        "timestamp": "2026-06-01T16:30:01.000+0000",
        "eventCategory": "orders",
        "eventType": "order_updated",
        "guid": str(uuid.uuid4()),
        "details": {"restaurantGuid": RESTAURANT_GUID, "order": order},
    }


def send_shopify(cfg: dict) -> requests.Response:
    """POST the order as Shopify does: the HMAC of the exact bytes sent, a new webhook id each time."""
    body = json.dumps(shopify_order()).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": shopify_sign(body, cfg["shopify_secret"]),
    }
    return requests.post(f"{cfg['base_url']}/webhooks/shopify", data=body, headers=headers, timeout=10)


def send_toast(cfg: dict) -> requests.Response:
    """POST the webhook as Toast does: the HMAC of the body followed by the envelope's timestamp."""
    envelope = toast_envelope()
    body = json.dumps(envelope).encode()
    headers = {
        "Content-Type": "application/json",
        "Toast-Restaurant-External-ID": RESTAURANT_GUID,
        "Toast-Signature": toast_sign(body, envelope["timestamp"], cfg["toast_secret"]),
    }
    return requests.post(f"{cfg['base_url']}/webhooks/toast", data=body, headers=headers, timeout=10)


# --- what is read back --------------------------------------------------------------------------


class Partner:
    """The few partner API calls the demo reads with."""

    def __init__(self, cfg: dict) -> None:
        self.base = f"{cfg['base_url']}/partner-api/v2"
        self.headers = {"X-API-Key": cfg["api_key"]}

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.base}{path}", params=params, headers=self.headers, timeout=10)

    def member(self, email: str) -> dict | None:
        response = self.get("/program-memberships/search", email=email)
        return response.json()["membership"] if response.status_code == 200 else None

    def entries(self, member_id: str, reference: str) -> list[dict]:
        """The member's ledger entries that reference an order (one page of 200 is plenty for a demo)."""
        rows = self.get(f"/program-memberships/{member_id}/transactions", limit=200).json()["transactions"]
        return [row for row in rows if row["reference"] == reference]

    def level(self, member_id: str) -> dict:
        return self.get(f"/program-memberships/{member_id}/level").json()


GUESTS = (
    ("jon@example.com", f"shopify:order:{SHOPIFY_ORDER_ID}"),
    ("arya@example.com", f"toast:check:{TOAST_CHECK_GUID}"),
)


def settled(partner: Partner) -> list[tuple[dict, list[dict]]] | None:
    """Each guest's member and the entries its order posted, once the worker has posted them; else None."""
    found = []
    for email, reference in GUESTS:
        member = partner.member(email)
        entries = partner.entries(member["id"], reference) if member else []
        if not entries:
            return None
        found.append((member, entries))
    return found


def wait_until_settled(partner: Partner, timeout: float = TIMEOUT) -> list[tuple[dict, list[dict]]] | None:
    deadline = time.monotonic() + timeout
    while True:
        found = settled(partner)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def describe(partner: Partner, member: dict, entries: list[dict]) -> list[str]:
    """Lines about one member: who, tier, balances, and what its order posted."""
    level = partner.level(member["id"])
    name = " ".join(filter(None, (member["first_name"], member["last_name"])))
    upcoming = level["next_tier"]
    lines = [
        f"{name} <{member['email']}>  {member['id']}",
        f"  tier {level['tier']}: {level['spendable_balance']} points to spend, {member['pending_points']} pending, "
        f"{level['balance']} earned in all"
        + (f"; {upcoming['name']} in {upcoming['points_needed']} more" if upcoming else ""),
    ]
    lines += [f"  {entry['reference']}: {entry['type']} {entry['points']:+d}" for entry in entries]
    return lines


def main() -> int:
    cfg = settings()
    print(f"Punchcard demo against {cfg['base_url']}")
    try:
        answers = [
            (f"Shopify orders/paid, order {SHOPIFY_ORDER_ID}", send_shopify(cfg)),
            (f"Toast order_updated, check {TOAST_CHECK_GUID}", send_toast(cfg)),
        ]
    except requests.ConnectionError:
        print(
            f"No server answers at {cfg['base_url']}: start it with `make run`, or set PUBLIC_BASE_URL.",
            file=sys.stderr,
        )
        return 1
    for what, response in answers:
        print(f"sent {what}: HTTP {response.status_code} {response.text.strip()}")
    if any(response.status_code != 200 for _, response in answers):
        print(
            "A delivery was refused: are the webhook secrets the server's (DEMO_CAFE_SHOPIFY_SECRET, "
            "DEMO_CAFE_TOAST_WEBHOOK_SECRET)?",
            file=sys.stderr,
        )
        return 1
    partner = Partner(cfg)
    if partner.get("/program-tiers").status_code != 200:
        print("The partner API refused the key: is DEMO_CAFE_API_KEY the server's?", file=sys.stderr)
        return 1
    print("waiting for the worker to settle them ...")
    found = wait_until_settled(partner)
    if found is None:
        print(f"Not settled within {TIMEOUT:.0f} s: the deliveries are stored; is the worker running?", file=sys.stderr)
        return 1
    print()
    for member, entries in found:
        print("\n".join(describe(partner, member, entries)))
    print("\nRunning the demo again sends the same order and check: no balance changes, each order earns once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
