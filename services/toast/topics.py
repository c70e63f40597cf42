"""What Toast deliveries do in the worker: order webhooks and the POS's ACCRUE settle checks."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.toast import orders as payloads
from integrations.toast.client import ToastPermanentError, ToastRetryableError
from loyalty.identity import region_for_currency
from models import Delivery, LoyaltyTransaction, Merchant
from services.errors import RetryLater
from services.inbox.processing import Context, Outcome
from services.members.lookup import member_by_id
from services.runtime import Runtime
from services.settlement.accounts import Settlement, settle
from services.toast.pos.checks import ACCRUE_TOPIC
from services.toast.pos.holds import commit_check_redemptions, release_check_redemptions

log = logging.getLogger(__name__)


def order_updated(ctx: Context) -> Outcome:
    """An order webhook: settle every check to this state, then end its REDEEM holds.

    A paid check commits them (the loyalty discounts on it name which); a
    voided or deleted check, or one of a voided or deleted order, voids every
    redemption on it: held points come back, and so do spent ones, since the
    sale they discounted did not happen.
    """
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    order_json = _with_guest_details(ctx.rt, merchant, payloads.envelope_order(payloads.loads(delivery.body)))
    region = region_for_currency(merchant.currency)
    fallback = delivery.triggered_at or delivery.received_at
    notes = []
    # parse_order gives one state per check object, in order: the two lists pair up exactly.
    states = payloads.parse_order(order_json, region=region, fallback_time=fallback)
    for check_json, order in zip(_checks(order_json), states, strict=True):
        result = settle(session, merchant, order, "toast", now)
        if result.stale:
            notes.append(f"{order.key}: stale")
            continue
        notes.extend(filter(None, [_identity_note(session, merchant, order, result)]))
        if order.cancelled:
            # After settle: the check's points go first, then the reward's come back.
            release_check_redemptions(session, merchant.id, check_json["guid"], now)
        elif order.paid:
            commit_check_redemptions(
                session, merchant.id, check_json["guid"], payloads.loyalty_references(check_json), now
            )
    return Outcome(note="; ".join(notes) or None)


def loyalty_accrue(ctx: Context) -> Outcome:
    """The POS's LOYALTY_ACCRUE: the check is paid; it earns on the same key as the order webhook.

    A new ACCRUE earns again on a check the POS reversed earlier; one that the
    POS reversed before the worker reached it earns nothing.
    """
    session, merchant, delivery, now = ctx.session, ctx.merchant, ctx.delivery, ctx.now
    if _reversed(session, merchant.id, delivery):
        return Outcome(status="ignored", note="reversed by LOYALTY_REVERSE before it was settled")
    info = json.loads(delivery.body).get("checkTransactionInformation") or {}
    check_json = info.get("check") or {}
    order = payloads.parse_check(
        {**check_json, "paymentStatus": check_json.get("paymentStatus") or "CLOSED"},
        region=region_for_currency(merchant.currency),
        fallback_time=delivery.received_at,
    )
    order = replace(order, identity=replace(order.identity, member_id=str(info["loyaltyIdentifier"])))
    result = settle(session, merchant, order, "toast_loyalty", now, revives=True)
    if order.paid and not order.cancelled:
        commit_check_redemptions(session, merchant.id, check_json["guid"], [], now)
    return Outcome(note=None if result.stale else _identity_note(session, merchant, order, result))


def _identity_note(session: Session, merchant: Merchant, order, result: Settlement) -> str | None:
    """Why a check's ``loyaltyIdentifier`` did not earn: it names no active member (spec: not a new member)."""
    named = order.identity.member_id
    if not named or member_by_id(session, merchant.id, named) is not None:
        return None
    if result.member_id:
        return f"{order.key}: loyaltyIdentifier {named} names no active member; the check's customer earns"
    return f"{order.key}: loyaltyIdentifier {named} names no active member and the check has no customer: no one earns"


def _reversed(session: Session, merchant_id: int, delivery: Delivery) -> bool:
    # The transaction GUID is kept with the delivery; deliveries stored before that name it in their id.
    guid = (delivery.headers or {}).get("Toast-Transaction-GUID") or delivery.delivery_id.split(":")[1]
    return bool(
        session.execute(
            select(LoyaltyTransaction.id).where(
                LoyaltyTransaction.merchant_id == merchant_id,
                LoyaltyTransaction.transaction_guid == guid,
                LoyaltyTransaction.transaction_type == ACCRUE_TOPIC,
                LoyaltyTransaction.reversed.is_(True),
            )
        ).first()
    )


def _checks(order_json: dict) -> list[dict]:
    return [check for check in order_json.get("checks") or () if isinstance(check, dict)]


def _with_guest_details(rt: Runtime, merchant: Merchant, order_json: dict) -> dict:
    """The order from Toast's Orders API when the webhook left out a guest's phone or name."""
    api = (merchant.toast or {}).get("api")
    if not api or not payloads.needs_lookup(order_json) or not order_json.get("guid"):
        return order_json
    restaurant = order_json.get("restaurantGuid") or (merchant.toast or {}).get("restaurant_guids", [None])[0]
    try:
        return rt.toast_api(api).get_order(restaurant_guid=restaurant, order_guid=order_json["guid"])
    except ToastRetryableError as exc:
        raise RetryLater(exc.code, code=exc.code, retry_after=exc.retry_after) from None
    except ToastPermanentError as exc:
        log.warning("Toast order lookup refused for %s (%s): settling on the webhook alone", merchant.slug, exc.code)
        return order_json


def route(topic: str):
    """The handler of a Toast delivery's topic; None: acknowledged and ignored."""
    return ROUTES.get(topic)


ROUTES = {"order_updated": order_updated, "ORDER_UPDATED": order_updated, ACCRUE_TOPIC: loyalty_accrue}
