"""LOYALTY_INQUIRE, LOYALTY_REDEEM and LOYALTY_ACCRUE: the open check against the reward catalogue."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from integrations.toast import orders as toast_orders
from loyalty import rewards
from loyalty.money import minor_unit
from models import Delivery, Member, Redemption
from services import ledger, rewards_catalog
from services.redemptions import commit as commit_redemption
from services.runtime import QueueUnavailable, Runtime
from services.toast_loyalty.accounts import account_info, active_member
from services.toast_loyalty.errors import LoyaltyError

log = logging.getLogger(__name__)
ACCRUE_TOPIC = "LOYALTY_ACCRUE"


@dataclass(frozen=True)
class CheckCall:
    """The parts of ``checkTransactionInformation`` every check transaction needs."""

    member: Member
    check: dict
    lines: list
    redemptions: list[dict]


def _check_call(ctx, *, locked: bool = True) -> CheckCall:
    info = ctx.call.body.get("checkTransactionInformation")
    if not isinstance(info, dict) or not isinstance(info.get("check"), dict):
        raise LoyaltyError("ERROR_INVALID_INPUT_PROPERTIES")
    member = active_member(ctx, info.get("loyaltyIdentifier"), locked=locked)
    try:
        lines = toast_orders.parse_loyalty_check(info["check"])
    except toast_orders.PayloadError:
        raise LoyaltyError("ERROR_INVALID_INPUT_PROPERTIES") from None
    redemptions = info.get("redemptions") or []
    if not isinstance(redemptions, list) or not all(isinstance(r, dict) for r in redemptions):
        raise LoyaltyError("ERROR_INVALID_INPUT_PROPERTIES")
    return CheckCall(member, info["check"], lines, redemptions)


def inquire(ctx) -> dict:
    """The member's account and one offer per available reward, evaluated on the open check."""
    call = _check_call(ctx, locked=False)
    now, unit = ctx.rt.clock(), minor_unit(ctx.merchant.currency)
    catalogue = rewards_catalog.rules(ctx.session, ctx.merchant)
    used = rewards_catalog.usage(ctx.session, call.member.id)
    available = [rule for rule in catalogue.values()
                 if rewards.availability(rule, used.get(rule.uuid, rewards.MemberUsage()), call.member.points, now).available]
    on_check = [catalogue[r["identifier"]] for r in call.redemptions if r.get("identifier") in catalogue]
    offers = rewards.inquire(available, call.lines, applied=on_check, minor_unit=unit)
    return {"checkResponse": {
        "accountInfo": account_info(call.member),
        "offers": [_offer(o, catalogue[o.uuid]) for o in offers],
        "userMessage": f"{call.member.points} points available",
        "redemptionLimit": {"maxRedemptions": None},
    }}


def redeem(ctx) -> dict:
    """Validate each redemption on the current check; charge the accepted ones through ledger holds."""
    call = _check_call(ctx)
    catalogue = rewards_catalog.rules(ctx.session, ctx.merchant)
    applied, rejected = [], []
    charged = _already_charged(ctx, call)
    verdicts, amounts = _verdicts(ctx, call, catalogue, charged)
    for index, redemption in enumerate(call.redemptions):
        message = verdicts.get(index) or (None if index in charged else
                                          _charge(ctx, call, catalogue, redemption, index, amounts[index]))
        if message:
            rejected.append({"redemption": redemption, "message": message})
        else:
            applied.append(redemption)
    return {"checkResponse": {"accountInfo": account_info(call.member), "appliedRedemptions": applied,
                              "rejectedRedemptions": rejected,
                              "userMessage": f"{call.member.points} points available"}}


def _verdicts(ctx, call: CheckCall, catalogue: dict, charged: set[int]) -> tuple[dict[int, str], dict]:
    """Rejection messages and planned amounts by redemption index: availability, then the new ones planned on the check.

    Redemptions already charged for this check count only for combinability:
    their money is already out of the selections' net prices.
    """
    now, unit = ctx.rt.clock(), minor_unit(ctx.merchant.currency)
    used = rewards_catalog.usage(ctx.session, call.member.id)
    messages, wanted, applied = {}, [], []
    for index, redemption in enumerate(call.redemptions):
        rule = catalogue.get(str(redemption.get("identifier")))
        if rule is None:
            messages[index] = "This reward does not exist or is no longer offered."
        elif index in charged:
            applied.append(rule)
        else:
            verdict = rewards.availability(rule, used.get(rule.uuid, rewards.MemberUsage()), call.member.points, now)
            if verdict.available:
                wanted.append((index, rule))
            else:
                messages[index] = _REASONS[verdict.reason]
    # plan() applies rules by (priority, uuid), stably: sort the same way to pair offers with requests.
    wanted.sort(key=lambda pair: (pair[1].priority, pair[1].uuid))
    offers = rewards.plan([rule for _, rule in wanted], call.lines, applied=applied, minor_unit=unit)
    amounts = {}
    for (index, _), offer in zip(wanted, offers):
        amounts[index] = offer.amount
        if not offer.applicable:
            messages[index] = offer.rejection
    return messages, amounts


