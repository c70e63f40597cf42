"""Redemptions: the rewards a member may redeem, and a redemption's life.

A redemption's points are a ledger hold from the moment it is initiated; it
ends ``redeemed`` (the hold committed: the points are spent) or ``voided``
(the hold released, or the spent points refunded). The partner API and the
Toast loyalty endpoint share :func:`commit` and :func:`void`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.rewards import INSUFFICIENT_POINTS, MemberUsage, RewardRule, availability
from models import LedgerEntry, Merchant, Redemption, Reward
from models.base import new_id
from services import ledger
from services.rewards import catalogue as rewards_catalog
from services.errors import NotFound, Unprocessable
from services.partner_api.idempotency import Answer, client_key, internal_key, run_once
from services.members.lookup import lock
from services.partner_api.access import get_member
from services.runtime import Runtime

CHANNEL = "partner_api"
# Every property of the rewards seed document that is read straight from the configured definition.
PROPERTIES = ("uuid", "name", "priority", "description", "redemption_instruction", "redemption_method",
              "interval", "limit", "reward_type", "image_url", "video_url", "terms_and_conditions",
              "achievement_id", "can_be_combined_with_other_rewards", "applicable_menu_item_multi_location_ids",
              "applicable_menu_group_multi_location_ids", "minimum_quantity", "metadata")


class RewardNotAvailable(Unprocessable):
    """The member may not redeem the reward now; ``reason`` names the rule that failed."""

    def __init__(self, reason: str) -> None:
        code, message = ("INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD", "Not enough points to redeem this reward.") \
            if reason == INSUFFICIENT_POINTS else ("REWARD_NOT_AVAILABLE", "This reward is not available now.")
        super().__init__(code, message, [{"field": "reward_id", "problem": reason}])
        self.reason = reason


# --- shared with the Toast loyalty endpoint ----------------------------------


def commit(session: Session, redemption: Redemption, now: datetime) -> None:
    """Mark a redemption redeemed and spend its held points (the member is locked here)."""
    member = lock(session, redemption.member_id)
    entry = _hold_entry(session, redemption)
    if entry is not None:
        ledger.commit_hold(member, entry)
    redemption.state, redemption.redeemed_at = "redeemed", now


def void(session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
    """Void a redemption: a held one is released, a redeemed one refunded.

    A hold its time to live already rolled back gives nothing back twice.
    """
    member = lock(session, redemption.member_id)
    entry = _hold_entry(session, redemption)
    if entry is not None and entry.status == "HELD":
        ledger.release_hold(session, member, entry, key=key, channel=channel, now=now)
    elif entry is not None and entry.status == "COMMITTED":
        ledger.refund_commit(session, member, entry, key=key, channel=channel, now=now)
    redemption.state, redemption.voided_at = "voided", now


def _hold_entry(session: Session, redemption: Redemption) -> LedgerEntry | None:
    if not redemption.hold_entry_id:
        return None  # a free reward holds nothing
    return session.execute(select(LedgerEntry).where(LedgerEntry.id == redemption.hold_entry_id)
                           .execution_options(populate_existing=True)).scalar_one()


# --- a member's rewards ------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """One member's use of one reward: what the rules count, and what the member is shown."""

    standing: MemberUsage = MemberUsage()  # initiated (still live) and redeemed: they reserve a use
    redeemed: MemberUsage = MemberUsage()  # redeemed only: ``redemption_count`` moves on redeem


def member_usage(session: Session, member_id: str, now: datetime) -> dict[str, Usage]:
    """Per reward uuid, the member's :class:`Usage`.

    An initiated redemption counts for the limit and the interval, so two
    concurrent initiations cannot both pass a limit of one; one past its time
    to live no longer does (its hold is rolled back).
    """
    rows = session.execute(select(Redemption).where(Redemption.member_id == member_id,
                                                    Redemption.state != "voided")).scalars()
    standing: dict[str, list[datetime]] = {}
    redeemed: dict[str, list[datetime]] = {}
    for row in rows:
        if row.state == "redeemed":
            redeemed.setdefault(row.reward_uuid, []).append(row.redeemed_at or row.created_at)
        if row.state == "redeemed" or not _lapsed(row, now):
            standing.setdefault(row.reward_uuid, []).append(row.created_at)
    return {uuid: Usage(_usage(standing.get(uuid)), _usage(redeemed.get(uuid)))
            for uuid in standing.keys() | redeemed.keys()}


