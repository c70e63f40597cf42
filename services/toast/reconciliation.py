"""Reconciliation: poll Toast's ordersBulk for orders the webhooks missed and queue them like webhooks.

Toast retries a webhook only twice (at +5 and +10 minutes), so a longer outage
loses orders unless someone asks. Every active restaurant of a merchant with
``toast.api`` keeps a watermark (``toast_restaurants.polled_until``): every
order modified before it has been polled. A poll covers everything since the
watermark (toast-loyalty.md), at most ``MAX_LOOKBACK`` back; a restaurant's
first poll covers ``FIRST_WINDOW``. The span is requested in windows of at
most ``CHUNK``, each read page by page, and the watermark moves to the end of
each window read in full, so a failure (Toast 5xx or 429, a timeout, bad
credentials) keeps it where the last complete window ended and the next run
covers the rest. An order whose checks are all settled at that modification
time already is skipped; the others are stored as deliveries (deduplicated on
order guid and modification time) and processed by the same worker path as a
webhook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from integrations.toast import orders as payloads
from integrations.toast.client import ToastApiError, iter_orders_bulk
from models import Merchant, OrderAccount, ToastRestaurant
from services.inbox.store import delivery_key, store
from services.runtime import Job, QueueUnavailable, Runtime

log = logging.getLogger(__name__)
FIRST_WINDOW = timedelta(hours=1)  # a restaurant's first poll: orders before we watched are not ours to earn
MAX_LOOKBACK = timedelta(days=7)  # toast-loyalty.md
# ordersBulk documents no limit on the span (the deprecated /orders allowed an hour); an hour
# per request keeps each answer to a few pages and lets the watermark advance hour by hour.
CHUNK = timedelta(hours=1)
SETTLING = timedelta(minutes=1)  # orders this fresh are still on their way as webhooks


def reconcile(rt: Runtime, *, first_window: timedelta = FIRST_WINDOW) -> int:
    """Poll every active Toast restaurant of a merchant with API access; returns how many missed orders were queued."""
    end = rt.clock() - SETTLING
    queued: list[int] = []
    for merchant, restaurant, watermark in _restaurants(rt):
        start = _start(merchant.slug, restaurant, watermark, end, first_window)
        try:
            _poll(rt, merchant, restaurant, start, end, queued)
        except ToastApiError as exc:
            log.warning("reconciliation of %s/%s stopped at its watermark: %s", merchant.slug, restaurant, exc.code)
    for pk in queued:
        try:
            rt.dispatcher.dispatch(Job.PROCESS_DELIVERY, pk)
        except QueueUnavailable:
            break  # stored: the sweeper enqueues them
    return len(queued)


def _restaurants(rt: Runtime) -> list[tuple[Merchant, str, datetime | None]]:
    """(merchant, restaurant GUID, watermark) of every active restaurant whose merchant has ``toast.api``."""
    query = (
        select(Merchant, ToastRestaurant.guid, ToastRestaurant.polled_until)
        .join(ToastRestaurant, ToastRestaurant.merchant_id == Merchant.id)
        .where(Merchant.active, ToastRestaurant.active)
        .order_by(Merchant.id, ToastRestaurant.guid)
    )
    with rt.db.reader() as session:
        return [(m, guid, mark) for m, guid, mark in session.execute(query) if (m.toast or {}).get("api")]


def _start(slug: str, restaurant: str, watermark: datetime | None, end: datetime, first_window: timedelta) -> datetime:
    if watermark is None:
        return end - first_window
    if watermark < end - MAX_LOOKBACK:
        log.warning(
            "reconciliation of %s/%s: last polled %s, more than %s ago; orders before %s are not polled",
            slug,
            restaurant,
            watermark.isoformat(),
            MAX_LOOKBACK,
            (end - MAX_LOOKBACK).isoformat(),
        )
        return end - MAX_LOOKBACK
    return watermark


def _windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive windows of at most ``CHUNK``."""
    while start < end:
        yield start, min(start + CHUNK, end)
        start += CHUNK


def _poll(rt: Runtime, merchant: Merchant, restaurant: str, start: datetime, end: datetime, queued: list[int]) -> None:
    """Store the missed orders of ``[start, end)`` into ``queued``, advancing the watermark window by window."""
    client = rt.toast_api(merchant.toast["api"])
    found = len(queued)
    try:
        for window_start, window_end in _windows(start, end):
            for order in iter_orders_bulk(client, restaurant_guid=restaurant, start=window_start, end=window_end):
                pk = _store_unless_settled(rt, merchant, restaurant, order)
                if pk is not None:
                    queued.append(pk)
            _advance(rt, merchant.id, restaurant, window_end)
    finally:
        if len(queued) > found:
            log.info(
                "reconciliation found %d missed Toast orders for %s/%s", len(queued) - found, merchant.slug, restaurant
            )


def _store_unless_settled(rt: Runtime, merchant: Merchant, restaurant: str, order: dict) -> int | None:
    with rt.db.transaction() as session:
        if _settled(session, merchant.id, order):
            return None
        return _store(session, merchant, restaurant, order, rt.clock())


def _advance(rt: Runtime, merchant_id: int, restaurant: str, until: datetime) -> None:
    """Move the watermark forward to ``until``, never back (two polls may overlap), and only for its owner."""
    with rt.db.transaction() as session:
        session.execute(
            update(ToastRestaurant)
            .where(
                ToastRestaurant.guid == restaurant,
                ToastRestaurant.merchant_id == merchant_id,
                or_(ToastRestaurant.polled_until.is_(None), ToastRestaurant.polled_until < until),
            )
            .values(polled_until=until)
        )


def _settled(session, merchant_id: int, order: dict) -> bool:
    """True when every check of ``order`` is already settled at (or after) this state."""
    try:
        states = payloads.parse_order(order, region=None, fallback_time=datetime.min)
    except payloads.PayloadError:
        return False
    for state in states:
        seen = session.execute(
            select(OrderAccount.last_modified_at).where(
                OrderAccount.merchant_id == merchant_id, OrderAccount.order_key == state.key
            )
        ).scalar_one_or_none()
        if seen is None or seen < state.modified_at:
            return False
    return True


def _store(session, merchant: Merchant, restaurant: str, order: dict, now: datetime) -> int | None:
    key = delivery_key(f"poll:{order.get('guid')}:{order.get('modifiedDate')}")
    envelope = {
        "eventType": "order_updated",
        "guid": key,
        "timestamp": None,
        "details": {"restaurantGuid": restaurant, "order": order},
    }
    delivery = store(
        session,
        merchant_id=merchant.id,
        provider="toast",
        topic="order_updated",
        delivery_id=key,
        received_at=now,
        body=json.dumps(envelope, default=str).encode(),
        headers={"source": "reconciliation"},
    )
    return delivery.id if delivery is not None else None  # None: this state was polled before
