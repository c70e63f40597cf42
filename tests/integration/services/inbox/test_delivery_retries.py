"""A delivery that fails for any reason ends: RQ retries it, every attempt is counted, and after the last one
it is ``failed`` with the error; the sweeper neither re-enqueues it forever nor is held up by stuck rows.

Everything runs through the webhook edge and a real RQ worker on the real Redis. A retry RQ scheduled for
later is moved to its queue at once (``run_every_retry``) instead of waiting out its interval.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, text, update

from app import create_app
from devtools.services import free_port
from factories import encode, shopify_headers, shopify_order
from models import Database, Delivery, Member
from services import runtime
from services.inbox.processing import MAX_ATTEMPTS
from services.inbox.sweeper import sweep
from services.runtime import Runtime
from settings import load
from workers.queues import JOBS, RQDispatcher, connect


def post_order(client, webhook_id: str, **overrides):
    body = encode(shopify_order(**overrides))
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", webhook_id))
    assert response.status_code == 200
    return response


def the_delivery(rt, webhook_id: str = "w1") -> Delivery:
    with rt.db.reader() as s:
        return s.execute(select(Delivery).where(Delivery.delivery_id == webhook_id)).scalar_one()


def scheduled(rt, queue: str = "webhooks") -> list[str]:
    return ScheduledJobRegistry(queue, connection=rt.dispatcher.connection).get_job_ids()


def run_every_retry(rt, work, queue: str = "webhooks") -> int:
    """Run the queue, then each retry RQ schedules, at once, until none is left; returns how many runs."""
    registry = ScheduledJobRegistry(queue, connection=rt.dispatcher.connection)
    runs = 0
    while True:
        work()
        runs += 1
        due = registry.get_job_ids()
        if not due:
            return runs
        for job_id in due:
            job = Job.fetch(job_id, connection=rt.dispatcher.connection)
            registry.remove(job)
            rt.dispatcher.queue(queue).enqueue_job(job)


@contextmanager
def ledger_refusing_writes(database):
    """A trigger that makes the database refuse every ledger posting: an error that is not the payload's."""
    with database.engine.begin() as conn:
        if database.is_sqlite:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_postings BEFORE INSERT ON ledger_entries "
                    "BEGIN SELECT RAISE(ABORT, 'postings refused by the test'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_postings() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'postings refused by the test'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_postings BEFORE INSERT ON ledger_entries "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_postings()"
                )
            )
    try:
        yield
    finally:
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TRIGGER refuse_postings"
                    if database.is_sqlite
                    else "DROP TRIGGER refuse_postings ON ledger_entries"
                )
            )
            if not database.is_sqlite:
                conn.execute(text("DROP FUNCTION refuse_postings()"))


@contextmanager
def database_unreachable(rt):
    """Jobs run in this process see a database nobody listens on, as during an outage."""
    dead = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    runtime.install(Runtime(db=dead, dispatcher=rt.dispatcher, clock=rt.clock))
    try:
        yield
    finally:
        runtime.install(rt)
        dead.dispose()


def test_a_shopify_line_quantity_written_as_1_0_is_read_as_one_and_the_order_earns(rt, demo_merchant, client, work):
    order = shopify_order()
    order["line_items"][0]["quantity"] = "1.0"
    body = encode(order)
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    work()
    assert the_delivery(rt).status == "processed"
    with rt.db.reader() as s:
        assert s.execute(select(Member.points)).scalar_one() == 425


def test_text_the_database_cannot_take_as_sent_is_cleaned_and_the_order_earns(rt, demo_merchant, client, work):
    # PostgreSQL refuses NUL in text and text wider than its column; SQLite takes both.
    customer = {
        "id": 7_390_123_456_789_012_345,
        "email": "ada@example.com\u0000",
        "first_name": "A" * 300,
        "last_name": "Love\u0000lace",
        "phone": "+14155550134",
    }
    post_order(client, "w1", customer=customer)
    work()
    assert the_delivery(rt).status == "processed"
    with rt.db.reader() as s:
        member = s.execute(select(Member)).scalar_one()
    assert (member.email, member.first_name, member.last_name, member.points) == (
        "ada@example.com",
        "A" * 200,
        "Lovelace",
        425,
    )


