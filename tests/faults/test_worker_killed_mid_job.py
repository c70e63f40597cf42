"""A worker SIGKILLed in the middle of a job: the delivery is still processed exactly once.

The job is held mid-flight by a row lock the test takes on the member (PostgreSQL): the job has locked
the delivery, counted its attempt and is settling the order when it is killed. The default worker runs
jobs in its own process; ``--fork`` runs each in a work horse, which can die alone.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from factories import shopify_order

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

EMAIL = "killed@example.com"
CUSTOMER = {"id": 7_100_000_000_000_000_001, "email": EMAIL, "first_name": "Kay"}


def order(order_id: int, subtotal: str) -> dict:
    return shopify_order(order_id=order_id, subtotal=subtotal, email=EMAIL, customer=CUSTOMER)


def a_member_with_a_settled_order(system) -> None:
    assert system.post("orders/paid", order(1, "10.00"), "first").status_code == 200
    system.wait_for(lambda: system.all_processed(["first"]), what="first order processed")


def a_job_blocked_mid_transaction(system) -> None:
    """Post a second order while the member is locked; return once its job waits on the lock."""
    assert system.post("orders/paid", order(2, "25.00"), "second").status_code == 200
    system.wait_for(system.waiting_on_a_lock, what="the job waiting on the member's lock")
    assert system.rq_job("second").get_status() == JobStatus.STARTED


def assert_the_order_earned_once(system) -> None:
    assert system.deliveries() == {"first": ("processed", 1), "second": ("processed", 1)}
    [member] = system.balances().values()
    assert member["orders"] == {"shopify:order:1": 100, "shopify:order:2": 250}
    assert member["entries"] == 2 and member["ledger"] == member["points"] == 350


def test_a_work_horse_killed_mid_job_is_retried_by_rq_and_the_order_earns_once(make_system, postgres_url):
    system = make_system(postgres_url)
    system.start_web()
    worker = system.start_worker("worker", fork=True)
    a_member_with_a_settled_order(system)

    with system.member_locked(EMAIL):
        a_job_blocked_mid_transaction(system)
        horse = worker.horse()
        assert horse is not None, "no work horse found"
        horse.send_signal(signal.SIGKILL)
        horse.wait(timeout=10)
    # Its transaction never committed: the attempt it counted is gone with it.

    system.wait_for(lambda: system.all_processed(["second"]), timeout=30, what="second order processed")
    assert worker.alive()
    assert "Work-horse terminated unexpectedly" in worker.output()
    job = system.rq_job("second")
    assert job.get_status() == JobStatus.FINISHED
    assert job.retries_left == 5  # RQ counted the killed run as one failed attempt and retried it
    assert_the_order_earned_once(system)


def test_a_worker_killed_mid_job_is_recovered_by_the_sweeper_and_the_order_earns_once(make_system, postgres_url):
    system = make_system(postgres_url)
    system.start_web()
    worker = system.start_worker("worker-1")
    a_member_with_a_settled_order(system)

    with system.member_locked(EMAIL):
        a_job_blocked_mid_transaction(system)
        assert worker.horse() is None  # the job runs in the worker process itself
        # The machine loses the whole worker at once (OOM killer, lost dyno): the worker and its scheduler.
        worker.signal_every_process(signal.SIGKILL)
        worker.wait(timeout=10)

    # Nobody is left to tell RQ: it still believes the job is running, and a new worker does not take it.
    replacement = system.start_worker("worker-2")
    time.sleep(1)
    job = system.rq_job("second")
    assert job.get_status() == JobStatus.STARTED
    assert system.deliveries()["second"] == ("received", 0)

    # While the dead run's heartbeat is fresh, it counts as live (a slow job is not a dead one) ...
    assert system.sweep(older_than=timedelta(0)) == 0
    # ... and once it has lapsed, the sweeper (run every minute; deliveries older than 2 minutes)
    # enqueues the delivery again, as it will run 3 minutes from now.
    assert system.sweep(later=timedelta(minutes=3)) == 1
    # Its new job is live (queued, or running in the new worker): a sweep now does not enqueue it twice.
    # (Judged at the real time: 3 minutes ahead, a run heartbeating right now would look dead too.)
    assert system.sweep(older_than=timedelta(0)) == 0

    system.wait_for(lambda: system.all_processed(["second"]), timeout=30, what="second order processed")
    assert replacement.wait_for_output(f"Job OK ({job.id})") == 1
    # RQ's record of the dead run is gone, so its own clean-up will not run the job yet again.
    assert job.id not in StartedJobRegistry("webhooks", connection=system.redis.client())
    assert_the_order_earned_once(system)
