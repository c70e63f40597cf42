"""Receiving a webhook delivery: identify the merchant, verify, store durably, enqueue after commit.

One service for every provider; what differs (how the merchant is found and
how the signature is checked) is a small ``Provider`` entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from integrations.shopify import signature as shopify_signature
from integrations.toast import signature as toast_signature
from models import Delivery, Merchant
from services import logs, metrics
from services.errors import Unauthorized, Unavailable
from services.inbox.store import delivery_key, store
from services.merchants import lookup as merchant_lookup
from services.runtime import Job, QueueUnavailable, Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """A delivery as the HTTP edge read it."""

    provider: str
    merchant_ref: str | None  # shop domain, restaurant GUID
    topic: str
    delivery_id: str | None
    signature: str | None
    body: bytes
    event_id: str | None = None
    triggered_at: datetime | None = None
    headers: dict = field(default_factory=dict)
    # Set by an edge that already parsed the body: its JSON error (None when valid)
    # and, for Toast, the envelope timestamp the signature covers.
    parsed: bool = False
    json_error: str | None = None
    signed_timestamp: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What the edge answers: the stored delivery and whether it was a repeat."""

    delivery_pk: int
    duplicate: bool
    status: str


@dataclass(frozen=True)
class Provider:
    """How a provider's merchant is found and its signature checked."""

    find_merchant: Callable[[Session, str], Merchant | None]
    verify: Callable[[merchant_lookup.MerchantCard, Inbound], bool]


def webhook_secrets(block: dict | None) -> list[str]:
    """A channel's webhook secrets: one, or several while a secret rotates (merchants.md)."""
    value = (block or {}).get("webhook_secret") or []
    return [value] if isinstance(value, str) else list(value)


def _shopify_verify(merchant: merchant_lookup.MerchantCard, inbound: Inbound) -> bool:
    secrets = webhook_secrets(merchant.shopify)
    return _any_of([shopify_signature.verify(inbound.body, secret, inbound.signature) for secret in secrets])


def _toast_verify(merchant: merchant_lookup.MerchantCard, inbound: Inbound) -> bool:
    timestamp = inbound.signed_timestamp if inbound.parsed else toast_signature.envelope_timestamp(inbound.body)
    secrets = webhook_secrets(merchant.toast)
    return _any_of([toast_signature.verify(inbound.body, timestamp, secret, inbound.signature) for secret in secrets])


def _any_of(results: list[bool]) -> bool:
    # Every secret was tried (a list, not a generator any() stops early): the time taken never says which matched.
    return True in results


PROVIDERS: dict[str, Provider] = {
    "shopify": Provider(merchant_lookup.by_shop_domain, _shopify_verify),
    "toast": Provider(merchant_lookup.by_restaurant_guid, _toast_verify),
}


def receive(rt: Runtime, inbound: Inbound) -> Receipt:
    """Verify and durably store ``inbound``, then enqueue its processing.

    Raises ``Unauthorized`` (unknown merchant, bad signature: nothing stored)
    and ``Unavailable`` (database or queue down: the sender must retry).
    A body that is not JSON is stored as ``failed`` and acknowledged.
    Each call is counted by outcome and timed (``services.metrics``).
    """
    started, outcome = time.perf_counter(), "error"
    try:
        receipt = _receive(rt, inbound)
        outcome = "duplicate" if receipt.duplicate else ("unusable" if receipt.status == "failed" else "accepted")
        return receipt
    except (Unauthorized, Unavailable) as exc:
        outcome = "unauthorized" if isinstance(exc, Unauthorized) else "unavailable"
        raise
    finally:
        metrics.delivery_received(inbound.provider, _topic_label(rt, inbound), outcome)
        metrics.ingest_seconds(inbound.provider, time.perf_counter() - started)


def _topic_label(rt: Runtime, inbound: Inbound) -> str:
    """The topic as a metric label: a topic the wiring handles, else ``other`` (senders choose the text)."""
    route = rt.topics.get(inbound.provider)
    return inbound.topic if route is not None and inbound.topic and route(inbound.topic) is not None else "other"


def _receive(rt: Runtime, inbound: Inbound) -> Receipt:
    try:
        receipt, dispatch = _store(rt, inbound)
    except (OperationalError, InterfaceError) as exc:
        log.warning("database unavailable while receiving a %s delivery: %s", inbound.provider, type(exc).__name__)
        raise Unavailable("The database is unavailable; retry later.", code="DATABASE_UNAVAILABLE") from None
    if dispatch:
        try:
            # A repeat is enqueued only when its job is not live: enqueueing a queued or running
            # job again pushes a second copy, and a retry storm would double the workers' load.
            if not (receipt.duplicate and rt.dispatcher.pending(Job.PROCESS_DELIVERY, receipt.delivery_pk)):
                rt.dispatcher.dispatch(Job.PROCESS_DELIVERY, receipt.delivery_pk)
        except QueueUnavailable:
            # Stored but not queued: the sweeper will enqueue it; 503 makes the sender retry too.
            raise Unavailable("The queue is unavailable; retry later.", code="QUEUE_UNAVAILABLE") from None
    return receipt


def _store(rt: Runtime, inbound: Inbound) -> tuple[Receipt, bool]:
    provider = PROVIDERS[inbound.provider]
    with rt.db.transaction() as session:
        ref = inbound.merchant_ref
        merchant = merchant_lookup.card(session, rt.db.url, provider.find_merchant, ref) if ref else None
        if merchant is None:
            raise Unauthorized("No merchant is configured for this delivery.", code="UNKNOWN_MERCHANT")
        logs.annotate(merchant=merchant.slug)
        if not provider.verify(merchant, inbound):
            raise Unauthorized("The signature does not match the body.", code="INVALID_SIGNATURE")
        error = inbound.json_error if inbound.parsed else _json_error(inbound.body)
        delivery = store(
            session,
            merchant_id=merchant.id,
            provider=inbound.provider,
            topic=inbound.topic,
            delivery_id=dedupe_key(inbound),
            event_id=inbound.event_id,
            triggered_at=inbound.triggered_at,
            received_at=rt.clock(),
            body=inbound.body,
            headers=inbound.headers,
            error=error,
        )
        if delivery is None:
            return _repeat(session, merchant, inbound)
        logs.annotate(delivery_id=delivery.id)
        return Receipt(delivery.id, False, delivery.status), delivery.status == "received"


def _json_error(body: bytes) -> str | None:
    try:
        orjson.loads(body)  # a syntax check several times faster than json's; the worker parses it again
        return None
    except orjson.JSONDecodeError:
        pass  # orjson refuses what json reads (integers past 64 bits, NaN): json has the last word
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: arrays nested too deep
        return f"invalid_json: {exc}"
    return None


def dedupe_key(inbound: Inbound) -> str:
    """The delivery id, or a digest of the body when the sender gave none."""
    if inbound.delivery_id:
        return delivery_key(inbound.delivery_id)
    return "sha256:" + hashlib.sha256(inbound.body).hexdigest()


def _repeat(session: Session, merchant: merchant_lookup.MerchantCard, inbound: Inbound) -> tuple[Receipt, bool]:
    existing = session.execute(
        select(Delivery).where(
            Delivery.merchant_id == merchant.id,
            Delivery.provider == inbound.provider,
            Delivery.delivery_id == dedupe_key(inbound),
        )
    ).scalar_one()
    # A repeat of a delivery that never reached the queue is our chance to enqueue it.
    return Receipt(existing.id, True, existing.status), existing.status == "received"
