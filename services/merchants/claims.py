"""What the merchants file gives a merchant that the database already holds for another merchant.

Checked before the sync writes anything (spec/merchants.md: "a Toast
restaurant GUID or a Shopify shop domain that is already another merchant's
is a validation error naming both merchants, not a database error").

- A restaurant GUID or shop domain only routes webhooks. The file is the whole
  truth and its own check already refused two merchants listing one, so the
  database holder no longer lists it (it left the file and is deactivated, or
  dropped it): the new owner takes it over, and the sync reports the move.
- A partner API key is a credential someone outside holds, and a reward uuid
  has redemption history with its merchant: each stays its merchant's, even
  deactivated. Giving one to another merchant is a problem at its path,
  naming both merchants. API keys are never quoted.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey, Merchant, Reward
from services.merchants.config import MerchantsFile
from services.merchants.keys import hash_key


def claim_problems(session: Session, config: MerchantsFile) -> list[str]:
    """Every API key and reward uuid of ``config`` that the database holds for another merchant, by path."""
    listed = {m.slug for m in config.merchants}
    slugs = dict(session.execute(select(Merchant.id, Merchant.slug)).all())
    keys = _holders(
        session,
        ApiKey.key_hash,
        ApiKey.merchant_id,
        [hash_key(k.get_secret_value()) for m in config.merchants for k in m.api_keys],
    )
    rewards = _holders(session, Reward.uuid, Reward.merchant_id, [r.uuid for m in config.merchants for r in m.rewards])
    problems = []
    for i, merchant in enumerate(config.merchants):
        for j, key in enumerate(merchant.api_keys):
            holder = slugs.get(keys.get(hash_key(key.get_secret_value())))
            if holder not in (None, merchant.slug):
                problems.append(
                    f"merchants[{i}].api_keys[{j}]: this API key is already merchant "
                    f"{_named(holder, listed)}; {merchant.slug} cannot have it too: generate a new key"
                )
        for j, reward in enumerate(merchant.rewards):
            holder = slugs.get(rewards.get(reward.uuid))
            if holder not in (None, merchant.slug):
                problems.append(
                    f"merchants[{i}].rewards[{j}].uuid: reward {reward.uuid} is already merchant "
                    f"{_named(holder, listed)}; {merchant.slug} cannot have it too: "
                    "give the reward a new uuid"
                )
    return problems


def _holders(session: Session, key_column, owner_column, values: list[str]) -> dict[str, int]:
    """``value -> merchant id`` for the values of ``key_column`` that exist."""
    if not values:
        return {}
    return dict(session.execute(select(key_column, owner_column).where(key_column.in_(set(values)))).all())


def _named(slug: str, listed: set[str]) -> str:
    return f"{slug}'s" if slug in listed else f"{slug}'s (no longer in the file)"
