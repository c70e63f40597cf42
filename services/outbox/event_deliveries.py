"""Delivering events to the merchant's endpoints: one attempt per job, on the Standard Webhooks retry schedule.

An attempt claims its delivery with a lease (so a killed worker's attempt is
made again, and the receiver dedupes on ``webhook-id``), signs the body with
every secret the endpoint lists, and posts it with a 15 s timeout. Any 2xx
is delivered. Otherwise the next attempt comes after 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h; after the eighth the delivery is ``failed``. An endpoint
whose deliveries have all failed for 5 days is disabled (a sync re-enables
it). In production an endpoint whose host resolves to a loopback or private
address is refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from integrations.webhooks_out import sender
from models import Event, EventDelivery, EventEndpoint, Merchant
from services import metrics
from services.runtime import Job, QueueUnavailable, Runtime

log = logging.getLogger(__name__)
WAITS = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds after attempts 1..7 fail; the 8th is the last
DISABLE_AFTER = timedelta(days=5)
LEASE = timedelta(seconds=60)  # longer than an attempt's 15 s


@dataclass(frozen=True)
class Claimed:
    """An attempt about to be made: the delivery, its event's body, where it goes and the secrets to sign with."""

    delivery_id: int
    attempts: int
    public_id: str
    body: str
    url: str
    secrets: list[str]


def deliver(rt: Runtime, delivery_id: int) -> str:
    """Make one attempt of a due delivery; returns its status afterwards (``skipped``: not due or not ours)."""
    claimed = _claim(rt, delivery_id)
    if claimed is None:
        return "skipped"
    if isinstance(claimed, str):
        return claimed
    refused = sender.private_address(claimed.url) if rt.production else None
    if refused is not None:
        metrics.outbound_webhook_attempt("refused")
        return _finish(
            rt, claimed, None, f"refused: the endpoint resolves to the private address {refused}", final=True
        )
    signed = sender.headers(
        event_id=claimed.public_id, timestamp=datetime.now(UTC), body=claimed.body, secrets=claimed.secrets
    )
    attempt = sender.post(rt.http, claimed.url, claimed.body, signed)
    metrics.outbound_webhook_attempt(attempt.outcome)
    return _finish(rt, claimed, attempt.status, attempt.error)


def _claim(rt: Runtime, delivery_id: int) -> Claimed | str | None:
    now = rt.clock()
    with rt.db.transaction() as session:
        delivery = session.get(EventDelivery, delivery_id, with_for_update=True)
        if delivery is None or not _due(delivery, now):
            return None
        endpoint = session.get(EventEndpoint, delivery.endpoint_id)
        configured = _configured(session.get(Merchant, delivery.merchant_id), endpoint.url)
        if configured is None:
            delivery.status, delivery.error = "failed", "the endpoint is no longer in the merchants file"
            return delivery.status
        if endpoint.disabled_at is not None:
            return None  # left pending: a sync re-enables the endpoint and the sweeper resumes it
        event = session.get(Event, delivery.event_id)
        delivery.status, delivery.lease_until, delivery.attempts = "sending", now + LEASE, delivery.attempts + 1
        return Claimed(
            delivery.id,
            delivery.attempts,
            event.public_id,
            body(event),
            endpoint.url,
            list(configured.get("secret") or []),
        )


def body(event: Event) -> str:
    """The delivery's body: ``{"type", "timestamp", "data"}``, exactly the bytes that are signed."""
    timestamp = event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event.type, "timestamp": timestamp, "data": event.data}, separators=(",", ":"))


def _due(delivery: EventDelivery, now: datetime) -> bool:
    if delivery.status == "sending":
        return delivery.lease_until is not None and delivery.lease_until <= now  # its worker died
    return delivery.status == "pending" and (delivery.next_attempt_at is None or delivery.next_attempt_at <= now)


def _configured(merchant: Merchant | None, url: str) -> dict | None:
    return next((e for e in (merchant.webhooks_out or []) if e["url"] == url), None) if merchant else None


def _finish(rt: Runtime, claimed: Claimed, status: int | None, error: str | None, *, final: bool = False) -> str:
    now = rt.clock()
    with rt.db.transaction() as session:
        delivery = session.get(EventDelivery, claimed.delivery_id, with_for_update=True)
        endpoint = session.get(EventEndpoint, delivery.endpoint_id, with_for_update=True)
        delivery.last_status, delivery.lease_until = status, None
        if error is None:
            delivery.status, delivery.delivered_at, delivery.error = "delivered", now, None
            endpoint.failing_since = None
            return delivery.status
        delivery.error = error[:1000]
        last = final or claimed.attempts > len(WAITS)
        delivery.status = "failed" if last else "pending"
        delivery.next_attempt_at = None if last else now + timedelta(seconds=WAITS[claimed.attempts - 1])
        _failing(endpoint, now)
        wait = None if last else WAITS[claimed.attempts - 1]
    if wait is not None:
        _schedule(rt, claimed.delivery_id, wait)
    return delivery.status


def _failing(endpoint: EventEndpoint, now: datetime) -> None:
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.disabled_at is None and now - endpoint.failing_since >= DISABLE_AFTER:
        endpoint.disabled_at = now
        log.warning(
            "events endpoint %s of merchant %s disabled: every delivery failed for 5 days; a sync re-enables it",
            endpoint.id,
            endpoint.merchant_id,
        )


def _schedule(rt: Runtime, delivery_id: int, wait: int) -> None:
    try:
        rt.dispatcher.dispatch_in(wait, Job.DELIVER_EVENT, delivery_id)
    except QueueUnavailable:
        log.warning("queue unavailable: event delivery %s waits for the scheduled sweep", delivery_id)


def deliver_due(rt: Runtime, limit: int = 1000) -> int:
    """Queue the deliveries due now (a retry whose time came, a worker that died mid-attempt); scheduled."""
    now = rt.clock()
    with rt.db.reader() as session:
        due = (
            session.execute(
                select(EventDelivery.id)
                .where(
                    or_(
                        (EventDelivery.status == "pending") & (EventDelivery.next_attempt_at <= now),
                        (EventDelivery.status == "sending") & (EventDelivery.lease_until <= now),
                    )
                )
                .order_by(EventDelivery.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    queued = 0
    for delivery_id in due:
        try:
            if not rt.dispatcher.pending(Job.DELIVER_EVENT, delivery_id):
                rt.dispatcher.dispatch(Job.DELIVER_EVENT, delivery_id)
                queued += 1
        except QueueUnavailable:
            break
    return queued
