"""Tagging wallet-holding members in Shopify (GraphQL Admin ``tagsAdd``), once."""

from __future__ import annotations

import logging

from integrations.shopify.admin import ShopifyAdminClient, ShopifyPermanentError, ShopifyRetryableError
from models import Member, Merchant
from services.errors import RetryLater
from services.members.lookup import lock, needs_shopify_tag
from services.runtime import Job, Runtime

log = logging.getLogger(__name__)


def tag_member(rt: Runtime, member_id: str) -> str:
    """Add the merchant's ``member_tags`` to the member's Shopify customer; returns what happened.

    Throttling and outages raise ``RetryLater`` (RQ retries the job, honouring
    Retry-After); permanent errors and ``userErrors`` are logged with the
    merchant and member and end the job. Success is recorded so a member is
    tagged once.
    """
    with rt.db.reader() as session:
        member = session.get(Member, member_id)
        merchant = session.get(Merchant, member.merchant_id) if member else None
        if member is None or not needs_shopify_tag(member):
            return "skipped"
        config = merchant.shopify or {}
        admin_config, tags = config.get("admin_api"), list(config.get("member_tags") or ())
        email, customer_id = member.email, member.shopify_customer_id
    if not admin_config or not tags:
        return "skipped"
    return _tag(rt, merchant.slug, member_id, rt.shopify_admin(admin_config), email, customer_id, tags)


def _tag(rt: Runtime, slug: str, member_id: str, client, email: str, customer_id: str | None, tags: list[str]) -> str:
    try:
        gid = ShopifyAdminClient.customer_gid(customer_id) if customer_id else client.find_customer_gid(email=email)
        if gid is None:
            log.info("no Shopify customer for member %s of %s: not tagged", member_id, slug)
            return "customer_not_found"
        result = client.add_tags(customer_gid=gid, tags=tags)
    except ShopifyRetryableError as exc:
        log.warning("Shopify asked to retry tagging member %s of %s: %s", member_id, slug, exc.code)
        raise RetryLater(exc.code, code=exc.code, retry_after=exc.retry_after) from None
    except ShopifyPermanentError as exc:
        log.error("Shopify refused tagging member %s of %s: %s", member_id, slug, exc.code)
        return f"failed:{exc.code}"
    if result.user_errors:
        log.error("Shopify userErrors tagging member %s of %s: %s", member_id, slug, result.user_errors)
        return "user_errors"
    _mark_tagged(rt, member_id)
    return "tagged"


def _mark_tagged(rt: Runtime, member_id: str) -> None:
    with rt.db.transaction() as session:
        lock(session, member_id).shopify_tagged_at = rt.clock()


def tagging_follow_ups(merchant: Merchant, member: Member) -> list[tuple[Job, tuple]]:
    """The tagging job for ``member`` when it qualifies and the merchant can be tagged (run after commit)."""
    if (merchant.shopify or {}).get("admin_api") and needs_shopify_tag(member):
        return [(Job.TAG_SHOPIFY_CUSTOMER, (member.id,))]
    return []
