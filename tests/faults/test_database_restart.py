"""PostgreSQL restarted while deliveries arrive and jobs run: 503 while it is down, never 2xx; afterwards the
running app serves again (no restart: a pooled connection the server closed is replaced at checkout) and the
worker's failed jobs come back through RQ's retries, so everything acknowledged is processed once."""

from __future__ import annotations

import pytest

from factories import shopify_order

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

EMAIL = "restart@example.com"
CUSTOMER = {"id": 7_300_000_000_000_000_001, "email": EMAIL, "first_name": "Rae"}


def order(n: int) -> dict:
    return shopify_order(order_id=9_000 + n, subtotal=f"{n}.00", email=EMAIL, customer=CUSTOMER)


def test_while_postgres_restarts_deliveries_get_503_and_afterwards_everything_acknowledged_is_processed_once(
    make_system, postgres_url, fault_postgres
):
    system = make_system(postgres_url)
    system.start_web()
    worker = system.start_worker("worker")
    answers: dict[str, int] = {}

    def send(n: int) -> int:
        answers[f"d-{n}"] = system.post("orders/paid", order(n), f"d-{n}").status_code
        return answers[f"d-{n}"]

    assert send(1) == 200
    system.wait_for(lambda: system.all_processed(["d-1"]), what="first order processed")

    with system.member_locked(EMAIL):
        # d-2 is in flight (waiting on the member), d-3..d-5 wait in the queue, when the database goes down.
        assert [send(n) for n in range(2, 6)] == [200] * 4
        system.wait_for(system.waiting_on_a_lock, what="d-2 in flight")
        fault_postgres.stop_server()

    # While it is down: 503 for every delivery (never 2xx), and the health check names the database.
    down = [system.post("orders/paid", order(n), f"d-{n}") for n in range(6, 11)]
    assert [r.status_code for r in down] == [503] * 5
    assert {r.json()["error"] for r in down} == {"DATABASE_UNAVAILABLE"}
    health = system.healthz()
    assert health.status_code == 503
    assert health.json()["checks"] == {"database": "unavailable", "redis": "ok"}
    system.wait_for(lambda: "OperationalError" in worker.output(), what="the worker's job failing")

    fault_postgres.start_server()
    # The same app, not restarted: the very first requests succeed (stale pooled connections are replaced).
    assert system.healthz().status_code == 200
    assert [send(n) for n in range(6, 13)] == [200] * 7  # Shopify's retries of d-6..d-10, then new ones

    everything = [f"d-{n}" for n in range(1, 13)]
    system.wait_for(lambda: system.all_processed(everything), timeout=60, what="everything processed")
    assert answers == dict.fromkeys(everything, 200)
    assert set(system.deliveries()) == set(everything)
    assert set(system.deliveries().values()) == {("processed", 1)}
    assert "scheduled for retry" in worker.output()  # the jobs that met the outage came back through RQ
    [member] = system.balances().values()
    assert member["orders"] == {f"shopify:order:{9_000 + n}": n * 10 for n in range(1, 13)}
    assert member["ledger"] == member["points"] == sum(n * 10 for n in range(1, 13))
