"""Partner API keys: how they are stored, and which merchant one belongs to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from models import ApiKey, Merchant
from services.errors import Unauthorized
from services.runtime import Runtime


def hash_key(key: str) -> str:
    """How partner API keys are stored: SHA-256 hex (keys are long random strings)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyAccess:
    """Whose a key is, and how many requests a minute it may make (None: the process default)."""

    merchant_id: int
    rate_limit_per_minute: int | None


def resolve(rt: Runtime, key: str) -> KeyAccess:
    """The merchant a partner API key belongs to and its rate limit; ``Unauthorized`` when unknown or inactive."""
    with rt.db.reader() as session:
        row = session.execute(
            select(ApiKey.merchant_id, Merchant.api_rate_limit_per_minute)
            .join(Merchant, Merchant.id == ApiKey.merchant_id)
            .where(ApiKey.key_hash == hash_key(key), ApiKey.active, Merchant.active)
        ).first()
    if row is None:
        raise Unauthorized("The API key is not valid.", code="INVALID_API_KEY")
    return KeyAccess(row[0], row[1])


def authenticate(rt: Runtime, key: str) -> int:
    """The merchant id a partner API key belongs to; ``Unauthorized`` when it is unknown or its merchant inactive."""
    return resolve(rt, key).merchant_id
