"""LOYALTY_INQUIRE and LOYALTY_ACCRUE, and the check every check transaction carries (REDEEM: redeem.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import select

from integrations.toast import orders as toast_orders
from loyalty import rewards
from loyalty.money import minor_unit
from models import Delivery, Member
from services.inbox.store import delivery_key, store
from services.programs import engine_for
from services.runtime import Job, QueueUnavailable, Runtime
from services.toast.pos.accounts import account_info, active_member
from services.toast.pos.calls import loyalty_identifier
from services.toast.pos.errors import LoyaltyError

log = logging.getLogger(__name__)
ACCRUE_TOPIC = "LOYALTY_ACCRUE"


@dataclass(frozen=True)
class CheckCall:
    """The parts of ``checkTransactionInformation`` every check transaction needs."""

    member: Member
    check: dict
    lines: rewards.CheckIndex
    redemptions: list[dict]


def check_call(ctx, *, locked: bool = True) -> CheckCall:
    """The member (row-locked unless told), the check's lines and the redemptions of a check transaction.

    A malformed check, or one whose selections share a guid, is
    ``ERROR_INVALID_INPUT_PROPERTIES``.
    """
    info = ctx.call.body.get("checkTransactionInformation")
    if not isinstance(info, dict) or not isinstance(info.get("check"), dict):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    member = active_member(ctx, info.get("loyaltyIdentifier"), locked=locked)
    try:
        lines = rewards.CheckIndex(toast_orders.parse_loyalty_check(info["check"]))
    except (toast_orders.PayloadError, ValueError):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES") from None
    redemptions = info.get("redemptions") or []
    if not isinstance(redemptions, list) or not all(isinstance(r, dict) for r in redemptions):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    return CheckCall(member, info["check"], lines, redemptions)


def inquire(ctx) -> dict:
    """The member's account and one offer per available reward, evaluated on the open check.

    The engine answers on the POS's clock: a provider that does not answer in
    time gives the account without offers, with a sentence for the cashier.
    """
    call = check_call(ctx, locked=False)
    now, unit = ctx.rt.clock(), minor_unit(ctx.merchant.currency)
    engine = engine_for(ctx.merchant)
    balance = engine.balance(ctx.rt, ctx.session, call.member, pos=True)
    catalogue = engine.catalogue(ctx.rt, ctx.session, call.member, pos=True) if balance.reachable else None
    if catalogue is None:
        return _unreachable(call)
    available = rewards.available_rules(catalogue.rules.values(), catalogue.usage, balance.points, now)
    on_check = [catalogue.rules[r["identifier"]] for r in call.redemptions if r.get("identifier") in catalogue.rules]
    offers = rewards.inquire(available, call.lines, applied=on_check, minor_unit=unit)
    return {
        "checkResponse": {
            "accountInfo": account_info(call.member, balance.spendable),
            "offers": [_offer(o, catalogue.rules[o.uuid]) for o in offers],
            "userMessage": balance.available(),
            "redemptionLimit": {"maxRedemptions": None},
        }
    }


UNREACHABLE = "Rewards can't be shown right now; points will still be earned on this check."


def _unreachable(call: CheckCall) -> dict:
    """The account without offers: the program's provider did not answer in time (never a 5xx to the POS)."""
    return {
        "checkResponse": {
            "accountInfo": account_info(call.member, None),
            "offers": [],
            "userMessage": UNREACHABLE,
            "redemptionLimit": {"maxRedemptions": None},
        }
    }


def _offer(offer: rewards.Offer, rule: rewards.RewardRule) -> dict:
    body = {
        "identifier": offer.uuid,
        "name": offer.name[:200],
        "applicable": offer.applicable,
        "selectionType": offer.selection_type,
        "amount": float(offer.amount),
        "quantity": 1,
        "autoApply": False,
    }
    if rule.description:
        body["description"] = rule.description[:200]
    if offer.applicable and offer.selection_type != "CHECK":
        body["itemApplication"] = [{"selectionIdentifier": s.key, "amount": float(s.amount)} for s in offer.shares]
    return body


def accrue(ctx) -> dict:
    """Store the check as a delivery; the worker accrues it on the check's business key."""
    info = ctx.call.body.get("checkTransactionInformation")
    if not isinstance(info, dict) or not isinstance(info.get("check"), dict) or not info["check"].get("guid"):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    if info.get("loyaltyIdentifier"):
        active_member(ctx, info["loyaltyIdentifier"])
    else:
        return {}  # Toast may accrue a check with no account: nothing to do
    store(
        ctx.session,
        merchant_id=ctx.merchant.id,
        provider="toast",
        topic=ACCRUE_TOPIC,
        delivery_id=_delivery_id(ctx.call),
        received_at=ctx.rt.clock(),
        body=json.dumps(ctx.call.body).encode(),
        headers={"Toast-Transaction-GUID": ctx.call.transaction_guid[:64]},
    )
    return {}


def _delivery_id(call) -> str:
    # The replay unit is the GUID with the account: the delivery is unique on both, like
    # the stored answer, so the same GUID for another account is a new ACCRUE, not a 500.
    return delivery_key(f"loyalty:{call.transaction_guid[:64]}:{loyalty_identifier(call.body)}")


def enqueue_accrual(rt: Runtime, call) -> None:
    """After commit: queue the stored ACCRUE (the sweeper catches it if Redis is down)."""
    with rt.db.reader() as session:
        pk = session.execute(
            select(Delivery.id).where(
                Delivery.provider == "toast", Delivery.topic == ACCRUE_TOPIC, Delivery.delivery_id == _delivery_id(call)
            )
        ).scalar_one_or_none()
    if pk is None:
        return
    try:
        rt.dispatcher.dispatch(Job.PROCESS_DELIVERY, pk)
    except QueueUnavailable:
        log.warning("queue unavailable: ACCRUE %s stored for the sweeper", call.transaction_guid)
