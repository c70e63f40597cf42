"""Wallet tagging through a real RQ worker, against Shopify's GraphQL Admin API faked in its documented shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from factories import CUSTOMER_ID, encode, shopify_headers, shopify_order
from models import Member

GRAPHQL = "https://demo-cafe.myshopify.com/admin/api/2025-07/graphql.json"
TAGGED = {
    "data": {"tagsAdd": {"node": {"id": f"gid://shopify/Customer/{CUSTOMER_ID}"}, "userErrors": []}},
    "extensions": {
        "cost": {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0},
        }
    },
}
THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ],
    "extensions": {
        "cost": {
            "requestedQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 0, "restoreRate": 0.5},
        }
    },
}


@pytest.fixture
def shopify():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def order_with_wallet(client, webhook_id="w1", **overrides):
    body = encode(shopify_order(wallet="0x52908400098527886E0F7030069857D2E4169EE7", **overrides))
    return client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", webhook_id))


def the_member(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()


def graphql_calls(shopify) -> list[dict]:
    return [json.loads(call.request.body) for call in shopify.calls if call.request.url == GRAPHQL]


def test_a_member_with_email_and_wallet_is_tagged_once_with_the_member_tags(rt, demo_merchant, client, work, shopify):
    shopify.post(GRAPHQL, json=TAGGED)
    order_with_wallet(client)
    work()
    order_with_wallet(client, "w2", updated_at="2026-06-01T12:00:00Z")
    work()
    [call] = graphql_calls(shopify)
    assert call["variables"] == {
        "id": f"gid://shopify/Customer/{CUSTOMER_ID}",
        "tags": ["loyalty-member", "wallet-connected"],
    }
    assert "tagsAdd" in call["query"]
    assert shopify.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_test_token"
    assert the_member(rt).shopify_tagged_at is not None


def test_a_member_without_a_wallet_is_not_tagged(rt, demo_merchant, client, work, shopify):
    body = encode(shopify_order())
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    work()
    assert graphql_calls(shopify) == []


def test_a_member_without_a_customer_link_is_found_by_email(rt, demo_merchant, client, work, shopify):
    found = {"data": {"customers": {"edges": [{"node": {"id": "gid://shopify/Customer/42"}}]}}}
    shopify.post(GRAPHQL, json=found)
    shopify.post(GRAPHQL, json=TAGGED)
    order_with_wallet(client, customer={"email": "ada@example.com"})
    work()
    search, tag = graphql_calls(shopify)
    assert search["variables"] == {"query": 'email:"ada@example.com"'}
    assert tag["variables"]["id"] == "gid://shopify/Customer/42"


def test_throttling_schedules_a_retry_no_sooner_than_shopify_asks(rt, demo_merchant, client, work, shopify):
    shopify.post(GRAPHQL, json=THROTTLED)
    shopify.post(GRAPHQL, json=TAGGED)
    order_with_wallet(client)
    before = datetime.now(UTC)
    work()
    registry = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection)
    [job_id] = registry.get_job_ids()
    scheduled = registry.get_scheduled_time(job_id)
    # (10 requested - 0 available) / 0.5 restored per second = 20 s
    assert scheduled >= before + timedelta(seconds=19)
    assert the_member(rt).shopify_tagged_at is None
    _run_scheduled_now(rt, registry, job_id)
    work()
    assert the_member(rt).shopify_tagged_at is not None


def test_http_429_honours_retry_after(rt, demo_merchant, client, work, shopify):
    shopify.post(GRAPHQL, status=429, headers={"Retry-After": "45"}, json={"errors": "Exceeded"})
    order_with_wallet(client)
    before = datetime.now(UTC)
    work()
    registry = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection)
    [job_id] = registry.get_job_ids()
    assert registry.get_scheduled_time(job_id) >= before + timedelta(seconds=44)


def test_user_errors_are_logged_and_the_member_is_not_marked_tagged(rt, demo_merchant, client, work, shopify, caplog):
    refused = {
        "data": {"tagsAdd": {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}}
    }
    shopify.post(GRAPHQL, json=refused)
    order_with_wallet(client)
    work()
    assert the_member(rt).shopify_tagged_at is None
    logged = [r.getMessage() for r in caplog.records if "userErrors" in r.getMessage()]
    assert logged and "demo-cafe" in logged[0] and the_member(rt).id in logged[0]


def test_a_revoked_token_ends_the_job_without_retrying_or_leaking_it(rt, demo_merchant, client, work, shopify, caplog):
    shopify.post(GRAPHQL, status=401, json={"errors": "[API] Invalid API key or access token"})
    order_with_wallet(client)
    work()
    assert len(graphql_calls(shopify)) == 1
    assert ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection).get_job_ids() == []
    assert "shpat_test_token" not in caplog.text


def _run_scheduled_now(rt, registry, job_id):
    from rq.job import Job

    job = Job.fetch(job_id, connection=rt.dispatcher.connection)
    registry.remove(job)
    rt.dispatcher.queue("integrations").enqueue_job(job)
