"""Worker throughput: orders settled per second against RQ no-op jobs, and draining 20,000 deliveries.

The backlog is stored the way the web process stores it (``deliveries`` rows,
status ``received``, each enqueued with ``process_delivery``'s options through
the app's own dispatcher), only in bulk, so that seeding takes seconds. Each
delivery is a distinct Shopify ``orders/paid`` order, ten per customer (a
pool of backlog/10 customers, 2,000 for 20,000 deliveries): the first order of a customer creates the member, later
ones find
it, and every order posts an accrual and opens a lot.

Workers are the Procfile's ``worker`` line with ``--burst`` (jobs run in the
worker process, workers/runner.py); the no-op baseline runs through the very
same command on the same queue. For comparison, the same command with
``--fork`` (rq's HerokuWorker, a work horse per job) settles a smaller backlog
against its own no-op baseline. The settle rate is measured in steady state (while
the queue goes from 90% to 10% of the backlog) for both; the drain time is
wall clock from starting the workers until they exit with every delivery
processed, start-up included.

The worker's memory is recorded along the one-worker drain, after half and
all of the backlog (10,000 and 20,000), with bench.stack.memory_snapshot.
``BENCH_BACKLOG=2000`` runs a quicker, smaller drain.

Two variants settle ``BENCH_VARIANT_BACKLOG`` (2,000) orders with the work the
feature issues added to a settle: ``events`` (the demo merchant with a
``webhooks_out`` endpoint: each change writes an event and its delivery, sent
to a verifying receiver) and ``hang`` (a Hang merchant: each order writes a
provider posting, sent to a fake Hang over HTTP).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime

import psutil
from sqlalchemy import func, insert, select

from bench import stack as st
from tests.factories import encode, shopify_order

ORDERS_PER_CUSTOMER = 10
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "20000"))
VARIANT_BACKLOG = int(os.environ.get("BENCH_VARIANT_BACKLOG", "2000"))
FORK_BACKLOG = 1_000  # the --fork comparison settles about 10 orders/s: a smaller backlog tells the same
ORDER_BASE = 5_600_000_000_000
CUSTOMER_BASE = 7_400_000_000_000_000_000


def payload(n: int, customers: int) -> bytes:
    """Order ``n``: a paid order of customer ``n % customers``."""
    c = n % customers
    customer = {
        "id": CUSTOMER_BASE + c,
        "email": f"bench{c}@example.com",
        "phone": None,
        "first_name": "Bench",
        "last_name": f"Customer {c}",
    }
    subtotal = f"{10 + n % 90}.{n % 100:02d}"
    return encode(
        shopify_order(
            ORDER_BASE + n,
            subtotal=subtotal,
            customer=customer,
            email=customer["email"],
            updated_at="2026-06-01T10:00:00-04:00",
        )
    )


def seed(stack: st.Stack, count: int, shop: str = st.SHOP) -> None:
    """Store ``count`` received deliveries of ``shop`` and enqueue each, as the web process would."""
    from models import Delivery, Merchant

    rt = stack.runtime()
    now = datetime.now(UTC)
    customers = max(count // ORDERS_PER_CUSTOMER, 1)
    with rt.db.transaction() as session:
        merchant_id = session.execute(select(Merchant.id).where(Merchant.shopify_shop_domain == shop)).scalar_one()
        rows = [
            {
                "merchant_id": merchant_id,
                "provider": "shopify",
                "topic": "orders/paid",
                "delivery_id": f"bench-{n}",
                "event_id": f"evt-bench-{n}",
                "triggered_at": now,
                "received_at": now,
                "body": payload(n, customers),
                "status": "received",
                "attempts": 0,
                "headers": {"Topic": "orders/paid", "Shop-Domain": shop, "Webhook-Id": f"bench-{n}"},
            }
            for n in range(count)
        ]
        for i in range(0, count, 2_000):
            session.execute(insert(Delivery), rows[i : i + 2_000])
    with rt.db.reader() as session:
        pks = session.execute(select(Delivery.id).order_by(Delivery.id)).scalars().all()
    for pk in pks:
        rt.dispatcher.dispatch("process_delivery", pk)
    rt.db.dispose()


def seed_noop(stack: st.Stack, count: int) -> None:
    """``count`` no-op jobs on the webhooks queue, with process_delivery's options."""
    from bench.noop import noop
    from workers.queues import JOBS

    rt = stack.runtime()
    spec = JOBS["process_delivery"]
    queue = rt.dispatcher.queue(spec.queue)
    for n in range(count):
        queue.enqueue(
            noop, job_id=f"noop-{n}", retry=spec.retry, job_timeout=spec.timeout, result_ttl=600, failure_ttl=7 * 86400
        )


