"""The ingest path's merchant cache: 5 s for another process's sync, at once for this process's."""

from __future__ import annotations

from sqlalchemy import update

from models import Merchant
from services.merchants import lookup
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import SHOP

T0 = 1_000.0


def card(rt, now: float):
    with rt.db.reader() as session:
        return lookup.card(session, rt.db.url, lookup.by_shop_domain, SHOP, now=now)


def test_a_deactivation_written_by_another_process_is_seen_once_the_cached_card_expires(rt, demo_merchant):
    assert card(rt, T0).slug == "demo-cafe"
    with rt.db.transaction() as session:  # what the release phase's sync does, in another process
        session.execute(update(Merchant).values(active=False))
    assert card(rt, T0 + 4.9) is not None
    assert card(rt, T0 + lookup.CACHE_SECONDS + 0.1) is None


def test_a_sync_in_this_process_is_seen_at_once(rt, demo_merchant):
    assert card(rt, T0) is not None
    sync(rt, parse_config("merchants: []", {}))
    assert card(rt, T0 + 0.1) is None


def test_an_unknown_shop_is_cached_too_and_a_sync_that_adds_it_is_seen_at_once(rt, demo_config):
    lookup.forget()
    assert card(rt, T0) is None
    sync(rt, demo_config)
    assert card(rt, T0 + 0.1).slug == "demo-cafe"
