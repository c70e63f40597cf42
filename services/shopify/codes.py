"""Rewards redeemed online as Shopify discount codes: what a code takes off, creating and deleting it in Shopify.

A code's life (``Redemption.code_state``): ``creating`` (the hold is taken and
the code chosen, Shopify not yet heard from), ``active`` (Shopify holds it,
unused), ``used`` (an order carried it, services/shopify/code_orders.py),
``deleted`` (gone from Shopify, or never created there), ``rejected``
(Shopify refused to create it), ``undeleted`` (Shopify refused to delete it:
logged, for an operator to delete by hand). A voided redemption whose code may still be
live in Shopify (``creating`` or ``active``) has it deleted by
:func:`delete_code`, queued by :func:`queue_deletions` after the hold-expiry
job, after a void and after a failed creation: so a code whose creation
answer was lost (a timeout, a crash between Shopify's answer and our commit)
is looked up by its code and deleted too, never left usable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select, update

from integrations.shopify.admin import ShopifyAdmin, ShopifyAdminClient, ShopifyPermanentError, ShopifyRetryableError
from integrations.shopify.discounts import CodeDiscount, CombinesWith, FoundCode
from loyalty.rewards import RewardRule
from models import Merchant, Redemption
from services.errors import RetryLater, Unavailable, UpstreamRejected
from services.runtime import Job, Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")
LIVE = ("creating", "active")  # states in which Shopify may hold a usable code
# A partner waits this long in all for a throttled Shopify before the answer is 503 (spec: "a few seconds").
SYNC_BUDGET_SECONDS = 5.0


class ShopifyRejected(UpstreamRejected):
    """Shopify refused (``userErrors``, or an access problem): 502 ``SHOPIFY_REJECTED`` with what it said."""

    def __init__(self, user_errors: list[dict], message: str = "Shopify refused the discount code.") -> None:
        details = [_user_error(e) for e in user_errors] or [{"field": "shopify", "problem": "refused"}]
        super().__init__(message, code="SHOPIFY_REJECTED", details=details)


class ShopifyUnavailable(Unavailable):
    """Shopify is unreachable, failing or throttling past the budget: 503 ``SHOPIFY_UNAVAILABLE``."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(
            "Shopify is unavailable; nothing was redeemed. Retry later.",
            code="SHOPIFY_UNAVAILABLE",
            retry_after=retry_after,
        )


# --- what a reward's code is ----------------------------------------------------------------------


def codes_config(shopify: dict | None) -> dict | None:
    """The merchant's ``shopify.redemption_codes`` when codes can be made (an ``admin_api`` too), else None."""
    shopify = shopify or {}
    return shopify.get("redemption_codes") if shopify.get("admin_api") else None


def discount_value(rule: RewardRule) -> tuple[Decimal | None, Decimal | None] | None:
    """(percentage, amount) a reward's code takes off the order; None for a reward that takes no money off.

    ``discount_percent_based``: ``reward_value`` / 100 (Shopify has no cap for a
    percentage); ``discount_value_based``: ``reward_value`` capped by
    ``maximum_discount_value``; a free item (``redemption``) is worth its cap,
    and without one (or for ``access``) there is no amount a code could carry.
    """
    cap = rule.maximum_discount_value
    if rule.reward_type == "discount_percent_based" and rule.reward_value > 0:
        return min(rule.reward_value, Decimal(100)) / Decimal(100), None
    if rule.reward_type == "discount_value_based" and rule.reward_value > 0:
        return None, min(rule.reward_value, cap) if cap is not None else rule.reward_value
    if rule.reward_type == "redemption" and cap is not None:
        return None, cap
    return None


def offers_code(shopify: dict | None, rule: RewardRule) -> bool:
    """True when redeeming ``rule`` at this merchant makes a Shopify discount code."""
    return codes_config(shopify) is not None and rule.redemption_method == "code" and discount_value(rule) is not None


def ends_at(config: dict, start: datetime) -> datetime | None:
    """When a code issued at ``start`` expires (``expires_after_days`` later; 0: never)."""
    days = int(config.get("expires_after_days") or 0)
    return start + timedelta(days=days) if days else None


