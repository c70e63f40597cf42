"""The merchants as ``flask merchants list`` shows them: channels, program engine, keys, status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models import ApiKey, Merchant
from services.runtime import Runtime

BUILT_IN_ENGINE = "punchcard"  # Punchcard's own ledger; a loyalty provider names itself in the loyalty block


@dataclass(frozen=True)
class MerchantRow:
    """One merchant."""

    slug: str
    name: str
    channels: list[str]
    provider: str
    api_keys: int
    status: str


def merchants(rt: Runtime) -> list[MerchantRow]:
    """Every merchant synced, active or not, by slug."""
    keys = (
        select(ApiKey.merchant_id, func.count().label("n")).where(ApiKey.active).group_by(ApiKey.merchant_id).subquery()
    )
    query = select(Merchant, func.coalesce(keys.c.n, 0)).outerjoin(keys, keys.c.merchant_id == Merchant.id)
    with rt.db.reader() as session:
        return [_row(merchant, count) for merchant, count in session.execute(query.order_by(Merchant.slug))]


def _row(merchant: Merchant, key_count: int) -> MerchantRow:
    channels = [name for name, block in (("shopify", merchant.shopify), ("toast", merchant.toast)) if block]
    provider = (merchant.loyalty or {}).get("provider") or BUILT_IN_ENGINE
    return MerchantRow(
        merchant.slug,
        merchant.name,
        channels,
        str(provider),
        key_count,
        "active" if merchant.active else "inactive",
    )
