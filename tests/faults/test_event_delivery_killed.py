"""A worker SIGKILLed while an event is on its way to the merchant: the event is delivered again, and kept once.

The receiver holds the first attempt open; the whole worker (and its scheduler) is killed while it waits.
The claim's lease then lapses (moved back, not waited for), the sweep hands the delivery to a new worker,
and the receiver, which had already taken the first attempt, dedupes the second on ``webhook-id``.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
from events_support import KEY, V2, config, endpoint
from fake_receiver import FakeReceiver
from sqlalchemy import select

from models import EventDelivery

pytestmark = [pytest.mark.faults]


@pytest.fixture
def slow_receiver():
    fake = FakeReceiver()
    fake.delay(8)  # less than the sender's 15 s: the worker is killed while it waits
    yield fake
    fake.stop()


def test_a_worker_killed_mid_delivery_loses_no_event(make_system, sqlite_url, slow_receiver):
    system = make_system(sqlite_url, config(endpoint(slow_receiver.url)))
    system.start_web()
    worker = system.start_worker("worker-1")
    created = system.http.post(
        f"{system.base_url}{V2}/program-memberships", json={"external_user_id": "guest-k"}, headers=KEY, timeout=5
    )
    assert created.status_code == 200, created.text
    system.wait_for(lambda: len(slow_receiver.requests) == 1, what="the first attempt at the receiver")
    worker.signal_every_process(signal.SIGKILL)
    worker.wait(timeout=10)
    assert statuses(system) == [("sending", 1)]

    system.start_worker("worker-2")
    slow_receiver.delay(0)
    assert sweep(system) == 0  # the dead attempt's lease still runs
    # Two minutes pass, without waiting for them: the claim's 60 s lease and the dead run's RQ heartbeat lapse.
    lapse_the_lease(system)
    assert sweep(system, later=timedelta(minutes=2)) == 1
    system.wait_for(lambda: statuses(system) == [("delivered", 2)], timeout=30, what="delivered by the new worker")
    assert len(slow_receiver.requests) == 2
    assert len({r["headers"]["webhook-id"] for r in slow_receiver.requests}) == 1
    assert slow_receiver.types == ["membership.created"]


def statuses(system) -> list[tuple[str, int]]:
    with system.db.reader() as session:
        return [(d.status, d.attempts) for d in session.execute(select(EventDelivery)).scalars()]


def lapse_the_lease(system) -> None:
    with system.db.transaction() as session:
        for delivery in session.execute(select(EventDelivery)).scalars():
            delivery.lease_until = datetime.now(UTC) - timedelta(seconds=1)


def sweep(system, later: timedelta = timedelta(0)) -> int:
    """The scheduled ``deliver_due_events``; RQ's heartbeats judged as ``later`` from now."""
    from models import Database
    from services.outbox.event_deliveries import deliver_due
    from services.runtime import Runtime
    from workers.queues import RQDispatcher, connect

    db = Database(system.db.url)
    dispatcher = RQDispatcher(connect(system.redis.url), clock=lambda: datetime.now(UTC) + later)
    try:
        return deliver_due(Runtime(db=db, dispatcher=dispatcher))
    finally:
        dispatcher.connection.close()
        db.dispose()
