"""LOYALTY_REDEEM: each redemption validated against the current check; the accepted ones held.

The redemptions of one request are weighed one at a time, in the order
rewards apply to a check (``priority``, then uuid), and each one sees what
the ones accepted before it took: their use of the reward (``limit``,
``interval``), their points, and their share of the check. A redemption
refused for any reason takes nothing. The answer carries the amount
Punchcard computed, never the one the POS proposed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from loyalty import rewards
from loyalty.money import minor_unit
from models import Redemption
from services import ledger
from services.programs import engine_for
from services.programs.port import Charge
from services.toast.pos.accounts import account_info
from services.toast.pos.calls import loyalty_identifier
from services.toast.pos.checks import CheckCall, check_call
from services.toast.pos.holds import CHANNEL, hold_expiry

REASONS = {
    "INACTIVE": "This reward is no longer offered.",
    "NOT_STARTED": "This reward is not available yet.",
    "ENDED": "This reward has ended.",
    "LIMIT_REACHED": "This reward has been redeemed as often as allowed.",
    "INTERVAL": "This reward was redeemed too recently.",
    "INSUFFICIENT_POINTS": "Not enough points for this reward.",
}
UNKNOWN = "This reward does not exist or is no longer offered."
UNREACHABLE = "Rewards can't be redeemed right now; try again in a moment."
REFUSED = "The loyalty program refused this reward."
REASONS["PROVIDER_UNAVAILABLE"] = UNREACHABLE


@dataclass
class _Running:
    """What one REDEEM has accepted so far, as the next redemption must see it."""

    now: datetime
    unit: Decimal
    usage: dict[str, rewards.MemberUsage]
    spendable: int  # the engine's balance, less what this request's accepted redemptions took
    on_check: list[rewards.RewardRule] = field(default_factory=list)  # charged by earlier requests
    accepted: list[rewards.RewardRule] = field(default_factory=list)  # by this one, in the order they apply


def redeem(ctx) -> dict:
    """Accept or reject each redemption of the request; answer Toast's ``checkResponse``."""
    call = check_call(ctx)
    now = ctx.rt.clock()
    engine = engine_for(ctx.merchant)
    ledger.activate_due(ctx.session, call.member, now)  # points that came due are spendable
    balance = engine.balance(ctx.rt, ctx.session, call.member, pos=True)
    catalogue = engine.catalogue(ctx.rt, ctx.session, call.member, pos=True) if balance.reachable else None
    rules = catalogue.rules if catalogue is not None else {}
    usage = dict(catalogue.usage) if catalogue is not None else {}
    running = _Running(now, minor_unit(ctx.merchant.currency), usage, balance.points)
    answers: dict[int, dict | str] = {}
    for index, row in _already_charged(ctx, call).items():
        # Toast repeats validated redemptions: the one charged earlier answers as it was charged.
        answers[index] = _applied(call.redemptions[index], row.amount, row.details.get("item_application"))
        if row.reward_uuid in rules:
            running.on_check.append(rules[row.reward_uuid])
    for index, rule in _wanted(call, rules, answers):
        if catalogue is None:
            answers[index] = UNREACHABLE
        else:
            refused = catalogue.refusal or UNKNOWN  # an engine with no reward to redeem here says why
            answers[index] = _weigh(ctx, engine, call, running, index, rule) if rule is not None else refused
    applied = [answers[i] for i in range(len(call.redemptions)) if isinstance(answers[i], dict)]
    rejected = [
        {"redemption": call.redemptions[i], "message": answers[i]}
        for i in range(len(call.redemptions))
        if isinstance(answers[i], str)
    ]
    left = replace(balance, points=running.spendable)
    return {
        "checkResponse": {
            "accountInfo": account_info(call.member, left.spendable if balance.reachable else None),
            "appliedRedemptions": applied,
            "rejectedRedemptions": rejected,
            "userMessage": left.available() if balance.reachable else UNREACHABLE,
        }
    }


def _wanted(call: CheckCall, catalogue: dict, answered: dict) -> list[tuple[int, rewards.RewardRule | None]]:
    """The redemptions still to weigh: unknown rewards (None), then the rest in the order ``rewards.plan`` applies."""
    pending = [
        (index, catalogue.get(str(r.get("identifier"))))
        for index, r in enumerate(call.redemptions)
        if index not in answered
    ]
    known = sorted(
        ((i, rule) for i, rule in pending if rule is not None),
        key=lambda pair: (pair[1].priority, pair[1].uuid, pair[0]),
    )
    return [(i, rule) for i, rule in pending if rule is None] + known