class Drain:
    """Runs ``workers`` burst workers until the queues are empty; samples progress and memory meanwhile."""

    def __init__(
        self, stack: st.Stack, workers: int, total: int, checkpoints: tuple[int, ...] = (), command=None
    ) -> None:
        self.stack, self.workers, self.total, self.checkpoints = stack, workers, total, checkpoints
        self.command = command or (lambda name: st.worker_command(stack.env(), name))
        self.samples: list[tuple[float, int]] = []  # (seconds since start, jobs left in the queue)
        self.memory: dict[int, dict] = {}
        self.peak_child_mb = 0.0

    def run(self) -> float:
        queue = self.stack.runtime().dispatcher.queue("webhooks")
        started = time.perf_counter()
        procs = [self.stack.start(self.command(f"bench-{self.workers}-{i}"), "worker.log") for i in range(self.workers)]
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(queue, procs, started, done), daemon=True)
        watcher.start()
        for proc in procs:
            # Not wait4's ru_maxrss: Linux carries over the peak of the process before its exec, a
            # fork of this (much larger) benchmark process. VmHWM, read at the checkpoints, is not.
            proc.wait()
            if proc.returncode != 0:
                raise RuntimeError(f"worker exited with {proc.returncode}; see {self.stack.work}/worker.log")
        elapsed = time.perf_counter() - started
        done.set()
        watcher.join()
        return elapsed

    def _watch(self, queue, procs, started: float, done: threading.Event) -> None:
        pending = list(self.checkpoints)
        while not done.is_set():
            left = queue.count
            now = time.perf_counter() - started
            self.samples.append((now, left))
            for child in st.tree(procs[0].pid)[1:]:  # RQ's scheduler process (and the horses with --fork)
                try:
                    self.peak_child_mb = max(self.peak_child_mb, child.memory_info().rss / 2**20)
                except psutil.Error:  # a work horse lives milliseconds
                    pass
            if pending and self.total - left >= pending[0]:
                self.memory[pending.pop(0)] = st.memory_snapshot(procs[0].pid)
            time.sleep(0.05)

    def steady_rate(self) -> float:
        """Jobs per second while the queue went from 90% to 10% of the backlog."""
        hi_t, hi_left = next((t, left) for t, left in self.samples if left <= 0.9 * self.total)
        lo_t, lo_left = next((t, left) for t, left in self.samples if left <= 0.1 * self.total)
        return (hi_left - lo_left) / (lo_t - hi_t)


def outcome(stack: st.Stack) -> dict:
    """Deliveries by status after a drain."""
    from models import Delivery

    rt = stack.runtime()
    with rt.db.reader() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    rt.db.dispose()
    return dict(rows)


def fork_command(stack: st.Stack):
    return lambda name: [*st.worker_command(stack.env(), name), "--fork"]


