"""A merchant whose program runs on Hang, against a fake Hang over real HTTP."""

from __future__ import annotations

import pytest
from fake_hang import FakeHang
from hang_support import HANG_REWARDS, config

from services.merchants.config import parse_config
from services.merchants.sync import sync


@pytest.fixture
def hang():
    """A fake Hang over real HTTP, stopped after the test."""
    fake = FakeHang()
    fake.rewards = [dict(r) for r in HANG_REWARDS]
    yield fake
    fake.stop()


@pytest.fixture
def hang_merchant(rt, hang):
    """The Hang café synced into the database."""
    sync(rt, parse_config(config(hang.base_url), {}))
    return "hang-cafe"


@pytest.fixture
def altcraft():
    """A fake Altcraft loyalty API over real HTTP, stopped after the test."""
    from fake_altcraft import FakeAltcraft

    fake = FakeAltcraft()
    yield fake
    fake.stop()


# --- Voucherify -------------------------------------------------------------------------------------


@pytest.fixture
def voucherify(clock):
    """A fake Voucherify over real HTTP, on the test's clock (its transactions' times), stopped after the test."""
    from fake_voucherify import FakeVoucherify

    fake = FakeVoucherify(clock=clock)
    yield fake
    fake.stop()


@pytest.fixture
def inveterate():
    """A fake Inveterate over real HTTP, stopped after the test."""
    from fake_inveterate import FakeInveterate

    fake = FakeInveterate()
    yield fake
    fake.stop()


@pytest.fixture
def altcraft_merchant(rt, altcraft):
    """The Altcraft café (matching by phone) synced into the database."""
    from altcraft_support import config as altcraft_config

    sync(rt, parse_config(altcraft_config(altcraft.base_url), {}))
    return "altcraft-cafe"


@pytest.fixture
def voucherify_merchant(rt, voucherify):
    """The Voucherify café synced into the database."""
    from voucherify_support import config as voucherify_config

    sync(rt, parse_config(voucherify_config(voucherify.base_url), {}))
    return "voucherify-cafe"


@pytest.fixture
def inveterate_merchant(rt, inveterate):
    """The Inveterate shop synced into the database."""
    from inveterate_support import config as inveterate_config

    sync(rt, parse_config(inveterate_config(inveterate.base_url), {}))
    return "inveterate-shop"
