"""Finding the active merchant a delivery or POS call belongs to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Merchant, ToastRestaurant


def by_shop_domain(session: Session, shop_domain: str) -> Merchant | None:
    """The active merchant of a Shopify shop domain."""
    query = select(Merchant).where(Merchant.shopify_shop_domain == shop_domain.strip().lower(), Merchant.active)
    return session.execute(query).scalar_one_or_none()


def by_restaurant_guid(session: Session, restaurant_guid: str) -> Merchant | None:
    """The active merchant listing an active Toast restaurant GUID."""
    query = (
        select(Merchant)
        .join(ToastRestaurant, ToastRestaurant.merchant_id == Merchant.id)
        .where(ToastRestaurant.guid == restaurant_guid.strip().lower(), ToastRestaurant.active, Merchant.active)
    )
    return session.execute(query).scalar_one_or_none()
