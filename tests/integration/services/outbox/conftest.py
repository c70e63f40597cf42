"""A receiver over real HTTP and the Events Cafe whose ``webhooks_out`` names it."""

from __future__ import annotations

import pytest
from events_support import config, endpoint
from fake_receiver import FakeReceiver

from services.merchants.config import parse_config
from services.merchants.sync import sync


@pytest.fixture
def receiver():
    """The merchant's events endpoint, verifying with the standardwebhooks library."""
    fake = FakeReceiver()
    yield fake
    fake.stop()


@pytest.fixture
def events_cafe(rt, receiver):
    """The Events Cafe synced with one endpoint that takes every type; returns a re-sync function."""

    def resync(*endpoints: dict) -> None:
        sync(rt, parse_config(config(*(endpoints or (endpoint(receiver.url),))), {}))

    resync()
    return resync
