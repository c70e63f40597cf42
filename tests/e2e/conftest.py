"""Fixtures of the e2e tier: one running system per database backend."""

from __future__ import annotations

import pytest
from altcraft_support import config as altcraft_config
from fake_hang import FakeHang
from fake_inveterate import FakeInveterate
from fake_receiver import FakeReceiver
from hang_support import HANG_REWARDS
from hang_support import config as hang_config
from inveterate_support import config as inveterate_config
from voucherify_support import config as voucherify_config

from e2e_stack import FakeShopifyAdmin, Stack
from support import create_database


@pytest.fixture(scope="session")
def fake_shopify():
    fake = FakeShopifyAdmin()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session")
def fake_hang():
    """One fake Hang for the session: the stacks' Hang merchant points at it."""
    fake = FakeHang()
    fake.rewards = [dict(r) for r in HANG_REWARDS]
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def events_receiver():
    """The demo merchant's events endpoint, verifying every delivery with the standardwebhooks library."""
    fake = FakeReceiver()
    yield fake
    fake.stop()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(
    request, redis_url, fake_shopify, fake_hang, fake_altcraft, fake_voucherify, fake_inveterate, events_receiver
):
    """The whole system on one backend, for the session."""
    database_url = create_database(request.param, request)
    # Each stack its own Redis database, so one backend's worker never takes the other's jobs.
    own_redis = redis_url.rsplit("/", 1)[0] + ("/1" if request.param == "sqlite" else "/2")
    hang_merchant = hang_config(fake_hang.base_url).split("merchants:", 1)[1]
    hang_merchant += altcraft_config(fake_altcraft.base_url).split("merchants:", 1)[1]
    hang_merchant += voucherify_config(fake_voucherify.base_url).split("merchants:", 1)[1]
    hang_merchant += inveterate_config(fake_inveterate.base_url).split("merchants:", 1)[1]
    running = Stack(
        database_url, own_redis, fake_shopify, extra_merchants=hang_merchant, events_url=events_receiver.url
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def fake_altcraft():
    """One fake Altcraft for the session: the stacks' Altcraft merchant points at it."""
    from fake_altcraft import FakeAltcraft

    fake = FakeAltcraft()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_voucherify():
    """One fake Voucherify for the session: the stacks' Voucherify merchant points at it."""
    from fake_voucherify import FakeVoucherify

    fake = FakeVoucherify()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_inveterate():
    """One fake Inveterate for the session: the stacks' Inveterate merchant points at it."""
    fake = FakeInveterate()
    yield fake
    fake.stop()
