"""Fixtures of the e2e tier: one running system per database backend."""

from __future__ import annotations

import pytest

from e2e_stack import FakeShopifyAdmin, Stack
from support import create_database


@pytest.fixture(scope="session")
def fake_shopify():
    fake = FakeShopifyAdmin()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(request, redis_url, fake_shopify):
    """The whole system on one backend, for the session."""
    database_url = create_database(request.param, request)
    # Each stack its own Redis database, so one backend's worker never takes the other's jobs.
    own_redis = redis_url.rsplit("/", 1)[0] + ("/1" if request.param == "sqlite" else "/2")
    running = Stack(database_url, own_redis, fake_shopify).start()
    yield running
    running.stop()