_REASONS = {
    "INACTIVE": "This reward is no longer offered.", "NOT_STARTED": "This reward is not available yet.",
    "ENDED": "This reward has ended.", "LIMIT_REACHED": "This reward has been redeemed as often as allowed.",
    "INTERVAL": "This reward was redeemed too recently.", "INSUFFICIENT_POINTS": "Not enough points for this reward.",
}


def _source_key(call: CheckCall, redemption: dict, index: int) -> str:
    marker = redemption.get("appliedDiscountGuid") or redemption.get("selectionGuid") or f"#{index}"
    return f"toast:{call.check.get('guid')}:{redemption.get('identifier')}:{marker}"


def _already_charged(ctx, call: CheckCall) -> set[int]:
    """Indexes of redemptions this check already paid for: Toast repeats validated redemptions.

    The n-th request for a reward on a check is the n-th redemption of it we
    hold for that check, so a second free coffee is charged, a repeat is not.
    """
    held = ctx.session.execute(select(Redemption.reward_uuid).where(
        Redemption.merchant_id == ctx.merchant.id, Redemption.check_guid == str(call.check.get("guid")),
        Redemption.state != "voided")).scalars().all()
    left = {uuid: held.count(uuid) for uuid in set(held)}
    charged = set()
    for index, redemption in enumerate(call.redemptions):
        uuid = str(redemption.get("identifier"))
        if left.get(uuid):
            left[uuid] -= 1
            charged.add(index)
    return charged


def _charge(ctx, call: CheckCall, catalogue: dict, redemption: dict, index: int, amount) -> str | None:
    rule, now = catalogue[str(redemption["identifier"])], ctx.rt.clock()
    source = _source_key(call, redemption, index)
    try:
        entry = ledger.hold(ctx.session, call.member, key=f"{source}:hold", points=rule.points_price,
                            channel="toast_loyalty", reference=source, now=now) if rule.points_price else None
    except ledger.InsufficientPoints:
        return _REASONS["INSUFFICIENT_POINTS"]
    ctx.session.add(Redemption(
        merchant_id=ctx.merchant.id, member_id=call.member.id, reward_uuid=rule.uuid, points=rule.points_price,
        amount=amount, hold_entry_id=entry.id if entry else None, channel="toast_loyalty",
        source_key=source, check_guid=str(call.check.get("guid")), created_at=now,
        details={"toast_transaction": ctx.call.transaction_guid, "redemption": redemption}))
    ctx.session.flush()
    return None


def _offer(offer: rewards.Offer, rule: rewards.RewardRule) -> dict:
    body = {"identifier": offer.uuid, "name": offer.name[:200], "applicable": offer.applicable,
            "selectionType": offer.selection_type, "amount": float(offer.amount), "quantity": 1,
            "autoApply": False}
    if rule.description:
        body["description"] = rule.description[:200]
    if offer.applicable and offer.selection_type != "CHECK":
        body["itemApplication"] = [{"selectionIdentifier": s.key, "amount": float(s.amount)} for s in offer.shares]
    return body


def accrue(ctx) -> dict:
    """Store the check as a delivery; the worker accrues it on the check's business key."""
    info = ctx.call.body.get("checkTransactionInformation")
    if not isinstance(info, dict) or not isinstance(info.get("check"), dict) or not info["check"].get("guid"):
        raise LoyaltyError("ERROR_INVALID_INPUT_PROPERTIES")
    if info.get("loyaltyIdentifier"):
        active_member(ctx, info["loyaltyIdentifier"])
    else:
        return {}  # Toast may accrue a check with no account: nothing to do
    ctx.session.add(Delivery(merchant_id=ctx.merchant.id, provider="toast", topic=ACCRUE_TOPIC,
                             delivery_id=f"loyalty:{ctx.call.transaction_guid}"[:128], received_at=ctx.rt.clock(),
                             body=json.dumps(ctx.call.body).encode(), headers={}, status="received"))
    return {}


def enqueue_accrual(rt: Runtime, call) -> None:
    """After commit: queue the stored ACCRUE (the sweeper catches it if Redis is down)."""
    with rt.db.reader() as session:
        pk = session.execute(select(Delivery.id).where(
            Delivery.provider == "toast", Delivery.topic == ACCRUE_TOPIC,
            Delivery.delivery_id == f"loyalty:{call.transaction_guid}"[:128])).scalar_one_or_none()
    if pk is None:
        return
    try:
        rt.dispatcher.dispatch("process_delivery", pk)
    except QueueUnavailable:
        log.warning("queue unavailable: ACCRUE %s stored for the sweeper", call.transaction_guid)


def commit_check_redemptions(session, merchant_id: int, check_guid: str, references: list[str],
                             now: datetime) -> int:
    """Mark this check's held redemptions redeemed (their points spent); returns how many."""
    rows = session.execute(select(Redemption).where(
        Redemption.merchant_id == merchant_id, Redemption.check_guid == check_guid,
        Redemption.state == "initiated")).scalars().all()
    done = 0
    for redemption in rows:
        if references and redemption.reward_uuid not in references and redemption.id not in references:
            continue
        commit_redemption(session, redemption, now)
        done += 1
    return done
