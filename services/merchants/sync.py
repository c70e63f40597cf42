"""Upserting the validated merchants file into the database, idempotently.

Merchants, tiers and rewards are matched by their stable keys (``slug``, tier
``name``, reward ``uuid``). Nothing is deleted: what left the file is
deactivated, and members and ledger history are never touched. A restaurant
GUID or shop domain the file gives to another merchant moves to it; an API
key or reward uuid of another merchant is refused (services/merchant_claims.py).
Whatever is refused is a ``ConfigError`` listing the problems, never a raw
database error, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, SecretStr
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from models import ApiKey, EventEndpoint, Merchant, Reward, Tier, ToastRestaurant
from services.merchants import lookup
from services.merchants.claims import claim_problems
from services.merchants.config import ConfigError, MerchantConfig, MerchantsFile
from services.merchants.keys import hash_key
from services.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What a sync changed, for the command's output."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # "toast restaurant <guid>: <old slug> -> <new slug>"


def sync(rt: Runtime, config: MerchantsFile) -> SyncReport:
    """Upsert every merchant of ``config`` in one transaction; deactivate merchants no longer listed.

    Raises ``ConfigError`` (and writes nothing) when the file gives a merchant an API key or
    reward uuid that is another merchant's, or when the database refuses a row anyway.
    """
    report = SyncReport()
    try:
        with rt.db.transaction() as session:
            problems = claim_problems(session, config)
            if problems:
                raise ConfigError(problems)
            _apply(session, config, report)
    except (IntegrityError, DataError) as exc:
        lookup.forget()
        # Validation should have caught it; a concurrent sync can still win a race.
        log.warning("merchants sync refused by the database: %s", type(exc.orig).__name__)
        raise ConfigError(
            [
                "(database): the database refused the sync (a value is another merchant's, or a "
                "sync ran at the same time); nothing was written, run it again"
            ]
        ) from None
    lookup.forget()  # this process's deliveries see the new merchants at once; others' within 5 s
    return report


def _apply(session: Session, config: MerchantsFile, report: SyncReport) -> None:
    for merchant_config in config.merchants:
        _upsert_merchant(session, merchant_config, report)
    listed = {m.slug for m in config.merchants}
    for merchant in session.execute(select(Merchant).where(Merchant.active)).scalars():
        if merchant.slug not in listed:
            _deactivate(session, merchant)
            report.deactivated.append(merchant.slug)


def _upsert_merchant(session: Session, cfg: MerchantConfig, report: SyncReport) -> None:
    merchant = session.execute(select(Merchant).where(Merchant.slug == cfg.slug)).scalar_one_or_none()
    if merchant is None:
        merchant = Merchant(slug=cfg.slug)
        session.add(merchant)
        report.created.append(cfg.slug)
    else:
        report.updated.append(cfg.slug)
    merchant.name, merchant.currency, merchant.timezone, merchant.active = cfg.name, cfg.currency, cfg.timezone, True
    merchant.program = cfg.program.model_dump(mode="json", exclude={"tiers"})
    merchant.api_rate_limit_per_minute = cfg.api_rate_limit_per_minute
    merchant.shopify = _plain(cfg.shopify)
    merchant.toast = _plain(cfg.toast)
    merchant.loyalty = _plain(cfg.loyalty)
    merchant.webhooks_out = [_plain(endpoint) for endpoint in cfg.webhooks_out]
    merchant.config_version = _digest(cfg)
    _claim_shop_domain(session, merchant, cfg.shopify.shop_domain if cfg.shopify else None, report)
    session.flush()
    _sync_api_keys(session, merchant, [k.get_secret_value() if isinstance(k, SecretStr) else k for k in cfg.api_keys])
    _sync_restaurants(session, merchant, cfg.toast.restaurant_guids if cfg.toast else [], report)
    _sync_endpoints(session, merchant, [endpoint.url for endpoint in cfg.webhooks_out])
    _sync_tiers(session, merchant, cfg)
    _sync_rewards(session, merchant, cfg)


def _digest(cfg: MerchantConfig) -> str:
    """A fingerprint of everything configured for the merchant (secrets included, never shown)."""
    text = json.dumps(_plain(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(block) -> dict | None:
    """A config block as JSON with its secrets revealed (they are needed to verify and call)."""
    if block is None:
        return None
    return {name: _reveal(getattr(block, name)) for name in type(block).model_fields}


def _reveal(value):
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return _plain(value)
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")  # JSON has no exact decimals: money is kept as its string (redemption_codes)
    return value


def _sync_api_keys(session: Session, merchant: Merchant, keys: list[str]) -> None:
    wanted = {hash_key(k) for k in keys}
    for row in session.execute(select(ApiKey).where(ApiKey.merchant_id == merchant.id)).scalars():
        row.active = row.key_hash in wanted
        wanted.discard(row.key_hash)
    session.add_all(ApiKey(merchant_id=merchant.id, key_hash=h, active=True) for h in wanted)


def _claim_shop_domain(session: Session, merchant: Merchant, domain: str | None, report: SyncReport) -> None:
    """Give ``merchant`` the shop ``domain``, taking it from a merchant that no longer lists it."""
    if domain is not None and merchant.shopify_shop_domain != domain:
        holder = session.execute(
            select(Merchant).where(Merchant.shopify_shop_domain == domain, Merchant.slug != merchant.slug)
        ).scalar_one_or_none()
        if holder is not None:
            holder.shopify_shop_domain = None
            session.flush()  # the unique column must be free before the new owner's UPDATE
            report.moved.append(f"shop domain {domain}: {holder.slug} -> {merchant.slug}")
    merchant.shopify_shop_domain = domain


def _sync_restaurants(session: Session, merchant: Merchant, guids: list[str], report: SyncReport) -> None:
    """The merchant's restaurant rows: listed ones active (taken over from their old owner), the rest inactive."""
    wanted = {g.lower() for g in guids}
    query = select(ToastRestaurant).where(
        or_(ToastRestaurant.merchant_id == merchant.id, ToastRestaurant.guid.in_(wanted))
    )
    for row in session.execute(query).scalars():
        if row.merchant_id != merchant.id:  # the file's own check ensures its old owner no longer lists it
            report.moved.append(
                f"toast restaurant {row.guid}: {session.get(Merchant, row.merchant_id).slug} -> {merchant.slug}"
            )
            row.merchant_id, row.active = merchant.id, False
        if row.guid in wanted and not row.active:
            # Orders from before this merchant (again) had the restaurant are not its to earn: the
            # reconciliation starts over with a first poll instead of catching up on that gap.
            row.polled_until = None
        row.active = row.guid in wanted
        wanted.discard(row.guid)
    session.add_all(ToastRestaurant(guid=g, merchant_id=merchant.id, active=True) for g in wanted)


