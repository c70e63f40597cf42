"""Storing a delivery: the one function every way in uses (webhooks, the POS's ACCRUE, the reconciliation poll).

A delivery is stored once per (merchant, provider, delivery id): the
database's unique key decides, with ``INSERT … ON CONFLICT DO NOTHING``, so a
repeat stores nothing and says so.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from models import Delivery, insert_unless_exists

DEDUPE_KEY = ("merchant_id", "provider", "delivery_id")  # the deliveries table's unique key
ID_WIDTH = 128  # deliveries.delivery_id


def delivery_key(raw: str) -> str:
    """A sender's delivery id as the key column holds it: as sent, or, when wider, a digest of all of it.

    Cutting it would make two ids that share their first 128 characters one
    delivery, and the second would be lost as a "duplicate".
    """
    raw = raw.replace("\x00", "")
    if len(raw) <= ID_WIDTH:
        return raw
    return "id-sha256:" + hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def store(
    session,
    *,
    merchant_id: int,
    provider: str,
    topic: str,
    delivery_id: str,
    body: bytes,
    received_at: datetime,
    headers: dict | None = None,
    event_id: str | None = None,
    triggered_at: datetime | None = None,
    error: str | None = None,
) -> Delivery | None:
    """Store a delivery ``received`` (``failed`` with ``error`` when it can never be processed).

    Returns the new row, or None when this delivery id was stored before
    (nothing is written then). ``delivery_id`` is used as given: build it with
    :func:`delivery_key` when a sender chose it.
    """
    return insert_unless_exists(
        session,
        Delivery,
        dict(
            merchant_id=merchant_id,
            provider=provider,
            topic=_fit(topic, 64),
            delivery_id=delivery_id,
            event_id=_fit(event_id, 128),
            triggered_at=triggered_at,
            received_at=received_at,
            body=body,
            headers=headers or {},
            status="failed" if error else "received",
            error=error,
        ),
        DEDUPE_KEY,
    )


def _fit(text: str | None, width: int) -> str | None:
    """Sender-chosen text as its column takes it: cut to ``width``, without the NULs PostgreSQL refuses."""
    return None if text is None else text.replace("\x00", "")[:width]
