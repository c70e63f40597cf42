"""Finding the active merchant a delivery or POS call belongs to."""

from __future__ import annotations

import time
from dataclasses import dataclass

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


# --- the ingest path's cache ---------------------------------------------------------------------

CACHE_SECONDS = 5.0  # how long another process's sync (a deactivation, a new secret) may take to be seen here


@dataclass(frozen=True)
class MerchantCard:
    """What receiving a delivery needs of its merchant, detached from any session."""

    id: int
    slug: str
    shopify: dict | None
    toast: dict | None


_cards: dict[tuple[str, str, str], tuple[float, MerchantCard | None]] = {}


def card(session: Session, database: str, find, ref: str, *, now: float | None = None) -> MerchantCard | None:
    """``find(session, ref)``'s merchant as a card, from this process's cache when read in the last 5 s.

    Every delivery used to read its merchant: one query of the three a stored
    delivery costs. A sync in this process clears the cache at once
    (:func:`forget`); one in another process (the release phase) is seen
    within ``CACHE_SECONDS``. Unknown refs are cached too, so a flood of
    deliveries for no merchant does not reach the database either.
    """
    now = time.monotonic() if now is None else now
    key = (database, find.__name__, ref)
    hit = _cards.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    merchant = find(session, ref)
    found = None if merchant is None else MerchantCard(merchant.id, merchant.slug, merchant.shopify, merchant.toast)
    if len(_cards) > 10_000:  # refs come from senders: never let them grow the cache without end
        _cards.clear()
    _cards[key] = (now + CACHE_SECONDS, found)
    return found


def forget() -> None:
    """Drop every cached merchant (a sync changed them)."""
    _cards.clear()
