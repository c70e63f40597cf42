"""A job a third party throttles is retried by RQ no sooner than its ``Retry-After`` asks.

The Toast Orders API is faked with ``responses`` (429 with ``Retry-After``, then the order); the delivery is
processed by a real RQ worker on the real Redis, and its retry is read from RQ's scheduled-job registry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from models import Delivery, Member
from services.inbox.processing import MAX_ATTEMPTS
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV
from toast_factories import toast_body, toast_check, toast_customer, toast_envelope, toast_headers, toast_order
from workers.queues import JOBS

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
API = "https://toast.test"
THROTTLED = {"status": "429", "code": 429, "message": "Rate limit exceeded", "requestId": "req-1"}


@pytest.fixture
def toast_api(rt, demo_merchant):
    """The demo merchant with ``toast.api``; Toast's login answers, the order look-up is the test's to set."""
    text = (
        EXAMPLE_CONFIG.read_text()
        .replace("      # api:", "      api:")
        .replace("      #   base_url: https://ws-api.toasttab.com", f"        base_url: {API}")
        .replace("      #   client_id: ${DEMO_CAFE_TOAST_CLIENT_ID}", "        client_id: punchcard-client")
        .replace(
            "      #   client_secret: ${DEMO_CAFE_TOAST_CLIENT_SECRET}", "        client_secret: toast-client-secret"
        )
    )
    sync(rt, parse_config(text, TEST_ENV))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            f"{API}/authentication/v1/authentication/login",
            json={
                "@class": ".SuccessfulResponse",
                "status": "SUCCESS",
                "token": {
                    "tokenType": "Bearer",
                    "accessToken": "toast-token",
                    "expiresIn": 86400,
                    "scope": "orders:read",
                },
            },
        )
        yield mock


def an_order_without_the_guests_phone(client, toast_api, *throttles: str, then_answer: bool = True) -> None:
    """Deliver a webhook whose guest has no phone, so the worker looks the order up.

    Toast answers the look-up with a 429 carrying each ``Retry-After`` of ``throttles`` in turn, then (with
    ``then_answer``) with the whole order.
    """
    full = toast_order(checks=[toast_check(customer=toast_customer(phone="415-555-0134"))])
    url = f"{API}/orders/v2/orders/{full['guid']}"
    for seconds in throttles:
        toast_api.get(url, status=429, headers={"Retry-After": seconds}, json=THROTTLED)
    if then_answer:
        toast_api.get(url, body=toast_body(full), content_type="application/json")
    partial = json.loads(toast_body(full))
    partial["checks"][0]["customer"].update(phone=None, firstName=None, lastName=None)
    body = toast_body(toast_envelope(partial, RESTAURANT))
    headers = toast_headers(body, secret=TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"], restaurant_guid=RESTAURANT)
    assert client.post("/webhooks/toast", data=body, headers=headers).status_code == 200


def the_delivery(rt) -> Delivery:
    with rt.db.reader() as s:
        return s.execute(select(Delivery)).scalar_one()


def run_the_retry_now(rt, registry: ScheduledJobRegistry, job_id: str) -> None:
    job = Job.fetch(job_id, connection=rt.dispatcher.connection)
    registry.remove(job)
    rt.dispatcher.queue(registry.name).enqueue_job(job)


def test_a_toast_429_stretches_the_next_retry_of_the_delivery_to_its_retry_after(rt, toast_api, client, work):
    an_order_without_the_guests_phone(client, toast_api, "120")
    before = datetime.now(UTC)
    work()
    registry = ScheduledJobRegistry("webhooks", connection=rt.dispatcher.connection)
    [job_id] = registry.get_job_ids()
    # RQ's own first interval is 2 s; Toast asked for 120.
    assert registry.get_scheduled_time(job_id) >= before + timedelta(seconds=119)
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("received", 1) and "rate_limited" in delivery.error

    run_the_retry_now(rt, registry, job_id)
    work()
    assert (the_delivery(rt).status, the_delivery(rt).attempts) == ("processed", 2)
    with rt.db.reader() as s:
        assert s.execute(select(Member.phone)).scalar_one() == "+14155550134"


def test_a_retry_after_shorter_than_rqs_own_interval_leaves_that_interval(rt, toast_api, client, work):
    an_order_without_the_guests_phone(client, toast_api, "1", "1")
    work()
    registry = ScheduledJobRegistry("webhooks", connection=rt.dispatcher.connection)
    [job_id] = registry.get_job_ids()
    run_the_retry_now(rt, registry, job_id)
    before = datetime.now(UTC)
    work()
    # The second retry waits RQ's second interval (10 s), not Toast's 1 s.
    [job_id] = registry.get_job_ids()
    assert registry.get_scheduled_time(job_id) >= before + timedelta(seconds=9)


def test_toast_throttling_through_every_retry_fails_the_delivery_with_the_reason(rt, toast_api, client, work):
    an_order_without_the_guests_phone(client, toast_api, *["30"] * MAX_ATTEMPTS, then_answer=False)
    registry = ScheduledJobRegistry("webhooks", connection=rt.dispatcher.connection)
    work()
    for _ in range(MAX_ATTEMPTS - 1):
        [job_id] = registry.get_job_ids()
        run_the_retry_now(rt, registry, job_id)
        work()
    assert registry.get_job_ids() == []
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery.error == f"gave up after {MAX_ATTEMPTS} attempts: RetryLater: rate_limited"


def test_every_job_rq_retries_honours_retry_after():
    retried = [name for name, spec in JOBS.items() if spec.retry is not None]
    assert retried and all(getattr(JOBS[name].func, "honours_retry_after", False) for name in retried)