def code_discount(
    config: dict, rule: RewardRule, *, redemption_id: str, code: str, customer_gid: str, start: datetime
) -> CodeDiscount:
    """The discount a redemption of ``rule`` becomes; its title names the redemption (to recognise it later)."""
    percentage, amount = discount_value(rule)
    combines = config.get("combines_with") or {}
    # A reward that may not be combined with other rewards combines with no other money off either.
    alone = not rule.combinable
    minimum = config.get("minimum_subtotal")
    return CodeDiscount(
        code=code,
        title=f"{rule.name} ({rule.points_price} points, {redemption_id})"[:255],
        customer_gid=customer_gid,
        starts_at=start,
        ends_at=ends_at(config, start),
        percentage=percentage,
        amount=amount,
        minimum_subtotal=Decimal(str(minimum)) if minimum is not None else None,
        combines_with=CombinesWith(
            order_discounts=bool(combines.get("order_discounts", False)) and not alone,
            product_discounts=bool(combines.get("product_discounts", False)) and not alone,
            shipping_discounts=bool(combines.get("shipping_discounts", True)),
        ),
    )


# --- talking to Shopify inside a request ----------------------------------------------------------


def within_budget(rt: Runtime, call: Callable[[], T]) -> T:
    """``call()``, waiting out Shopify's throttling while the waits fit in ``SYNC_BUDGET_SECONDS``.

    ``ShopifyUnavailable`` when Shopify is down or asks for a longer wait;
    ``ShopifyRejected`` when it refuses us (a revoked token, a missing scope).
    """
    waited = 0.0
    while True:
        try:
            return call()
        except ShopifyRetryableError as exc:
            wait = exc.retry_after
            if wait is None or exc.code not in ("throttled", "rate_limited") or waited + wait > SYNC_BUDGET_SECONDS:
                log.warning("Shopify unavailable during a redemption: %s", exc.code)
                raise ShopifyUnavailable(retry_after=wait) from None
            rt.sleep(wait)
            waited += wait
        except ShopifyPermanentError as exc:
            log.error("Shopify refused a redemption's call: %s", exc.code)
            raise ShopifyRejected([{"code": exc.code, "message": str(exc)}]) from None


def customer_gid(rt: Runtime, client: ShopifyAdmin, customer_id: str | None, email: str | None) -> str | None:
    """The member's Shopify customer: its link, else the shop's customer with its email; None when neither."""
    if customer_id:
        return ShopifyAdminClient.customer_gid(customer_id)
    if email:
        return within_budget(rt, lambda: client.find_customer_gid(email=email))
    return None


def create_code(rt: Runtime, client: ShopifyAdmin, discount: CodeDiscount, redemption_id: str) -> str:
    """Create the code in Shopify; returns the discount's gid.

    A ``TAKEN`` code that turns out to be ours (its title names the
    redemption: an earlier attempt whose answer was lost) is adopted.
    ``ShopifyRejected`` for any other userErrors.
    """
    result = within_budget(rt, lambda: client.create_code_discount(discount=discount))
    if result.ok and result.id:
        return result.id
    if any(e.get("code") == "TAKEN" for e in result.user_errors):
        found = within_budget(rt, lambda: client.find_code_discount(code=discount.code))
        if _ours(found, redemption_id):
            return found.gid
    raise ShopifyRejected(result.user_errors)


def remove_code(client: ShopifyAdmin, code: str, discount_gid: str | None, redemption_id: str, run=None) -> bool:
    """Delete a redemption's code in Shopify; True once it is not there (deleted now, before, or never made).

    Without a gid (its creation answer was lost) the code is looked up first.
    ``run`` wraps each call (``within_budget`` in a request); False: Shopify
    answered userErrors and the code is still there.
    """
    run = run or (lambda call: call())
    if discount_gid is None:
        found = run(lambda: client.find_code_discount(code=code))
        if not _ours(found, redemption_id):
            return True  # never created (or a code of the merchant's own with the same letters: not ours to delete)
        discount_gid = found.gid
    result = run(lambda: client.delete_code_discount(discount_gid=discount_gid))
    if result.ok:
        return True
    return run(lambda: client.find_code_discount(code=code)) is None  # deleted meanwhile is deleted


