"""Events reach the merchant's endpoint signed, once per change, on the Standard Webhooks retry schedule."""

from __future__ import annotations

from datetime import timedelta

from events_support import adjust, create_member, endpoint
from fake_receiver import NEXT_SECRET, SECRET, FakeReceiver
from sqlalchemy import func, select

from models import Event, EventDelivery, EventEndpoint
from services.outbox import event_deliveries


def deliveries(rt) -> list[EventDelivery]:
    with rt.db.reader() as session:
        return list(session.execute(select(EventDelivery).order_by(EventDelivery.id)).scalars())


def the_only_delivery(rt, kind: str) -> EventDelivery:
    with rt.db.reader() as session:
        [row] = session.execute(
            select(EventDelivery).join(Event, Event.id == EventDelivery.event_id).where(Event.type == kind)
        ).scalars()
        return row


def test_a_partner_adjustment_reaches_the_endpoint_verified_with_the_balance_as_of_the_change(
    rt, events_cafe, receiver, client, work
):
    member_id = create_member(client)
    assert adjust(client, member_id, 150).status_code == 201
    assert adjust(client, member_id, -40, "correction").status_code == 201
    work()
    assert receiver.types == ["membership.created", "points.earned", "points.spent"]
    [earned], [spent] = receiver.of_type("points.earned"), receiver.of_type("points.spent")
    assert earned["data"]["membership_id"] == member_id
    assert (earned["data"]["points"], earned["data"]["balance"]) == (150, {"points": 150, "pending_points": 0})
    assert (spent["data"]["points"], spent["data"]["balance"]) == (40, {"points": 110, "pending_points": 0})
    assert (earned["data"]["channel"], earned["data"]["reference"]) == ("partner_api", "gift")
    assert earned["timestamp"].endswith("Z") and isinstance(earned["data"]["occurred_at"], int)
    assert [d.status for d in deliveries(rt)] == ["delivered"] * 3


