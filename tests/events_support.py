"""A merchant with ``webhooks_out`` endpoints for the events tests, and what they do through the partner API."""

from __future__ import annotations

import json

import pytest
from fake_receiver import SECRET, FakeReceiver

from services.merchants.config import parse_config
from services.merchants.sync import sync

V2 = "/partner-api/v2"
KEY = {"X-API-Key": "events-key"}
COFFEE = "00000000-0000-4000-8000-00000000c0ff"


def config(*endpoints: dict) -> str:
    """The Events Cafe: 10 points per 1.00, Silver at 1,000 lifetime points, a 100-point coffee, these endpoints."""
    return f"""
merchants:
  - slug: events-cafe
    name: Events Cafe
    currency: USD
    timezone: UTC
    api_keys: [events-key]
    program:
      points_per_currency_unit: 10
      tiers:
        - {{name: Bronze, min_lifetime_points: 0, multiplier: 1}}
        - {{name: Silver, min_lifetime_points: 1000, multiplier: 1}}
    rewards:
      - {{uuid: {COFFEE}, name: Coffee, priority: 1, reward_type: redemption, points_price: 100}}
    webhooks_out: {json.dumps(list(endpoints))}
"""


def endpoint(url: str, *, secret=SECRET, events: list[str] | None = None) -> dict:
    """One ``webhooks_out`` entry."""
    entry = {"url": url, "secret": secret}
    if events is not None:
        entry["events"] = events
    return entry


def create_member(client, external_user_id: str = "guest-1") -> str:
    """Get or create a membership through the partner API; returns its id."""
    response = client.post(
        f"{V2}/program-memberships", json={"external_user_id": external_user_id, "first_name": "Ada"}, headers=KEY
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["membership"]["id"]


def adjust(client, member_id: str, points: int, reason: str = "gift"):
    """A partner adjustment of ``points`` (positive adds, negative removes)."""
    return client.post(
        f"{V2}/program-memberships/{member_id}/points", json={"points": points, "reason": reason}, headers=KEY
    )


@pytest.fixture
def receiver():
    """The merchant's events endpoint over real HTTP, verifying with the standardwebhooks library."""
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