def run(cluster=None, backlog: int = BACKLOG, noop_jobs: int = 1_000, backend: str = "postgresql") -> dict:
    """Measure; returns the figures (the worker's memory under ``memory``)."""
    checkpoints = (backlog // 2, backlog)
    result: dict = {
        "case": "worker",
        "backend": backend,
        "backlog": backlog,
        "noop_jobs": noop_jobs,
        "customers": max(backlog // ORDERS_PER_CUSTOMER, 1),
    }
    with st.stack(backend, cluster) as stack:
        seed_noop(stack, noop_jobs)
        noop = Drain(stack, 1, noop_jobs)
        noop.run()
        result["noop_jobs_per_s"] = round(noop.steady_rate(), 1)

        t = time.perf_counter()
        seed(stack, backlog)
        result["seed_s"] = round(time.perf_counter() - t, 1)
        one = Drain(stack, 1, backlog, checkpoints)
        result["drain_1_worker_s"] = round(one.run(), 1)
        result["settled_per_s_per_worker"] = round(one.steady_rate(), 1)
        result["outcome_1_worker"] = outcome(stack)
        result["memory"] = {
            "checkpoints": {str(k): v for k, v in one.memory.items()},
            "peak_child_rss_mb": round(one.peak_child_mb, 1),
        }
    with st.stack(backend, cluster) as stack:
        seed(stack, backlog)
        two = Drain(stack, 2, backlog)
        result["drain_2_workers_s"] = round(two.run(), 1)
        result["settled_per_s_2_workers"] = round(two.steady_rate(), 1)
        result["outcome_2_workers"] = outcome(stack)
    result["ratio"] = round(result["settled_per_s_per_worker"] / result["noop_jobs_per_s"], 3)
    for kind in ("events", "hang"):
        result[kind] = variant(cluster, backend, kind, result["noop_jobs_per_s"])
    result["fork"] = fork_comparison(cluster, backend, noop_jobs)
    return result


def variant(cluster, backend: str, kind: str, noop_rate: float, backlog: int = VARIANT_BACKLOG) -> dict:
    """Settles that also write an event per change (``events``: the demo merchant with a webhooks_out
    endpoint, a verifying receiver in this process) or a provider posting (``hang``: a Hang merchant, a fake
    Hang over HTTP in this process). The settle rate is the webhooks queue's, as for the plain settle; the
    drain ends when the events or postings are sent too (the worker takes them after the orders)."""
    sys.path.insert(0, str(st.ROOT / "tests"))  # the suite's fakes, in their documented shapes
    from fake_hang import FakeHang
    from fake_receiver import SECRET, FakeReceiver
    from hang_support import SHOP as HANG_SHOP
    from hang_support import config as hang_config

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fakes' request lines
    fake = FakeReceiver() if kind == "events" else FakeHang()
    config = st.EXAMPLE_CONFIG.read_text()
    if kind == "events":
        keys = "      - ${DEMO_CAFE_API_KEY:-demo-cafe-dev-key}\n"
        config = config.replace(keys, f"{keys}    webhooks_out: [{{url: '{fake.url}', secret: {SECRET}}}]\n", 1)
    else:
        config += hang_config(fake.base_url).split("merchants:", 1)[1]
    try:
        with st.stack(backend, cluster, merchants=config) as stack:
            seed(stack, backlog, st.SHOP if kind == "events" else HANG_SHOP)
            drain = Drain(stack, 1, backlog)
            elapsed = drain.run()
            rate = drain.steady_rate()
            sent = len(fake.events) if kind == "events" else len(fake.activities)
            return {
                "backlog": backlog,
                "settled_per_s_per_worker": round(rate, 1),
                "ratio": round(rate / noop_rate, 3),
                "drain_s": round(elapsed, 1),
                "sent": sent,  # events verified by the receiver, or purchase activities Hang recorded
                "outcome": outcome(stack),
            }
    finally:
        fake.stop()


def fork_comparison(cluster, backend: str, noop_jobs: int) -> dict:
    """The same settles and no-ops through ``flask worker --fork``: what a work horse per job costs."""
    with st.stack(backend, cluster) as stack:
        seed_noop(stack, noop_jobs)
        drain = Drain(stack, 1, noop_jobs, command=fork_command(stack))
        drain.run()
        fork = {"noop_jobs_per_s": round(drain.steady_rate(), 1), "backlog": FORK_BACKLOG}
        seed(stack, FORK_BACKLOG)
        drain = Drain(stack, 1, FORK_BACKLOG, command=fork_command(stack))
        fork["drain_1_worker_s"] = round(drain.run(), 1)
        fork["settled_per_s_per_worker"] = round(drain.steady_rate(), 1)
        fork["outcome"] = outcome(stack)
        fork["ratio"] = round(fork["settled_per_s_per_worker"] / fork["noop_jobs_per_s"], 3)
    return fork
