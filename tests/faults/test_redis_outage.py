"""Redis stopped while deliveries arrive: the sender gets 503 (so it retries), nothing is acknowledged that is
not stored, and once Redis is back the sweeper enqueues what was stored but never queued."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus

from factories import shopify_order

pytestmark = pytest.mark.faults

LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED}


def delivery(n: int) -> tuple[str, dict]:
    email = f"outage-{n % 3}@example.com"
    return f"outage-{n}", shopify_order(
        order_id=8_000 + n,
        subtotal=f"{10 + n}.00",
        email=email,
        customer={"id": 7_200_000_000_000_000_000 + n % 3, "email": email},
    )


class Sender(threading.Thread):
    """Shopify sending order after order, and keeping every answer."""

    def __init__(self, system) -> None:
        super().__init__(daemon=True)
        self.system, self.answers, self.stopping = system, {}, threading.Event()

    def run(self) -> None:
        session, n = requests.Session(), 0
        while not self.stopping.is_set():
            webhook_id, payload = delivery(n)
            response = self.system.post("orders/paid", payload, webhook_id, session=session)
            self.answers[webhook_id] = (response.status_code, response.json().get("error"))
            n += 1
            time.sleep(0.02)


def test_while_redis_is_down_deliveries_get_503_are_stored_and_the_sweeper_enqueues_them_when_it_is_back(
    make_system, sqlite_url, fault_redis
):
    system = make_system(sqlite_url)
    system.start_web()
    sender = Sender(system)
    sender.start()
    system.wait_for(lambda: len(sender.answers) >= 10, what="deliveries before the outage")

    fault_redis.stop()
    stopped_at = len(sender.answers)
    system.wait_for(lambda: len(sender.answers) >= stopped_at + 15, what="deliveries during the outage")
    health = system.healthz()
    assert health.status_code == 503
    assert health.json()["checks"] == {"database": "ok", "redis": "unavailable"}

    fault_redis.start()
    restarted_at = len(sender.answers)
    system.wait_for(lambda: len(sender.answers) >= restarted_at + 10, what="deliveries after the restart")
    sender.stopping.set()
    sender.join(timeout=15)
    answers = dict(sender.answers)

    statuses = {status for status, _ in answers.values()}
    assert statuses == {200, 503}
    rejected = {w for w, answer in answers.items() if answer[0] == 503}
    assert {answers[w][1] for w in rejected} == {"QUEUE_UNAVAILABLE"}
    assert len(rejected) >= 10

    # Nothing acknowledged unless stored; what was refused with 503 was stored too (before the enqueue failed).
    stored = system.deliveries()
    assert set(answers) <= set(stored)
    assert {stored[w] for w in answers} == {("received", 0)}

    # Persistence: every acknowledged delivery's job survived the restart in the queue.
    redis = fault_redis.client()

    def live(webhook_id: str) -> bool:
        try:
            return system.rq_job(webhook_id).get_status() in LIVE
        except NoSuchJobError:
            return False

    acknowledged = set(answers) - rejected
    assert all(live(w) for w in acknowledged)
    never_queued = {w for w in answers if not live(w)}
    assert never_queued and never_queued <= rejected

    # The sweeper (every minute, deliveries older than 2 minutes) enqueues exactly those, once.
    assert system.sweep(later=timedelta(minutes=3)) == len(never_queued)
    assert system.sweep(later=timedelta(minutes=3)) == 0
    assert all(live(w) for w in answers)

    # Shopify retries the ones it was refused: acknowledged as repeats, not stored again.
    for webhook_id in sorted(rejected):
        n = int(webhook_id.rsplit("-", 1)[1])
        response = system.post("orders/paid", delivery(n)[1], webhook_id)
        assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert len(system.deliveries()) == len(answers)
    queued_jobs = Queue("webhooks", connection=redis).get_job_ids()
    assert len(queued_jobs) == len(set(queued_jobs)) == len(answers)  # one job per delivery, no copies

    worker = system.start_worker("worker")
    system.wait_for(lambda: system.all_processed(answers), timeout=60, what="every delivery processed")
    assert set(system.deliveries().values()) == {("processed", 1)}
    assert worker.wait_for_output("Job OK (process_delivery-", len(answers)) == len(answers)
    expected: dict[str, int] = {}
    for webhook_id in answers:
        n = int(webhook_id.rsplit("-", 1)[1])
        expected[f"outage-{n % 3}@example.com"] = expected.get(f"outage-{n % 3}@example.com", 0) + (10 + n) * 10
    balances = system.balances()
    assert {email: b["points"] for email, b in balances.items()} == expected
    assert {email: b["ledger"] for email, b in balances.items()} == expected