def test_a_delivery_carries_nothing_but_the_event_and_its_standard_headers(rt, events_cafe, receiver, client, work):
    create_member(client)
    work()
    [request] = receiver.requests
    assert request["verified"]
    assert set(request["headers"]) <= {
        "host",
        "user-agent",
        "accept-encoding",
        "accept",
        "connection",
        "content-type",
        "content-length",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert request["headers"]["webhook-id"].startswith("evt_")
    assert "events-key" not in request["body"] and SECRET not in str(request)


def test_an_endpoint_gets_only_the_types_it_subscribes_to(rt, events_cafe, receiver, client, work):
    everything = FakeReceiver()
    try:
        events_cafe(endpoint(receiver.url, events=["points.earned"]), endpoint(everything.url))
        member_id = create_member(client)
        adjust(client, member_id, 30)
        work()
        assert receiver.types == ["points.earned"]
        assert everything.types == ["membership.created", "points.earned"]
    finally:
        everything.stop()


def test_a_merchant_without_webhooks_out_stores_no_event(rt, demo_merchant, client, work):
    create_member_response = client.post(
        "/partner-api/v2/program-memberships", json={"external_user_id": "x"}, headers={"X-API-Key": "test-demo-key"}
    )
    assert create_member_response.status_code == 200
    with rt.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_refused_change_writes_no_event(rt, events_cafe, receiver, client, work):
    member_id = create_member(client)
    work()
    refused = adjust(client, member_id, -1)
    assert (refused.status_code, refused.get_json()["error"]) == (422, "INSUFFICIENT_POINTS")
    work()
    with rt.db.reader() as session:
        assert session.scalars(select(Event.type)).all() == ["membership.created"]
    assert receiver.types == ["membership.created"]


def test_a_receiver_failing_twice_gets_the_event_three_times_and_keeps_it_once(
    rt, events_cafe, receiver, client, work, clock
):
    receiver.fail(2, status=503)
    create_member(client)
    work()
    [delivery] = deliveries(rt)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    assert delivery.next_attempt_at == clock.now + timedelta(seconds=5)
    for wait in event_deliveries.WAITS[:2]:
        clock.now += timedelta(seconds=wait)
        assert event_deliveries.deliver_due(rt) == 1
        work()
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [delivery_id_of(rt)] * 3
    assert receiver.types == ["membership.created"]
    [delivery] = deliveries(rt)
    assert (delivery.status, delivery.attempts, delivery.error) == ("delivered", 3, None)
    assert event_deliveries.deliver_due(rt) == 0


def delivery_id_of(rt) -> str:
    with rt.db.reader() as session:
        return session.scalars(select(Event.public_id)).one()


def test_after_the_eighth_failure_the_delivery_is_failed_with_its_reason(rt, events_cafe, receiver, client, clock):
    receiver.fail(8, status=500)
    create_member(client)
    [delivery] = deliveries(rt)
    waits = []
    for _ in range(8):
        before = clock.now
        assert event_deliveries.deliver(rt, delivery.id) in ("pending", "failed")
        row = deliveries(rt)[0]
        if row.next_attempt_at is not None:
            waits.append(int((row.next_attempt_at - before).total_seconds()))
            clock.now = row.next_attempt_at
    row = deliveries(rt)[0]
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert (row.status, row.attempts, row.error) == ("failed", 8, "HTTP 500")
    assert event_deliveries.deliver(rt, delivery.id) == "skipped"
    assert len(receiver.requests) == 8


def test_an_endpoint_failing_for_five_days_is_disabled_and_a_sync_enables_it_again(
    rt, events_cafe, receiver, client, work, clock
):
    receiver.fail(100, status=500)
    first = create_member(client, "guest-1")
    [delivery] = deliveries(rt)
    event_deliveries.deliver(rt, delivery.id)
    clock.now += timedelta(days=5)
    adjust(client, first, 10)
    later = deliveries(rt)[-1]
    event_deliveries.deliver(rt, later.id)
    with rt.db.reader() as session:
        [row] = session.scalars(select(EventEndpoint)).all()
        assert row.disabled_at == clock.now
    create_member(client, "guest-2")  # a disabled endpoint gets no new deliveries
    assert len(deliveries(rt)) == 2
    assert event_deliveries.deliver(rt, delivery.id) == "skipped"  # nor attempts of the waiting ones

    events_cafe()  # the merchant fixed the endpoint and synced
    with rt.db.reader() as session:
        assert session.scalars(select(EventEndpoint.disabled_at)).one() is None
    receiver.recover()
    clock.now += timedelta(days=1)
    event_deliveries.deliver_due(rt)  # what the sweep finds due and not already queued
    work()
    assert receiver.types == ["membership.created", "points.earned"]
    assert [d.status for d in deliveries(rt)] == ["delivered", "delivered"]


def test_a_delivery_whose_worker_died_is_made_again_after_its_lease_and_the_receiver_dedupes(
    rt, events_cafe, receiver, client, work, clock
):
    create_member(client)
    [delivery] = deliveries(rt)
    rt.dispatcher.queue("integrations").empty()  # a worker took the job off the queue ...
    assert event_deliveries._claim(rt, delivery.id) is not None  # ... claimed the delivery, then died
    assert event_deliveries.deliver(rt, delivery.id) == "skipped"  # a second worker does not send it meanwhile
    assert event_deliveries.deliver_due(rt) == 0
    clock.now += event_deliveries.LEASE
    assert event_deliveries.deliver_due(rt) == 1
    work()
    assert (deliveries(rt)[0].status, deliveries(rt)[0].attempts) == ("delivered", 2)
    assert receiver.types == ["membership.created"]


def test_production_refuses_an_endpoint_on_a_loopback_address_and_sends_it_nothing(rt, events_cafe, receiver, client):
    rt.production = True
    create_member(client)
    [delivery] = deliveries(rt)
    assert event_deliveries.deliver(rt, delivery.id) == "failed"
    row = deliveries(rt)[0]
    assert row.error == "refused: the endpoint resolves to the private address 127.0.0.1"
    assert receiver.requests == []


def test_during_a_rotation_each_delivery_is_signed_with_both_secrets(rt, events_cafe, client, work):
    old, new = FakeReceiver(SECRET), FakeReceiver(NEXT_SECRET)
    try:
        events_cafe(endpoint(old.url, secret=[SECRET, NEXT_SECRET]), endpoint(new.url, secret=[SECRET, NEXT_SECRET]))
        create_member(client)
        work()
        assert old.types == new.types == ["membership.created"]
        assert len(old.requests[0]["headers"]["webhook-signature"].split(" ")) == 2
    finally:
        old.stop()
        new.stop()


def test_an_endpoint_removed_from_the_merchants_file_gets_nothing_more(rt, events_cafe, receiver, client, work):
    other = FakeReceiver()
    try:
        create_member(client)
        events_cafe(endpoint(other.url))
        work()
        assert receiver.requests == []
        assert deliveries(rt)[0].error == "the endpoint is no longer in the merchants file"
    finally:
        other.stop()


def test_each_attempt_is_counted_by_its_outcome(rt, events_cafe, receiver, client, clock, redis_conn):
    from prometheus_client import CollectorRegistry

    from services import metrics

    previous = metrics.current_sink()
    metrics.install(metrics.PrometheusSink(CollectorRegistry()))
    try:
        receiver.fail(1, status=500)
        create_member(client)
        [delivery] = deliveries(rt)
        event_deliveries.deliver(rt, delivery.id)
        clock.now += timedelta(seconds=5)
        event_deliveries.deliver(rt, delivery.id)
        text = metrics.exposition(list, redis_conn).decode()
    finally:
        metrics.install(previous)
    assert 'punchcard_outbound_webhook_attempts_total{outcome="rejected"} 1.0' in text
    assert 'punchcard_outbound_webhook_attempts_total{outcome="delivered"} 1.0' in text


def test_a_change_rolled_back_after_its_event_was_written_leaves_no_event_and_queues_nothing(
    rt, events_cafe, receiver, client, work, clock
):
    import pytest

    from models import Member
    from services import ledger

    member_id = create_member(client)
    work()
    with pytest.raises(RuntimeError), rt.db.transaction() as session:
        member = session.get(Member, member_id)
        posting = ledger.Posting(key="gift:rolled-back", points=50, type="ADDITION", channel="admin")
        ledger.post(session, member, posting, clock.now)
        assert session.scalars(select(Event.type).where(Event.type == "points.earned")).all() == ["points.earned"]
        raise RuntimeError("the change fails after its event was written")
    work()
    with rt.db.reader() as session:
        assert session.scalars(select(Event.type)).all() == ["membership.created"]
    assert receiver.types == ["membership.created"]
    assert rt.dispatcher.queue("integrations").count == 0
