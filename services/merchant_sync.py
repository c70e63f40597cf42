"""Upserting the validated merchants file into the database, idempotently.

Merchants, tiers and rewards are matched by their stable keys (``slug``, tier
``name``, reward ``uuid``). Nothing is deleted: what left the file is
deactivated, and members and ledger history are never touched.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pydantic import BaseModel, SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import ApiKey, Merchant, Reward, Tier, ToastRestaurant
from services.merchant_config import MerchantConfig, MerchantsFile
from services.partner import hash_key
from services.runtime import Runtime


@dataclass
class SyncReport:
    """What a sync changed, for the command's output."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def sync(rt: Runtime, config: MerchantsFile) -> SyncReport:
    """Upsert every merchant of ``config`` in one transaction; deactivate merchants no longer listed."""
    report = SyncReport()
    with rt.db.transaction() as session:
        for merchant_config in config.merchants:
            _upsert_merchant(session, merchant_config, report)
        listed = {m.slug for m in config.merchants}
        for merchant in session.execute(select(Merchant).where(Merchant.active)).scalars():
            if merchant.slug not in listed:
                _deactivate(session, merchant)
                report.deactivated.append(merchant.slug)
    return report


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
    merchant.shopify = _plain(cfg.shopify)
    merchant.toast = _plain(cfg.toast)
    merchant.shopify_shop_domain = cfg.shopify.shop_domain if cfg.shopify else None
    merchant.config_version = _digest(cfg)
    session.flush()
    _sync_api_keys(session, merchant, [k.get_secret_value() if isinstance(k, SecretStr) else k for k in cfg.api_keys])
    _sync_restaurants(session, merchant, cfg.toast.restaurant_guids if cfg.toast else [])
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
    return value


def _sync_api_keys(session: Session, merchant: Merchant, keys: list[str]) -> None:
    wanted = {hash_key(k) for k in keys}
    for row in session.execute(select(ApiKey).where(ApiKey.merchant_id == merchant.id)).scalars():
        row.active = row.key_hash in wanted
        wanted.discard(row.key_hash)
    session.add_all(ApiKey(merchant_id=merchant.id, key_hash=h, active=True) for h in wanted)


def _sync_restaurants(session: Session, merchant: Merchant, guids: list[str]) -> None:
    wanted = {g.lower() for g in guids}
    for row in session.execute(select(ToastRestaurant).where(ToastRestaurant.merchant_id == merchant.id)).scalars():
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