def _usage(moments: list[datetime] | None) -> MemberUsage:
    return MemberUsage(len(moments), max(moments)) if moments else MemberUsage()


def _lapsed(redemption: Redemption, now: datetime) -> bool:
    return redemption.expires_at is not None and now >= redemption.expires_at


def list_rewards(rt: Runtime, merchant_id: int, member_id: str, *, include_all: bool = False) -> list[dict]:
    """The merchant's rewards as this member sees them, by priority then name.

    Only the available ones, unless ``include_all``: then the unavailable ones
    too, with ``available: false`` and the ``reason``.
    """
    now = rt.clock()
    with rt.db.reader() as session:
        member = get_member(session, merchant_id, member_id)
        catalogue = rewards_catalog.rules(session, session.get(Merchant, merchant_id))
        used = member_usage(session, member.id, now)
        rows = session.execute(select(Reward).where(Reward.merchant_id == merchant_id, Reward.active)).scalars()
        listed = [_listing(row.definition, catalogue.get(row.uuid) or RewardRule.from_definition(row.definition),
                           used.get(row.uuid, Usage()), member.points, now) for row in rows]
    listed.sort(key=lambda r: (r["priority"], r["name"].casefold(), r["uuid"]))
    return [r for r in listed if include_all or r["available"]]


def _listing(definition: dict, rule: RewardRule, usage: Usage, spendable: int, now: datetime) -> dict:
    verdict = availability(rule, usage.standing, spendable, now)
    body = {name: definition.get(name) for name in PROPERTIES}
    body.update(start_date=epoch(rule.start), end_date=epoch(rule.end), reward_value=_number(rule.reward_value),
                maximum_discount_value=_number(rule.maximum_discount_value),
                redemption_count=usage.redeemed.redemption_count,
                last_redeemed_at=epoch(usage.redeemed.last_redeemed_at),
                points_price=rule.points_price, available=verdict.available, reason=verdict.reason)
    return body


def epoch(moment: datetime | None) -> int | None:
    """An instant as Hang returns it: whole epoch seconds."""
    return int(moment.timestamp()) if moment is not None else None


def _number(value: Decimal | None) -> int | float | None:
    # Hang's document shows plain JSON numbers (10, 15.25).
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# --- the partner API's redemptions ---------------------------------------------


def render(redemption: Redemption) -> dict:
    """A redemption as the partner API answers it."""
    return {"id": redemption.id, "state": redemption.state, "reward_id": redemption.reward_uuid,
            "points": redemption.points, "expires_at": epoch(redemption.expires_at),
            "created_at": epoch(redemption.created_at), "redeemed_at": epoch(redemption.redeemed_at),
            "voided_at": epoch(redemption.voided_at)}


def initiate(rt: Runtime, merchant_id: int, member_id: str, reward_id: str, key: str | None) -> Answer:
    """Hold the reward's ``points_price`` for the member: 201 ``{"redemption"}`` in state initiated.

    422 when the reward is not available to the member now (``RewardNotAvailable``).
    The hold lives ``program.hold_ttl_seconds``; after that the hold-expiry job
    rolls it back and the redemption can no longer be redeemed.
    """
    request = {"operation": "redemption", "member": member_id, "reward_id": reward_id}
    return run_once(rt, merchant_id, key, request,
                    lambda session: _initiate(rt, session, merchant_id, member_id, reward_id, key))


def _initiate(rt: Runtime, session: Session, merchant_id: int, member_id: str, reward_id: str,
              key: str | None) -> Answer:
    now, merchant = rt.clock(), session.get(Merchant, merchant_id)
    # The lock comes before every read that decides: concurrent redemptions queue here.
    member = lock(session, get_member(session, merchant_id, member_id).id)
    ledger.activate_due(session, member, now)  # due pending points are spendable
    rule = rewards_catalog.rules(session, merchant).get(reward_id)
    if rule is None:
        raise NotFound("REWARD_NOT_FOUND", "No reward with this id is offered.")
    verdict = availability(rule, member_usage(session, member.id, now).get(rule.uuid, Usage()).standing,
                           member.points, now)
    if not verdict.available:
        raise RewardNotAvailable(verdict.reason)
    redemption = _new_redemption(session, merchant, member.id, rule, key, now)
    if rule.points_price:
        redemption.hold_entry_id = _hold(session, member, redemption, now).id
    return 201, {"redemption": render(redemption)}


