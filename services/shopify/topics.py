"""What each Shopify topic does once its delivery reaches the worker."""

from __future__ import annotations

import logging

from integrations.shopify import orders as payloads
from loyalty.identity import region_for_currency
from models import Member
from services.inbox.processing import Context, Outcome
from services.members import announce, fill_identity, find_member, privacy
from services.settlement.accounts import apply_refund, settle
from services.shopify.code_orders import apply_codes
from services.shopify.tagging import tagging_follow_ups

log = logging.getLogger(__name__)


def settle_order(ctx: Context) -> Outcome:
    """orders/create|updated|paid|cancelled: settle the order to this state."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    data = payloads.loads(delivery.body)
    order = payloads.parse_order(
        data,
        region=region_for_currency(merchant.currency),
        eligible=(merchant.shopify or {}).get("eligible_spend", "subtotal"),
        fallback_time=delivery.triggered_at or delivery.received_at,
    )
    result = settle(session, merchant, order, "shopify", now)
    # A reward's code is redeemed by the order that used it, whatever the order's own earning (stale included).
    notes = apply_codes(session, merchant, order.key, payloads.discount_codes(data), cancelled=order.cancelled, now=now)
    if result.stale:
        notes.insert(0, "stale: a later state was already settled")
    outcome = Outcome(status="processed")
    member = session.get(Member, result.member_id) if result.member_id else None
    if member is not None:
        outcome.follow_ups.extend(tagging_follow_ups(merchant, member))
    elif not result.stale and order.identity.is_empty:
        notes.insert(0, "no customer identity on the order: no member to credit")
    outcome.note = "; ".join(notes) or None
    return outcome


def refund(ctx: Context) -> Outcome:
    """refunds/create: reverse in proportion to the refunded line amounts."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    order_key, parsed = payloads.parse_refund(payloads.loads(delivery.body))
    apply_refund(session, merchant, order_key, parsed, "shopify", now)
    return Outcome()


def customer_update(ctx: Context) -> Outcome:
    """customers/create|update: refresh a linked member's identity fields."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    identity = payloads.parse_customer(payloads.loads(delivery.body), region=region_for_currency(merchant.currency))
    member = find_member(session, merchant.id, identity)
    if member is None:
        return Outcome(status="ignored", note="no member is linked to this customer")
    if fill_identity(session, member, identity, overwrite=True):
        member.updated_at = now
        announce.updated(session, member, now)
    return Outcome(follow_ups=tagging_follow_ups(merchant, member))


def data_request(ctx: Context) -> Outcome:
    """customers/data_request: record it; ``flask members export`` produces the data."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    privacy.record(session, merchant, "data_request", payloads.loads(delivery.body), now)
    return Outcome()


def customer_redact(ctx: Context) -> Outcome:
    """customers/redact: erase the member's personal data; ledger amounts stay."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    privacy.redact_customer(session, merchant, payloads.loads(delivery.body), now)
    return Outcome()


def shop_redact(ctx: Context) -> Outcome:
    """shop/redact: erase the personal data of every member of the shop."""
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    privacy.redact_shop(session, merchant, payloads.loads(delivery.body), now)
    return Outcome()


def route(topic: str):
    """The handler of a Shopify topic; None: acknowledged and ignored (webhooks.md, "anything else")."""
    return ROUTES.get(topic)


ROUTES = {
    "orders/create": settle_order,
    "orders/updated": settle_order,
    "orders/paid": settle_order,
    "orders/cancelled": settle_order,
    "refunds/create": refund,
    "customers/create": customer_update,
    "customers/update": customer_update,
    "customers/data_request": data_request,
    "customers/redact": customer_redact,
    "shop/redact": shop_redact,
}
