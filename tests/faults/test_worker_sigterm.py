"""SIGTERM to the worker in the Heroku manner: every process of the dyno gets it at once, and SIGKILL follows
30 s later. The worker shuts down warm: the job in flight completes, the backlog stays queued for the next one."""

from __future__ import annotations

import signal
import time

import pytest
from rq.job import JobStatus

from factories import shopify_order

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

EMAIL = "sigterm@example.com"
CUSTOMER = {"id": 7_100_000_000_000_000_002, "email": EMAIL, "first_name": "Terry"}
BACKLOG = [f"order-{n}" for n in range(1, 7)]  # order-1 is in flight, the rest wait in the queue


def order(order_id: int, subtotal: str) -> dict:
    return shopify_order(order_id=order_id, subtotal=subtotal, email=EMAIL, customer=CUSTOMER)


def test_sigterm_to_every_worker_process_completes_the_job_in_flight_within_30_s_and_loses_no_job(
    make_system, postgres_url
):
    system = make_system(postgres_url)
    system.start_web()
    worker = system.start_worker("worker-1")
    assert system.post("orders/paid", order(100, "10.00"), "first").status_code == 200
    system.wait_for(lambda: system.all_processed(["first"]), what="first order processed")

    with system.member_locked(EMAIL):
        for n, webhook_id in enumerate(BACKLOG, start=1):
            assert system.post("orders/paid", order(100 + n, f"{n}.00"), webhook_id).status_code == 200
        system.wait_for(system.waiting_on_a_lock, what="order-1 in flight, waiting on the member's lock")
        assert system.rq_job("order-1").get_status() == JobStatus.STARTED

        signalled = worker.signal_every_process(signal.SIGTERM)
        started = time.monotonic()
        assert len(signalled) >= 2  # the worker (running the job itself) and its scheduler
        time.sleep(2)
        assert worker.alive(), "the worker did not wait for its job in flight"
    # The lock is released: the job in flight can finish.

    code = worker.wait(timeout=30)
    stopped_after = time.monotonic() - started
    assert code == 0, worker.output()[-3000:]
    assert stopped_after < 30
    assert "warm shut down requested" in worker.output().lower()
    assert "Work-horse terminated unexpectedly" not in worker.output()

    # The job in flight completed in the worker that was told to stop; nothing else was started.
    stored = system.deliveries()
    assert stored["order-1"] == ("processed", 1)
    assert system.rq_job("order-1").get_status() == JobStatus.FINISHED
    assert [stored[w] for w in BACKLOG[1:]] == [("received", 0)] * 5
    assert {system.rq_job(w).get_status() for w in BACKLOG[1:]} == {JobStatus.QUEUED}

    # No job was lost: the next worker drains the backlog, each once.
    replacement = system.start_worker("worker-2")
    system.wait_for(lambda: system.all_processed(BACKLOG), timeout=30, what="backlog drained")
    assert all(replacement.wait_for_output(f"Job OK ({system.rq_job(w).id})") == 1 for w in BACKLOG[1:])
    assert set(system.deliveries().values()) == {("processed", 1)}
    [member] = system.balances().values()
    assert member["orders"] == {"shopify:order:100": 100, **{f"shopify:order:{100 + n}": n * 10 for n in range(1, 7)}}
    assert member["ledger"] == member["points"] == 100 + 210
    print(f"\nworker stopped {stopped_after:.1f}s after SIGTERM")