def _sync_tiers(session: Session, merchant: Merchant, cfg: MerchantConfig) -> None:
    existing = {t.name: t for t in session.execute(select(Tier).where(Tier.merchant_id == merchant.id)).scalars()}
    for tier_cfg in cfg.program.tiers:
        tier = existing.pop(tier_cfg.name, None) or Tier(merchant_id=merchant.id, name=tier_cfg.name)
        tier.min_lifetime_points, tier.multiplier, tier.active = tier_cfg.min_lifetime_points, tier_cfg.multiplier, True
        session.add(tier)
    for tier in existing.values():
        tier.active = False


def _sync_endpoints(session: Session, merchant: Merchant, urls: list[str]) -> None:
    """One state row per events endpoint; a sync re-enables one disabled after days of failures (events.md)."""
    rows = {
        e.url: e
        for e in session.execute(select(EventEndpoint).where(EventEndpoint.merchant_id == merchant.id)).scalars()
    }
    for url in urls:
        row = rows.get(url) or EventEndpoint(merchant_id=merchant.id, url=url)
        row.disabled_at = row.failing_since = None
        session.add(row)


def _sync_rewards(session: Session, merchant: Merchant, cfg: MerchantConfig) -> None:
    existing = {r.uuid: r for r in session.execute(select(Reward).where(Reward.merchant_id == merchant.id)).scalars()}
    for reward_cfg in cfg.rewards:
        reward = existing.pop(reward_cfg.uuid, None) or Reward(uuid=reward_cfg.uuid, merchant_id=merchant.id)
        reward.name, reward.priority = reward_cfg.name, reward_cfg.priority
        reward.points_price, reward.active = reward_cfg.points_price, reward_cfg.active
        reward.definition = reward_cfg.model_dump(mode="json")
        session.add(reward)
    for reward in existing.values():
        reward.active = False


def _deactivate(session: Session, merchant: Merchant) -> None:
    merchant.active = False
    session.execute(update(ApiKey).where(ApiKey.merchant_id == merchant.id).values(active=False))
