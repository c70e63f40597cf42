"""The partner API's redemptions: initiate (hold the price), redeem (commit it), void (give it back)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.rewards import INSUFFICIENT_POINTS, RewardRule, availability
from models import LedgerEntry, Merchant, Redemption
from models.base import new_id
from services import ledger
from services.errors import NotFound, Unprocessable
from services.members import lock
from services.partner_api import shopify_codes
from services.partner_api.access import get_member, require_ledger
from services.partner_api.idempotency import client_key, internal_key, run_once
from services.partner_api.views import RedemptionView, RedemptionWritten
from services.rewards import catalogue as rewards_catalog
from services.rewards.redemptions import Usage, commit, hold_entry, lapsed, member_usage, void
from services.runtime import Runtime

CHANNEL = "partner_api"


class RewardNotAvailable(Unprocessable):
    """The member may not redeem the reward now; ``reason`` names the rule that failed (``LIMIT_REACHED``, ...)."""

    def __init__(self, reason: str) -> None:
        code, message = (
            ("INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD", "Not enough points to redeem this reward.")
            if reason == INSUFFICIENT_POINTS
            else ("REWARD_NOT_AVAILABLE", "This reward is not available now.")
        )
        super().__init__(message, code=code, details=[{"field": "reward_id", "problem": reason}])
        self.reason = reason


def initiate(rt: Runtime, merchant_id: int, member_id: str, reward_id: str, key: str | None) -> RedemptionWritten:
    """Hold the reward's ``points_price`` for the member: a new redemption in state initiated.

    422 when the reward is not available to the member now (``RewardNotAvailable``).
    The hold lives ``program.hold_ttl_seconds``; after that the hold-expiry job
    rolls it back and the redemption can no longer be redeemed.
    """
    require_ledger(rt, merchant_id)
    request = {"operation": "redemption", "member": member_id, "reward_id": reward_id}
    # A reward redeemed online at a Shopify shop with codes: the hold, then the code (partner_api/shopify_codes.py).
    code_plan = shopify_codes.plan(rt, merchant_id, member_id, reward_id)
    code = shopify_codes.new_code(code_plan) if code_plan else None
    written = run_once(
        rt,
        merchant_id,
        key,
        request,
        RedemptionWritten,
        lambda session: _initiate(rt, session, merchant_id, member_id, reward_id, key, code=code),
    )
    return shopify_codes.issue(rt, merchant_id, code_plan, written, key) if code_plan else written


def _initiate(
    rt: Runtime,
    session: Session,
    merchant_id: int,
    member_id: str,
    reward_id: str,
    key: str | None,
    *,
    code: str | None = None,
) -> RedemptionWritten:
    now, merchant = rt.clock(), session.get(Merchant, merchant_id)
    # The lock comes before every read that decides: concurrent redemptions queue here.
    member = lock(session, get_member(session, merchant_id, member_id).id)
    ledger.activate_due(session, member, now)  # due pending points are spendable
    rule = rewards_catalog.rules(session, merchant).get(reward_id)
    if rule is None:
        raise NotFound("No reward with this id is offered.", code="REWARD_NOT_FOUND")
    verdict = availability(
        rule, member_usage(session, member.id, now).get(rule.uuid, Usage()).standing, member.points, now
    )
    if not verdict.available:
        raise RewardNotAvailable(verdict.reason)
    redemption = _new_redemption(session, merchant, member.id, rule, key, now)
    if code is not None:
        redemption.code, redemption.code_state = code, "creating"
    if rule.points_price:
        redemption.hold_entry_id = _hold(session, member, redemption, now).id
    return RedemptionWritten(redemption=RedemptionView.of(redemption), created=True)


def _new_redemption(
    session: Session, merchant: Merchant, member_id: str, rule: RewardRule, key: str | None, now: datetime
) -> Redemption:
    ttl = timedelta(seconds=int(merchant.program.get("hold_ttl_seconds") or 900))
    rid = new_id("rdm")
    # A keyless redemption's source is its own id, outside the "api:<key>" space clients write.
    source = client_key(key) if key else internal_key(rid)
    redemption = Redemption(
        id=rid,
        merchant_id=merchant.id,
        member_id=member_id,
        reward_uuid=rule.uuid,
        points=rule.points_price,
        channel=CHANNEL,
        source_key=source,
        created_at=now,
        expires_at=now + ttl,
        details={},
    )
    session.add(redemption)
    session.flush()
    return redemption


def _hold(session: Session, member, redemption: Redemption, now: datetime) -> LedgerEntry:
    # Keyed by the redemption's own id: "<source key>:hold" was "api:<K>:hold", which an
    # adjustment keyed "<K>:hold" could take first.
    key = internal_key("hold", redemption.id)
    try:
        entry = ledger.hold(
            session,
            member,
            key=key,
            points=redemption.points,
            channel=CHANNEL,
            reference=redemption.id,
            now=now,
            expires_at=redemption.expires_at,
        )
    except ledger.InsufficientPoints:
        raise RewardNotAvailable(INSUFFICIENT_POINTS) from None
    if entry is None:
        raise RuntimeError(f"hold {key} already posted")
    return entry


def redeem(rt: Runtime, merchant_id: int, redemption_id: str, key: str | None = None) -> RedemptionWritten:
    """Commit an initiated redemption's hold: state redeemed. A repeat answers the same.

    422 ``REDEMPTION_EXPIRED`` once its hold outlived its time to live,
    ``REDEMPTION_VOIDED`` after a void.
    """
    require_ledger(rt, merchant_id)
    request = {"operation": "redeem", "redemption": redemption_id}
    return run_once(
        rt,
        merchant_id,
        key,
        request,
        RedemptionWritten,
        lambda session: _redeem(rt, session, merchant_id, redemption_id),
    )


def _redeem(rt: Runtime, session: Session, merchant_id: int, redemption_id: str) -> RedemptionWritten:
    now = rt.clock()
    redemption = _locked(session, merchant_id, redemption_id)
    if redemption.state == "voided":
        raise Unprocessable("This redemption was voided; it cannot be redeemed.", code="REDEMPTION_VOIDED")
    if redemption.state == "initiated" and redemption.code is not None:
        raise Unprocessable(
            "This redemption is a Shopify discount code: the order that uses it redeems it.",
            code="REDEEMED_BY_SHOPIFY_ORDER",
        )
    if redemption.state == "initiated":
        entry = hold_entry(session, redemption)
        if lapsed(redemption, now) or (entry is not None and entry.status != "HELD"):
            raise Unprocessable("This redemption's hold expired; start a new redemption.", code="REDEMPTION_EXPIRED")
        commit(session, redemption, now)
    return RedemptionWritten(redemption=RedemptionView.of(redemption))


def void_redemption(rt: Runtime, merchant_id: int, redemption_id: str, key: str | None = None) -> RedemptionWritten:
    """Void a redemption: its hold released, or its spent points refunded. A repeat answers the same.

    An unused Shopify code is deleted in Shopify first (``ShopifyUnavailable``: nothing is voided).
    """
    require_ledger(rt, merchant_id)
    request = {"operation": "void", "redemption": redemption_id}
    shopify_codes.withdraw(rt, merchant_id, redemption_id)
    return run_once(
        rt, merchant_id, key, request, RedemptionWritten, lambda session: _void(rt, session, merchant_id, redemption_id)
    )


def _void(rt: Runtime, session: Session, merchant_id: int, redemption_id: str) -> RedemptionWritten:
    redemption = _locked(session, merchant_id, redemption_id)
    if redemption.state != "voided":
        void(session, redemption, key=internal_key("void", redemption.id), channel=CHANNEL, now=rt.clock())
    return RedemptionWritten(redemption=RedemptionView.of(redemption))


def _locked(session: Session, merchant_id: int, redemption_id: str) -> Redemption:
    """The merchant's redemption, read after its member's row lock (so a concurrent redeem/void waits)."""
    member_id = session.execute(
        select(Redemption.member_id).where(Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)
    ).scalar_one_or_none()
    if member_id is None:
        raise NotFound("No redemption matches.", code="REDEMPTION_NOT_FOUND")
    lock(session, member_id)
    return session.execute(
        select(Redemption).where(Redemption.id == redemption_id).execution_options(populate_existing=True)
    ).scalar_one()