def _ours(found: FoundCode | None, redemption_id: str) -> bool:
    return found is not None and redemption_id in (found.title or "")


def mark(rt: Runtime, redemption_id: str, state: str, *, was: tuple[str, ...] = LIVE) -> bool:
    """Move a code to ``state`` if it is still in one of ``was``; False when something else moved it first."""
    with rt.db.transaction() as session:
        moved = session.execute(
            update(Redemption)
            .where(Redemption.id == redemption_id, Redemption.code_state.in_(was))
            .values(code_state=state)
        )
    return moved.rowcount == 1


# --- deleting codes that must not stay usable -----------------------------------------------------


@dataclass(frozen=True)
class _Retired:
    slug: str
    admin_api: dict | None
    code: str
    discount_gid: str | None


def delete_code(rt: Runtime, redemption_id: str) -> str:
    """The follow-up job: delete a voided redemption's code in Shopify (expired, voided, or never confirmed).

    Throttling and outages raise ``RetryLater`` (RQ retries, honouring Shopify's
    wait); a refusal is logged with the merchant and redemption and ends the job.
    """
    retired = _retired(rt, redemption_id)
    if retired is None:
        return "skipped"
    if not retired.admin_api:
        log.error("code of redemption %s of %s cannot be deleted: no admin_api", redemption_id, retired.slug)
        mark(rt, redemption_id, "undeleted")
        return "failed:no_admin_api"
    client = rt.shopify_admin(retired.admin_api)
    try:
        gone = remove_code(client, retired.code, retired.discount_gid, redemption_id)
    except ShopifyRetryableError as exc:
        log.warning("Shopify asked to retry deleting the code of %s of %s: %s", redemption_id, retired.slug, exc.code)
        raise RetryLater(exc.code, code=exc.code, retry_after=exc.retry_after) from None
    except ShopifyPermanentError as exc:
        log.error("Shopify refused deleting the code of %s of %s: %s", redemption_id, retired.slug, exc.code)
        mark(rt, redemption_id, "undeleted")  # not queued again every minute; an operator deletes it by hand
        return f"failed:{exc.code}"
    if not gone:
        log.error("Shopify userErrors deleting the code of redemption %s of %s", redemption_id, retired.slug)
        mark(rt, redemption_id, "undeleted")
        return "user_errors"
    mark(rt, redemption_id, "deleted")
    return "deleted"


def _retired(rt: Runtime, redemption_id: str) -> _Retired | None:
    with rt.db.reader() as session:
        redemption = session.execute(select(Redemption).where(Redemption.id == redemption_id)).scalar_one_or_none()
        if redemption is None or redemption.state != "voided" or redemption.code_state not in LIVE:
            return None
        merchant = session.get(Merchant, redemption.merchant_id)
        admin_api = (merchant.shopify or {}).get("admin_api")
        return _Retired(merchant.slug, admin_api, redemption.code, redemption.discount_gid)


def queue_deletions(rt: Runtime) -> int:
    """Queue :func:`delete_code` for every voided redemption whose code may still be live; returns how many."""
    with rt.db.reader() as session:
        ids = (
            session.execute(select(Redemption.id).where(Redemption.state == "voided", Redemption.code_state.in_(LIVE)))
            .scalars()
            .all()
        )
    queued = 0
    for redemption_id in ids:
        if not rt.dispatcher.pending(Job.DELETE_SHOPIFY_CODE, redemption_id):
            rt.dispatcher.dispatch(Job.DELETE_SHOPIFY_CODE, redemption_id)
            queued += 1
    return queued


def _user_error(error: dict) -> dict:
    """A userError as an error detail: the field path, Shopify's code and message."""
    field = error.get("field")
    return {
        "field": ".".join(str(part) for part in field) if isinstance(field, list) else str(field or "shopify"),
        "problem": str(error.get("message") or "refused"),
        "code": error.get("code"),
    }