def _weigh(ctx, engine, call: CheckCall, running: _Running, index: int, rule: rewards.RewardRule) -> dict | str:
    """Accept one redemption (its applied body) or refuse it (the message), seeing what was accepted before it."""
    verdict = rewards.availability(
        rule, running.usage.get(rule.uuid, rewards.MemberUsage()), running.spendable, running.now
    )
    short = verdict.reason == rewards.INSUFFICIENT_POINTS
    if not verdict.available and not short:
        return REASONS[verdict.reason]
    # ``plan`` applies rules in (priority, uuid) order, stably: this rule sorts after every accepted one.
    offer = rewards.plan([*running.accepted, rule], call.lines, applied=running.on_check, minor_unit=running.unit)[-1]
    if not offer.applicable:
        return offer.rejection  # the check refuses it whatever the balance: the more useful message
    split = _split(offer)
    refusal = "INSUFFICIENT_POINTS" if short else _charge(ctx, engine, call, rule, index, offer.amount, split)
    if refusal is not None:
        return REASONS.get(refusal, REFUSED)
    running.accepted.append(rule)
    running.spendable -= rule.points_price
    used = running.usage.get(rule.uuid, rewards.MemberUsage())
    running.usage[rule.uuid] = rewards.MemberUsage(used.redemption_count + 1, running.now)
    return _applied(call.redemptions[index], offer.amount, split)


def _split(offer: rewards.Offer) -> list[dict] | None:
    """The per-selection split of an item reward, amounts as exact strings; None for a check-level one."""
    if offer.selection_type == "CHECK":
        return None
    return [{"selectionIdentifier": share.key, "amount": format(share.amount, "f")} for share in offer.shares]


def _applied(redemption: dict, amount: Decimal | None, split: list[dict] | None) -> dict:
    """The POS's redemption with Punchcard's amount and split in place of whatever it proposed."""
    body = {key: value for key, value in redemption.items() if key not in ("amount", "itemApplication")}
    body["amount"] = float(amount or 0)
    if split is not None:
        body["itemApplication"] = [
            {"selectionIdentifier": share["selectionIdentifier"], "amount": float(Decimal(share["amount"]))}
            for share in split
        ]
    return body


def _already_charged(ctx, call: CheckCall) -> dict[int, Redemption]:
    """The redemptions this check already paid for, by the index of the request that repeats each.

    The n-th request for a reward on a check is the n-th live redemption of
    it we hold for that check, so a second free coffee is charged, a repeat
    is not. Voided ones (reversed, released, expired) no longer count.
    """
    rows = (
        ctx.session.execute(
            select(Redemption)
            .where(
                Redemption.merchant_id == ctx.merchant.id,
                Redemption.check_guid == str(call.check.get("guid")),
                Redemption.state != "voided",
            )
            .order_by(Redemption.seq)
        )
        .scalars()
        .all()
    )
    left: dict[str, list[Redemption]] = {}
    for row in rows:
        left.setdefault(row.reward_uuid, []).append(row)
    charged = {}
    for index, redemption in enumerate(call.redemptions):
        held = left.get(str(redemption.get("identifier")))
        if held:
            charged[index] = held.pop(0)
    return charged


def source_key(ctx, index: int) -> str:
    """The redemption's unique key: this transaction (GUID and account, the replay unit) and its place in it.

    Never built from the check, reward or discount guids alone: a reward
    redeemed, reversed and redeemed again on one check would collide.
    """
    return f"toast-loyalty:{ctx.call.transaction_guid[:64]}:{loyalty_identifier(ctx.call.body)}:{index}"


def _charge(
    ctx, engine, call: CheckCall, rule: rewards.RewardRule, index: int, amount: Decimal, split: list[dict] | None
) -> str | None:
    """Take the reward through the merchant's engine until the check is paid, voided or its time is up.

    None when taken; else the reason (``INSUFFICIENT_POINTS``, ``PROVIDER_UNAVAILABLE``, ...).
    """
    details = {"toast_transaction": ctx.call.transaction_guid[:64], "redemption": call.redemptions[index]}
    if split is not None:
        details["item_application"] = split
    now = ctx.rt.clock()
    charge = Charge(
        rule=rule,
        source=source_key(ctx, index),
        amount=amount,
        check_guid=str(call.check.get("guid")),
        expires_at=hold_expiry(ctx.merchant, now),
        channel=CHANNEL,
        details=details,
    )
    return engine.charge(ctx.rt, ctx.session, call.member, charge, now)
