"""``POST /webhooks/toast``: Toast's order webhooks."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, request

from services.inbox import ingest
from webhooks import errors

bp = Blueprint("toast_webhooks", __name__)
errors.install(bp)
KEPT = ("Toast-Restaurant-External-ID", "Toast-Attempt-Number", "Toast-Signature-Version")


@bp.post("/webhooks/toast")
def receive():
    """Verify, store and enqueue one delivery; 200 once it is stored (repeats included)."""
    body = request.get_data(cache=False)
    envelope, error = _parse(body)
    details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
    inbound = ingest.Inbound(
        provider="toast",
        merchant_ref=request.headers.get("Toast-Restaurant-External-ID") or _text(details.get("restaurantGuid")),
        topic=_text(envelope.get("eventType")) or "",
        delivery_id=_text(envelope.get("guid")),
        signature=request.headers.get("Toast-Signature"),
        body=body,
        headers={name: value for name in KEPT if (value := request.headers.get(name))},
        parsed=True,
        json_error=error,
        signed_timestamp=_text(envelope.get("timestamp")),
    )
    receipt = ingest.receive(current_app.extensions["punchcard.runtime"], inbound)
    return {"status": "duplicate" if receipt.duplicate else "accepted", "delivery_status": receipt.status}, 200


def _parse(body: bytes) -> tuple[dict, str | None]:
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        return {}, f"invalid_json: {exc}"
    return (envelope, None) if isinstance(envelope, dict) else ({}, "invalid_payload: not a JSON object")


def _text(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None
