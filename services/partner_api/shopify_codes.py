"""Partner API redemptions that become Shopify discount codes (spec "Rewards redeemed online").

Creating a code is a call to Shopify, so it happens outside the database
transaction, in three steps:

1. the hold: the redemption is initiated as any other (``redemptions._initiate``),
   with its code chosen up front and ``code_state`` ``creating``, and committed;
   its hold lives ``program.hold_ttl_seconds`` for now;
2. ``discountCodeBasicCreate`` with that code;
3. the code stored: the discount's gid, ``active``, and the hold's time to
   live becomes the code's ``endsAt``. If Shopify refused (``userErrors``),
   or was unreachable or throttled past a few seconds, the hold is released
   instead, the idempotency key freed for a retry, and the answer is 502
   ``SHOPIFY_REJECTED`` or 503 ``SHOPIFY_UNAVAILABLE``.

If the process dies between 1 and 3, the short time to live gives the points
back and the deletion job (services/shopify/codes.py) deletes the code if
Shopify made it. A retry with the same idempotency key while the code is
still ``creating`` takes step 2 over with the same code: Shopify answers
``TAKEN`` when the first attempt made it, and the code is adopted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from integrations.shopify import discounts
from loyalty.rewards import RewardRule
from models import IdempotentRequest, Merchant, Redemption
from services.errors import NotFound, Unprocessable
from services.members import lock
from services.partner_api.access import get_member
from services.partner_api.idempotency import internal_key
from services.partner_api.views import RedemptionView, RedemptionWritten
from services.rewards import catalogue as rewards_catalog
from services.rewards.redemptions import hold_entry, void
from services.runtime import Job, QueueUnavailable, Runtime
from services.shopify import codes as shopify_codes
from services.shopify.codes import LIVE, ShopifyRejected, ShopifyUnavailable

CHANNEL = "partner_api"
log = logging.getLogger(__name__)


class NoShopifyCustomer(Unprocessable):
    """A code is limited to one Shopify customer, and the member has none (no link, no customer with its email)."""

    def __init__(self) -> None:
        super().__init__(
            "This member has no Shopify customer to issue a discount code to.",
            code="SHOPIFY_CUSTOMER_NOT_FOUND",
            details=[{"field": "program_membership_id", "problem": "no linked Shopify customer"}],
        )


@dataclass(frozen=True)
class CodePlan:
    """What a code redemption needs besides the hold: the merchant's Shopify settings, the reward, the customer."""

    admin_api: dict
    config: dict
    rule: RewardRule
    customer_gid: str


def plan(rt: Runtime, merchant_id: int, member_id: str, reward_id: str) -> CodePlan | None:
    """The plan when redeeming ``reward_id`` makes a Shopify code at this merchant, else None (a plain redemption).

    Finds the member's Shopify customer first, so a member without one is
    refused before anything is held.
    """
    with rt.db.reader() as session:
        merchant = session.get(Merchant, merchant_id)
        rule = rewards_catalog.rules(session, merchant).get(reward_id)
        if rule is None or not shopify_codes.offers_code(merchant.shopify, rule):
            return None
        member = get_member(session, merchant_id, member_id)
        customer_id, email = member.shopify_customer_id, member.email
        admin_api, config = merchant.shopify["admin_api"], shopify_codes.codes_config(merchant.shopify)
    gid = shopify_codes.customer_gid(rt, rt.shopify_admin(admin_api), customer_id, email)
    if gid is None:
        raise NoShopifyCustomer()
    return CodePlan(admin_api, config, rule, gid)


def new_code(code_plan: CodePlan) -> str:
    """A fresh code with the merchant's prefix."""
    return discounts.new_code(str(code_plan.config.get("prefix") or ""))


def issue(
    rt: Runtime, merchant_id: int, code_plan: CodePlan, written: RedemptionWritten, key: str | None
) -> RedemptionWritten:
    """Steps 2 and 3 for the redemption ``written`` (just initiated, or replayed by its idempotency key)."""
    redemption = _read(rt, written.redemption.id)
    if redemption.state != "initiated" or redemption.code_state != "creating":
        return written.model_copy(update={"redemption": RedemptionView.of(redemption)})
    discount = shopify_codes.code_discount(
        code_plan.config,
        code_plan.rule,
        redemption_id=redemption.id,
        code=redemption.code,
        customer_gid=code_plan.customer_gid,
        start=redemption.created_at,
    )
    client = rt.shopify_admin(code_plan.admin_api)
    try:
        gid = shopify_codes.create_code(rt, client, discount, redemption.id)
    except ShopifyRejected:
        _release(rt, merchant_id, redemption.id, key, code_state="rejected")
        raise
    except ShopifyUnavailable:
        # Shopify may have made it before the answer was lost: the deletion job looks it up by its code.
        _release(rt, merchant_id, redemption.id, key, code_state="creating")
        _queue_deletion(rt, redemption.id)
        raise
    return written.model_copy(update={"redemption": _store(rt, redemption.id, gid, discount.ends_at)})


