"""``POST /webhooks/shopify``: Shopify's webhook deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, request

from services.inbox import ingest
from webhooks import errors

bp = Blueprint("shopify_webhooks", __name__)
errors.install(bp)
# Kept with the delivery for ordering, staleness and support.
KEPT = ("Topic", "Shop-Domain", "Webhook-Id", "Event-Id", "Triggered-At", "API-Version")


def header(name: str) -> str | None:
    """A Shopify header by its suffix, classic ``X-Shopify-*`` or newer unprefixed ``shopify-*``."""
    return request.headers.get(f"X-Shopify-{name}") or request.headers.get(f"Shopify-{name}")


@bp.post("/webhooks/shopify")
def receive():
    """Verify, store and enqueue one delivery; 200 once it is stored (repeats included)."""
    inbound = ingest.Inbound(
        provider="shopify",
        merchant_ref=header("Shop-Domain"),
        topic=header("Topic") or "",
        delivery_id=header("Webhook-Id"),
        signature=header("Hmac-Sha256"),
        body=request.get_data(cache=False),
        event_id=header("Event-Id"),
        triggered_at=_instant(header("Triggered-At")),
        headers={name: value for name in KEPT if (value := header(name))},
    )
    receipt = ingest.receive(current_app.extensions["punchcard.runtime"], inbound)
    return {"status": "duplicate" if receipt.duplicate else "accepted", "delivery_status": receipt.status}, 200


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC, as it is stored: 9999-12-31T23:59-05:00 parses but is past the end of datetime there.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None  # only an ordering hint: a bad value must not refuse the delivery
