"""Reconciliation: poll Toast's ordersBulk for orders the webhooks missed and queue them like webhooks.

Toast retries a webhook only twice (at +5 and +10 minutes), so a longer outage
loses orders unless someone asks. Every merchant with ``toast.api`` is polled
over a trailing window; an order whose checks are all settled at that
modification time already is skipped, the others are stored as deliveries
(deduplicated on order guid and modification time) and processed by the same
worker path as a webhook.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from integrations.toast import orders as payloads
from integrations.toast.client import ToastApiError, iter_orders_bulk
from models import Delivery, Merchant, OrderAccount
from services.runtime import QueueUnavailable, Runtime

log = logging.getLogger(__name__)
WINDOW = timedelta(hours=1)
SETTLING = timedelta(minutes=1)  # orders this fresh are still on their way as webhooks


def reconcile(rt: Runtime, *, window: timedelta = WINDOW) -> int:
    """Poll every Toast merchant with API access; returns how many missed orders were queued."""
    end = rt.clock() - SETTLING
    with rt.db.reader() as session:
        merchants = [m for m in session.execute(select(Merchant).where(Merchant.active)).scalars()
                     if (m.toast or {}).get("api")]
    queued = []
    for merchant in merchants:
        for restaurant in merchant.toast.get("restaurant_guids", []):
            try:
                queued += _poll(rt, merchant, restaurant, end - window, end)
            except ToastApiError as exc:
                log.warning("reconciliation of %s/%s failed: %s", merchant.slug, restaurant, exc.reason)
    for pk in queued:
        try:
            rt.dispatcher.dispatch("process_delivery", pk)
        except QueueUnavailable:
            break  # stored: the sweeper enqueues them
    return len(queued)


def _poll(rt: Runtime, merchant: Merchant, restaurant: str, start: datetime, end: datetime) -> list[int]:
    client = rt.toast_api(merchant.toast["api"])
    stored = []
    for order in iter_orders_bulk(client, restaurant_guid=restaurant, start=start, end=end):
        with rt.db.transaction() as session:
            if _settled(session, merchant.id, order):
                continue
            pk = _store(session, merchant, restaurant, order, rt.clock())
        if pk is not None:
            stored.append(pk)
    if stored:
        log.info("reconciliation found %d missed Toast orders for %s/%s", len(stored), merchant.slug, restaurant)
    return stored


def _settled(session, merchant_id: int, order: dict) -> bool:
    """True when every check of ``order`` is already settled at (or after) this state."""
    try:
        states = payloads.parse_order(order, region=None, fallback_time=datetime.min)
    except payloads.PayloadError:
        return False
    for state in states:
        seen = session.execute(select(OrderAccount.last_modified_at).where(
            OrderAccount.merchant_id == merchant_id, OrderAccount.order_key == state.key)).scalar_one_or_none()
        if seen is None or seen < state.modified_at:
            return False
    return True


def _store(session, merchant: Merchant, restaurant: str, order: dict, now: datetime) -> int | None:
    key = f"poll:{order.get('guid')}:{order.get('modifiedDate')}"[:128]
    envelope = {"eventType": "order_updated", "guid": key, "timestamp": None,
                "details": {"restaurantGuid": restaurant, "order": order}}
    delivery = Delivery(merchant_id=merchant.id, provider="toast", topic="order_updated", delivery_id=key,
                        received_at=now, body=json.dumps(envelope, default=str).encode(),
                        headers={"source": "reconciliation"}, status="received")
    try:
        with session.begin_nested():
            session.add(delivery)
            session.flush()
    except IntegrityError:
        return None  # this state was polled before
    return delivery.id