def _new_redemption(session: Session, merchant: Merchant, member_id: str, rule: RewardRule, key: str | None,
                    now: datetime) -> Redemption:
    ttl = timedelta(seconds=int(merchant.program.get("hold_ttl_seconds") or 900))
    rid = new_id("rdm")
    # A keyless redemption's source is its own id, outside the "api:<key>" space clients write.
    source = client_key(key) if key else internal_key(rid)
    redemption = Redemption(id=rid, merchant_id=merchant.id, member_id=member_id, reward_uuid=rule.uuid,
                            points=rule.points_price, channel=CHANNEL, source_key=source, created_at=now,
                            expires_at=now + ttl, details={})
    session.add(redemption)
    session.flush()
    return redemption


def _hold(session: Session, member, redemption: Redemption, now: datetime) -> LedgerEntry:
    # Keyed by the redemption's own id: "<source key>:hold" was "api:<K>:hold", which an
    # adjustment keyed "<K>:hold" could take first.
    key = internal_key("hold", redemption.id)
    try:
        entry = ledger.hold(session, member, key=key, points=redemption.points, channel=CHANNEL,
                            reference=redemption.id, now=now, expires_at=redemption.expires_at)
    except ledger.InsufficientPoints:
        raise RewardNotAvailable(INSUFFICIENT_POINTS) from None
    if entry is None:
        raise RuntimeError(f"hold {key} already posted")
    return entry


def redeem(rt: Runtime, merchant_id: int, redemption_id: str, key: str | None = None) -> Answer:
    """Commit an initiated redemption's hold: state redeemed. A repeat answers the same (200).

    422 ``REDEMPTION_EXPIRED`` once its hold outlived its time to live,
    ``REDEMPTION_VOIDED`` after a void.
    """
    request = {"operation": "redeem", "redemption": redemption_id}
    return run_once(rt, merchant_id, key, request, lambda session: _redeem(rt, session, merchant_id, redemption_id))


def _redeem(rt: Runtime, session: Session, merchant_id: int, redemption_id: str) -> Answer:
    now = rt.clock()
    redemption = _locked(session, merchant_id, redemption_id)
    if redemption.state == "voided":
        raise Unprocessable("REDEMPTION_VOIDED", "This redemption was voided; it cannot be redeemed.")
    if redemption.state == "initiated":
        entry = _hold_entry(session, redemption)
        if _lapsed(redemption, now) or (entry is not None and entry.status != "HELD"):
            raise Unprocessable("REDEMPTION_EXPIRED", "This redemption's hold expired; start a new redemption.")
        commit(session, redemption, now)
    return 200, {"redemption": render(redemption)}


def void_redemption(rt: Runtime, merchant_id: int, redemption_id: str, key: str | None = None) -> Answer:
    """Void a redemption: its hold released, or its spent points refunded. A repeat answers the same (200)."""
    request = {"operation": "void", "redemption": redemption_id}
    return run_once(rt, merchant_id, key, request, lambda session: _void(rt, session, merchant_id, redemption_id))


def _void(rt: Runtime, session: Session, merchant_id: int, redemption_id: str) -> Answer:
    redemption = _locked(session, merchant_id, redemption_id)
    if redemption.state != "voided":
        void(session, redemption, key=internal_key("void", redemption.id), channel=CHANNEL, now=rt.clock())
    return 200, {"redemption": render(redemption)}


def _locked(session: Session, merchant_id: int, redemption_id: str) -> Redemption:
    """The merchant's redemption, read after its member's row lock (so a concurrent redeem/void waits)."""
    member_id = session.execute(select(Redemption.member_id).where(
        Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)).scalar_one_or_none()
    if member_id is None:
        raise NotFound("REDEMPTION_NOT_FOUND", "No redemption matches.")
    lock(session, member_id)
    return session.execute(select(Redemption).where(Redemption.id == redemption_id)
                           .execution_options(populate_existing=True)).scalar_one()
