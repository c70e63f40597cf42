"""What every provider merchant's tests send (Shopify and Toast webhooks, the POS) and read back (postings, members).

Each ``<provider>_support`` module binds one :class:`Channels` to its merchant's shop, restaurant and secrets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from factories import encode, shopify_headers
from models import Delivery, Member, ProviderPosting
from toast_contract import validate_response
from toast_factories import toast_body, toast_envelope, toast_headers


@dataclass(frozen=True)
class Channels:
    """A merchant's Shopify shop and Toast restaurant, as its tests reach them through the app."""

    shop: str
    shopify_secret: str
    restaurant: str
    toast_secret: str
    pos_key: str

    def deliver_shopify(self, client, topic: str, payload: dict, webhook_id: str | None = None):
        """A signed Shopify webhook, stored (200)."""
        body = encode(payload)
        headers = shopify_headers(
            body, topic, webhook_id or str(uuid.uuid4()), secret=self.shopify_secret, shop=self.shop
        )
        response = client.post("/webhooks/shopify", data=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response

    def deliver_toast(self, client, order: dict) -> None:
        """A signed Toast order webhook, stored (200)."""
        body = toast_body(toast_envelope(order, self.restaurant))
        headers = toast_headers(body, secret=self.toast_secret, restaurant_guid=self.restaurant)
        assert client.post("/webhooks/toast", data=body, headers=headers).status_code == 200

    def pos_headers(self, kind: str, guid: str | None = None) -> dict:
        """The headers of a Toast Loyalty Integration call of ``kind``."""
        return {
            "Authorization": self.pos_key,
            "Toast-Restaurant-External-ID": self.restaurant,
            "Toast-Transaction-Type": kind,
            "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
            "Content-Type": "application/json",
        }

    def pos(self, client, kind: str, body: dict, *, guid: str | None = None):
        """A Toast POS call; its answer is checked against Toast's published schema."""
        data = toast_body({"toastTransactionType": kind, **body})
        response = client.post("/webhooks/toast/loyalty", data=data, headers=self.pos_headers(kind, guid))
        validate_response(response.get_json())
        return response


def check_info(member_id: str | None, check: dict, redemptions: list | None = None) -> dict:
    """A POS check transaction's body."""
    return {
        "checkTransactionInformation": {
            "loyaltyIdentifier": member_id,
            "orderGuid": str(uuid.uuid4()),
            "check": check,
            "redemptions": redemptions or [],
        }
    }


def postings(rt) -> list[ProviderPosting]:
    """Every provider posting, oldest first."""
    with rt.db.reader() as s:
        return s.execute(select(ProviderPosting).order_by(ProviderPosting.id)).scalars().all()


def deliveries(rt) -> list[Delivery]:
    """Every stored delivery, oldest first."""
    with rt.db.reader() as s:
        return s.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


def the_member(rt) -> Member:
    """The one member of the test."""
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()
