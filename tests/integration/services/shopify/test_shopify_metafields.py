"""A linked member's balance and tier on its Shopify customer: metafieldsSet, debounced, throttle-aware."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from factories import encode, shopify_headers, shopify_order
from models import Member
from services.shopify import metafields
from shopify_codes_support import KEY, deliver, order, run_scheduled_now, unique


def waiting(rt) -> list[str]:
    """The metafield writes RQ holds for later (the debounce, or a retry)."""
    registry = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection)
    return [job_id for job_id in registry.get_job_ids() if job_id.startswith("sync_shopify_metafields")]


def member_of(rt, customer_id: int) -> Member:
    with rt.db.reader() as session:
        return session.execute(select(Member).where(Member.shopify_customer_id == str(customer_id))).scalar_one()


def customer() -> tuple[int, str]:
    customer_id = 8_100_000_000_000 + unique()
    return customer_id, f"gid://shopify/Customer/{customer_id}"


def test_a_burst_of_orders_is_written_to_the_customer_once_with_the_latest_balance(rt, client, work, shop, fake):
    customer_id, gid = customer()
    before = datetime.now(UTC)
    for subtotal in ("10.00", "20.00", "30.00"):
        deliver(client, order(unique(), customer_id, subtotal=subtotal))
    work()
    [job_id] = waiting(rt)
    scheduled = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection).get_scheduled_time(job_id)
    assert scheduled >= before + timedelta(seconds=metafields.DEBOUNCE_SECONDS - 1)
    assert fake.calls_of("metafieldsSet") == []
    run_scheduled_now(rt, job_id)
    work()
    [call] = fake.calls_of("metafieldsSet")
    assert call["variables"]["metafields"] == [
        {"ownerId": gid, "namespace": "loyalty", "key": "points", "type": "number_integer", "value": "600"},
        {"ownerId": gid, "namespace": "loyalty", "key": "pending_points", "type": "number_integer", "value": "0"},
        {"ownerId": gid, "namespace": "loyalty", "key": "tier", "type": "single_line_text_field", "value": "Bronze"},
    ]
    member = member_of(rt, customer_id)
    assert member.shopify_metafields_due_at is None
    assert member.shopify_metafields == {"points": 600, "pending_points": 0, "tier": "Bronze"}


def test_a_tier_reached_and_a_redemption_held_are_written_as_they_commit(rt, client, work, shop, fake):
    customer_id, gid = customer()
    deliver(client, order(unique(), customer_id, subtotal="120.00"))
    work()
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    assert fake.metafields_of(gid, "loyalty") == {"points": "1200", "pending_points": "0", "tier": "Silver"}
    member_id = member_of(rt, customer_id).id
    client.post(
        f"/partner-api/v2/program-memberships/{member_id}/redemptions",
        json={"reward_id": "5f0ff000-0000-4000-8000-000000000005"},
        headers=KEY,
    )
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    assert fake.metafields_of(gid, "loyalty")["points"] == "700"


def test_values_already_on_the_customer_are_not_written_again(rt, client, work, shop, fake):
    customer_id, _ = customer()
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    member_id = member_of(rt, customer_id).id
    held = client.post(
        f"/partner-api/v2/program-memberships/{member_id}/points", json={"points": -50, "is_temp": True}, headers=KEY
    ).json
    client.post(f"/partner-api/v2/transactions/{held['transaction']['id']}/rollback", json={}, headers=KEY)
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    assert len(fake.calls_of("metafieldsSet")) == 1
    assert member_of(rt, customer_id).shopify_metafields_due_at is None


def test_a_merchant_without_customer_metafields_writes_nothing(rt, demo_merchant, client, work, fake):
    body = encode(shopify_order())
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    work()
    assert waiting(rt) == []
    with rt.db.reader() as session:
        assert session.execute(select(Member.shopify_metafields_due_at)).scalar_one() is None


def test_a_throttled_write_is_retried_no_sooner_than_shopify_asks(rt, client, work, shop, fake):
    customer_id, gid = customer()
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    fake.fail_next("metafieldsSet", "throttled", wait=20)
    run_scheduled_now(rt, waiting(rt)[0])
    before = datetime.now(UTC)
    work()
    [retry] = waiting(rt)
    assert ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection).get_scheduled_time(
        retry
    ) >= before + timedelta(seconds=19)
    assert member_of(rt, customer_id).shopify_metafields_due_at is not None
    run_scheduled_now(rt, retry)
    work()
    assert fake.metafields_of(gid, "loyalty")["points"] == "100"


def test_user_errors_are_logged_with_merchant_and_member_and_not_retried(rt, client, work, shop, fake, caplog):
    customer_id, _ = customer()
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    fake.fail_next("metafieldsSet", "invalid")
    run_scheduled_now(rt, waiting(rt)[0])
    with caplog.at_level(logging.ERROR):
        work()
    member = member_of(rt, customer_id)
    logged = [r.getMessage() for r in caplog.records if "userErrors" in r.getMessage()]
    assert logged and "online-shop" in logged[0] and member.id in logged[0]
    assert waiting(rt) == [] and member.shopify_metafields_due_at is None


def test_a_change_committed_while_the_write_was_in_flight_is_written_next(rt, client, work, shop, fake):
    customer_id, gid = customer()
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    member_id = member_of(rt, customer_id).id

    def change_meanwhile(operation: str) -> None:
        if operation == "metafieldsSet" and len(fake.calls_of("metafieldsSet")) == 1:
            client.post(f"/partner-api/v2/program-memberships/{member_id}/points", json={"points": 5}, headers=KEY)

    fake.before_answer = change_meanwhile
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    assert fake.metafields_of(gid, "loyalty")["points"] == "100"
    [again] = waiting(rt)  # the job runs again a debounce later, for the change it could not have seen
    run_scheduled_now(rt, again)
    work()
    assert fake.metafields_of(gid, "loyalty")["points"] == "105"
    assert member_of(rt, customer_id).shopify_metafields_due_at is None


def test_the_sweep_queues_a_write_whose_job_was_lost(rt, client, work, shop, fake, clock, redis_conn):
    customer_id, gid = customer()
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    redis_conn.flushdb()  # the queued write lost with Redis
    assert metafields.sweep(rt) == 0  # not yet: its job may still be on the way
    clock.now += timedelta(minutes=1)
    assert metafields.sweep(rt) == 1
    run_scheduled_now(rt, waiting(rt)[0])
    work()
    assert fake.metafields_of(gid, "loyalty")["points"] == "100"