def test_a_line_quantity_that_is_not_a_whole_number_fails_the_delivery_at_once_with_the_reason(
    rt, demo_merchant, client, work
):
    order = shopify_order()
    order["line_items"][0]["quantity"] = "1.5"
    body = encode(order)
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    work()
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.error.startswith("invalid_payload") and "quantity" in delivery.error
    assert scheduled(rt) == []  # a payload we cannot use is never retried


def test_an_unexpected_error_is_counted_on_each_attempt_though_the_processing_rolled_back(
    rt, demo_merchant, client, work
):
    with ledger_refusing_writes(rt.db):
        post_order(client, "w1")
        work()
        delivery = the_delivery(rt)
        assert (delivery.status, delivery.attempts) == ("received", 1)
        assert "postings refused by the test" in delivery.error
        assert len(scheduled(rt)) == 1  # RQ retries it


def test_after_the_last_retry_the_delivery_is_failed_with_the_error_and_the_sweeper_leaves_it(
    rt, demo_merchant, client, work, clock
):
    with ledger_refusing_writes(rt.db):
        post_order(client, "w1")
        assert run_every_retry(rt, work) == MAX_ATTEMPTS
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery.error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert "postings refused by the test" in delivery.error
    clock.now += timedelta(minutes=5)
    assert sweep(rt) == 0
    assert rt.dispatcher.queue("webhooks").count == 0


def test_the_attempt_budget_is_the_retry_policy_of_the_job_plus_its_first_run():
    assert JOBS["process_delivery"].retry.max + 1 == MAX_ATTEMPTS


def test_a_delivery_whose_every_retry_met_a_dead_database_is_enqueued_again_once_it_is_back(
    rt, demo_merchant, client, work, clock
):
    post_order(client, "w1")
    with database_unreachable(rt):
        assert run_every_retry(rt, work) == MAX_ATTEMPTS  # RQ gave up; nothing could be recorded
    assert (the_delivery(rt).status, the_delivery(rt).attempts) == ("received", 0)
    clock.now += timedelta(minutes=5)
    assert sweep(rt) == 1
    delivery = the_delivery(rt)
    assert delivery.attempts == 1 and "OperationalError" in delivery.error  # RQ's give-up counts as an attempt
    work()
    assert (the_delivery(rt).status, the_delivery(rt).attempts) == ("processed", 2)


def test_a_delivery_rq_gave_up_on_is_not_enqueued_again_once_its_attempts_are_spent(
    rt, demo_merchant, client, work, clock
):
    post_order(client, "w1")
    with rt.db.transaction() as s:
        s.execute(update(Delivery).values(attempts=MAX_ATTEMPTS - 1))
    with database_unreachable(rt):
        run_every_retry(rt, work)
    clock.now += timedelta(minutes=5)
    assert sweep(rt) == 0
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert "OperationalError" in delivery.error
    assert sweep(rt) == 0 and rt.dispatcher.queue("webhooks").count == 0


def test_a_lost_delivery_behind_a_full_page_of_stuck_ones_is_still_enqueued(rt, demo_merchant, client, clock):
    for n in range(3):  # their jobs are live (queued; in production, scheduled for a retry)
        post_order(client, f"stuck-{n}", order_id=100 + n)
    dead_queue = Runtime(db=rt.db, dispatcher=RQDispatcher(connect(f"redis://127.0.0.1:{free_port()}/0")), clock=clock)
    body = encode(shopify_order(order_id=200))
    lost = (
        create_app(load({"LOG_LEVEL": "WARNING"}), dead_queue)
        .test_client()
        .post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "lost"))
    )
    assert lost.status_code == 503
    runtime.install(rt)
    clock.now += timedelta(minutes=5)
    assert sweep(rt, limit=3) == 1
    assert rt.dispatcher.pending("process_delivery", the_delivery(rt, "lost").id)
    assert sweep(rt, limit=3) == 0


@pytest.mark.parametrize("quantity", [True, [1], {"n": 1}, "one", "-1"])
def test_a_line_quantity_of_the_wrong_kind_is_a_payload_error(rt, demo_merchant, client, work, quantity):
    order = shopify_order()
    order["line_items"][0]["quantity"] = quantity
    body = encode(order)
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    work()
    delivery = the_delivery(rt)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.error.startswith("invalid_payload")