def _queue_deletion(rt: Runtime, redemption_id: str) -> None:
    try:
        rt.dispatcher.dispatch(Job.DELETE_SHOPIFY_CODE, redemption_id)
    except QueueUnavailable:
        # The answer stands; the hold-expiry job queues the deletions of every voided redemption's code.
        log.warning("could not queue the deletion of the code of %s; the hold-expiry job will", redemption_id)


def _read(rt: Runtime, redemption_id: str) -> Redemption:
    with rt.db.reader() as session:
        return session.execute(select(Redemption).where(Redemption.id == redemption_id)).scalar_one()


def _store(rt: Runtime, redemption_id: str, gid: str, ends_at: datetime | None) -> RedemptionView:
    """Step 3: the code is live; its hold now lasts as long as the code (``endsAt``; None: until used or voided)."""
    with rt.db.transaction() as session:
        redemption = _locked(session, redemption_id)
        redemption.discount_gid = gid
        if redemption.code_state in ("creating", "deleted"):
            # "deleted" by a void that looked for the code before Shopify had made it: it exists now.
            redemption.code_state = "active"
        # Voided meanwhile (a void, or the hold's time to live): the deletion job removes the code.
        voided = redemption.state != "initiated"
        if not voided:
            redemption.expires_at = ends_at
            hold = hold_entry(session, redemption)
            if hold is not None and hold.status == "HELD":
                hold.expires_at = ends_at  # the lifecycle of the hold moves; its amount never does
        view = RedemptionView.of(redemption)
    if voided:
        _queue_deletion(rt, redemption_id)
        raise Unprocessable("This redemption was voided while its code was made.", code="REDEMPTION_VOIDED")
    return view


def _release(rt: Runtime, merchant_id: int, redemption_id: str, key: str | None, *, code_state: str) -> None:
    """The hold given back after a failed creation, and the idempotency key freed, so a retry starts afresh."""
    with rt.db.transaction() as session:
        redemption = _locked(session, redemption_id)
        if redemption.state == "initiated":
            now = rt.clock()
            void(session, redemption, key=internal_key("void", redemption.id), channel=CHANNEL, now=now)
        if redemption.code_state == "creating":
            redemption.code_state = code_state
        if key:
            # The failed attempt keeps its record under a key of its own; the client's key names nothing now.
            redemption.source_key = internal_key("failed", redemption.id)
            session.execute(
                delete(IdempotentRequest).where(
                    IdempotentRequest.merchant_id == merchant_id, IdempotentRequest.key == key
                )
            )


def _locked(session, redemption_id: str) -> Redemption:
    member_id = session.execute(select(Redemption.member_id).where(Redemption.id == redemption_id)).scalar_one()
    lock(session, member_id)
    return session.execute(
        select(Redemption).where(Redemption.id == redemption_id).execution_options(populate_existing=True)
    ).scalar_one()


def withdraw(rt: Runtime, merchant_id: int, redemption_id: str) -> None:
    """Before a void: delete an unused code in Shopify, so it can no longer be used once its points are back.

    Nothing to do for a redemption without a live code, or a used one (its
    points are refunded and the order is left alone). ``ShopifyUnavailable``
    or ``ShopifyRejected`` when the code could not be deleted: nothing is voided.
    """
    with rt.db.reader() as session:
        redemption = session.execute(
            select(Redemption).where(Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)
        ).scalar_one_or_none()
        if redemption is None:
            raise NotFound("No redemption matches.", code="REDEMPTION_NOT_FOUND")
        if redemption.state != "initiated" or redemption.code_state not in LIVE:
            return
        admin_api = (session.get(Merchant, merchant_id).shopify or {}).get("admin_api")
    if not admin_api:
        raise ShopifyRejected([], "The code cannot be deleted: shopify.admin_api is no longer configured.")
    client = rt.shopify_admin(admin_api)
    run = lambda call: shopify_codes.within_budget(rt, call)  # noqa: E731 - one wrapper for each call
    if not shopify_codes.remove_code(client, redemption.code, redemption.discount_gid, redemption.id, run):
        raise ShopifyRejected([], "Shopify did not delete the code; nothing was voided.")
    shopify_codes.mark(rt, redemption.id, "deleted")
