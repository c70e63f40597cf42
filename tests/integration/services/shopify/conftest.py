"""What the Shopify feature's integration tests share: a fake Shopify over HTTP and a shop with codes and metafields."""

from __future__ import annotations

import pytest
from events_support import receiver  # noqa: F401  (fixture: the merchant's events endpoint)
from sqlalchemy import select

from models import Member
from services.merchants.config import parse_config
from services.merchants.sync import sync
from shopify_codes_support import deliver, order, shop_config, unique
from shopify_fake import FakeShopifyAdmin


@pytest.fixture
def fake():
    """Shopify's GraphQL Admin API over real HTTP, for one test."""
    server = FakeShopifyAdmin()
    yield server
    server.server.shutdown()


@pytest.fixture
def slept(rt):
    """The waits a throttled Shopify asked a request for, recorded instead of waited."""
    waits: list[float] = []
    rt.sleep = waits.append
    return waits


@pytest.fixture
def shop(rt, fake, request):
    """The shop synced, pointed at the fake, pinned to API version 2025-10 (or the test's ``param``)."""
    version = getattr(request, "param", "2025-10")
    sync(rt, parse_config(shop_config(fake.base_url, version=version), {}))
    return version


@pytest.fixture
def guest(rt, client, work, shop):
    """A linked member with 1,000 points from a paid order: (member id, customer id)."""
    customer_id = 7_390_000_000_000_000 + unique()
    deliver(client, order(unique(), customer_id))
    work()
    with rt.db.reader() as session:
        member = session.execute(select(Member).where(Member.shopify_customer_id == str(customer_id))).scalar_one()
    assert member.points == 1000
    return member.id, customer_id
