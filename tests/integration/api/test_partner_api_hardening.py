"""The partner API under abuse and outages: a rate limit per key (429 with Retry-After), 503s instead of 500s."""

from __future__ import annotations

from app import create_app
from devtools.services import free_port
from models import Database
from services.members import magic_links
from services.merchants.config import parse_config
from services.merchants.sync import sync
from services.runtime import Runtime
from settings import load
from support import OTHER_MERCHANT, TEST_ENV
from workers.queues import RQDispatcher, connect

PREFIX = "/partner-api/v2"
DEMO = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
OTHER = {"X-API-Key": "other-bakery-key"}


def app_client(rt, **env):
    return create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING", **env}), rt).test_client()


def tiers(client, headers):
    return client.get(f"{PREFIX}/program-tiers", headers=headers)


def test_a_burst_past_the_merchants_limit_is_answered_429_with_retry_after(rt, demo_config):
    demo_config.merchants.extend(
        parse_config(
            OTHER_MERCHANT.replace("    program:", "    api_rate_limit_per_minute: 5\n    program:"), {}
        ).merchants
    )
    sync(rt, demo_config)
    client = app_client(rt)
    answers = [tiers(client, OTHER) for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    refused = answers[-1]
    assert refused.get_json()["error"] == "RATE_LIMITED" and refused.get_json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "5"
    assert tiers(client, DEMO).status_code == 200  # another key has its own count


def test_the_default_limit_applies_to_a_merchant_without_its_own(rt, demo_merchant):
    client = app_client(rt, API_RATE_LIMIT_PER_MINUTE="3")
    assert [tiers(client, DEMO).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_count_is_shared_by_every_process_through_redis(rt, demo_merchant):
    first, second = app_client(rt, API_RATE_LIMIT_PER_MINUTE="4"), app_client(rt, API_RATE_LIMIT_PER_MINUTE="4")
    assert [tiers(c, DEMO).status_code for c in (first, second, first, second, first)] == [200] * 4 + [429]


def test_wrong_keys_are_counted_too_and_a_missing_key_is_refused_as_before(rt, demo_merchant):
    client = app_client(rt, API_RATE_LIMIT_PER_MINUTE="2")
    wrong = {"X-API-Key": "guessing"}
    assert [tiers(client, wrong).status_code for _ in range(3)] == [401, 401, 429]
    missing = tiers(client, {})
    assert (missing.status_code, missing.get_json()["error"]) == (400, "API_KEY_HEADER_IS_MISSING")


def test_a_database_outage_is_a_503_with_retry_after_never_a_500(rt, demo_merchant):
    dead = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    outage = Runtime(db=dead, dispatcher=rt.dispatcher, clock=rt.clock)
    client = app_client(outage)
    for answer in (
        tiers(client, DEMO),
        client.post(f"{PREFIX}/program-memberships", headers=DEMO, json={"phone": "+14155550100"}),
    ):
        assert answer.status_code == 503
        assert answer.get_json()["error"] == "DATABASE_UNAVAILABLE" and answer.headers["Retry-After"] == "5"
    page = client.get(magic_links.issue(outage, 1, "mem_1").url.replace(outage.public_base_url, ""))
    assert (
        page.status_code == 503 and page.headers["Retry-After"] == "5" and "right back" in page.get_data(as_text=True)
    )
    dead.dispose()


def test_a_redis_outage_leaves_the_api_answering_unlimited(rt, demo_merchant):
    down = RQDispatcher(connect(f"redis://127.0.0.1:{free_port()}/0"))
    client = app_client(Runtime(db=rt.db, dispatcher=down, clock=rt.clock), API_RATE_LIMIT_PER_MINUTE="1")
    assert [tiers(client, DEMO).status_code for _ in range(3)] == [200, 200, 200]
