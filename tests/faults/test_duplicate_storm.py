"""A duplicate storm: 5,000 signed deliveries, 30 % of them repeats, in shuffled order, over HTTP to gunicorn,
settled by two worker processes. The ledger must equal sums computed here, independently, from the payloads."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
import requests
from rq import Queue, Worker

pytestmark = pytest.mark.faults

TOTAL, REPEAT_SHARE, CUSTOMERS = 5000, Decimal("0.30"), 12
POINTS_PER_UNIT = 10  # the tier's merchants file: 10 points per 1.00 of subtotal, floored, one tier


@dataclass
class Order:
    id: int
    customer: dict
    states: list = field(default_factory=list)  # (updated_at, financial_status, subtotal, cancelled)
    refunds: dict = field(default_factory=dict)  # refund id -> amount


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    topic: str
    payload: dict


def shopify_order_state(
    order: Order, updated_at: datetime, status: str, subtotal: Decimal, *, cancelled: bool = False
) -> dict:
    """An orders/* body as Shopify sends it; it carries every refund made before ``updated_at``."""
    refunds = [
        {
            "id": rid,
            "order_id": order.id,
            "created_at": at.isoformat(),
            "refund_line_items": [{"id": rid * 10, "line_item_id": 1, "quantity": 1, "subtotal": str(amount)}],
        }
        for rid, (amount, at) in order.refunds.items()
        if at < updated_at
    ]
    return {
        "id": order.id,
        "email": order.customer["email"],
        "currency": "USD",
        "financial_status": status,
        "subtotal_price": str(subtotal),
        "total_tax": "1.00",
        "total_price": str(subtotal + Decimal("6.00")),
        "total_outstanding": "0.00",
        "taxes_included": False,
        "updated_at": updated_at.isoformat(),
        "created_at": "2026-05-01T09:00:00+00:00",
        "cancelled_at": updated_at.isoformat() if cancelled else None,
        "customer": order.customer,
        "line_items": [{"id": 1, "product_id": 1, "quantity": 1, "price": str(subtotal), "total_discount": "0.00"}],
        "shipping_lines": [{"price": "5.00"}],
        "refunds": refunds,
    }


def money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def scenario(seed: int) -> tuple[list[Order], list[Delivery]]:
    """Orders of a few customers, each delivered as its life in Shopify topics (each delivery once).

    An order is created unpaid, paid, sometimes edited, sometimes refunded (``refunds/create`` plus the
    ``orders/updated`` that carries the refund), sometimes cancelled at the end. The unpaid state is always
    the oldest and a cancellation always the newest, as in Shopify.
    """
    rng = random.Random(seed)
    customers = [
        {"id": 7_000_000_000_000_000_000 + n, "email": f"storm-{n}@example.com", "first_name": f"C{n}"}
        for n in range(CUSTOMERS)
    ]
    unique = TOTAL - int(TOTAL * REPEAT_SHARE)
    orders, deliveries = [], []
    base = datetime(2026, 6, 1, 8, tzinfo=UTC)
    while len(deliveries) < unique:
        order = Order(id=6_100_000_000_000 + len(orders), customer=rng.choice(customers))
        orders.append(order)
        t = base + timedelta(minutes=len(orders))
        life = [("orders/create", t, "pending", money(rng, 5, 90), False)]
        life.append(("orders/paid", t + timedelta(minutes=1), "paid", life[0][3], False))
        if rng.random() < 0.4:  # edited after payment
            life.append(("orders/updated", t + timedelta(hours=1), "paid", money(rng, 5, 90), False))
        subtotal = life[-1][3]
        if rng.random() < 0.35:  # refunded: refunds/create, then the update that carries the refund
            refund_id, at = order.id * 100 + 1, t + timedelta(hours=2)
            amount = min(subtotal, money(rng, 1, 60))
            order.refunds[refund_id] = (amount, at)
            deliveries.append(
                Delivery(
                    f"storm-{order.id}-refund",
                    "refunds/create",
                    {
                        "id": refund_id,
                        "order_id": order.id,
                        "created_at": at.isoformat(),
                        "refund_line_items": [
                            {"id": refund_id * 10, "line_item_id": 1, "quantity": 1, "subtotal": str(amount)}
                        ],
                    },
                )
            )
            status = "refunded" if amount == subtotal else "partially_refunded"
            life.append(("orders/updated", at + timedelta(minutes=1), status, subtotal, False))
        if rng.random() < 0.1:
            life.append(("orders/cancelled", t + timedelta(hours=3), "voided", subtotal, True))
        for n, (topic, updated_at, status, amount, cancelled) in enumerate(life):
            order.states.append((updated_at, status, amount, cancelled))
            deliveries.append(
                Delivery(
                    f"storm-{order.id}-{n}",
                    topic,
                    shopify_order_state(order, updated_at, status, amount, cancelled=cancelled),
                )
            )
    return orders, deliveries


def expected_points(order: Order) -> int:
    """What the order holds once everything is settled, from the rules of webhooks.md, computed here.

    The latest state (by ``updated_at``) decides; a cancelled order holds nothing; refunds take back points
    in proportion to the refunded subtotal, floored, everything once the whole subtotal is refunded.
    """
    _, status, subtotal, cancelled = max(order.states)
    if cancelled or status not in ("paid", "partially_refunded", "refunded"):
        return 0
    earned = int((subtotal * POINTS_PER_UNIT).to_integral_value(ROUND_FLOOR))
    refunded = sum((amount for amount, _ in order.refunds.values()), Decimal(0))
    if refunded >= subtotal:
        return 0
    return earned - int((earned * refunded / subtotal).to_integral_value(ROUND_FLOOR))


def test_a_storm_of_5000_shuffled_deliveries_with_30_percent_repeats_settles_every_point_exactly_once(
    make_system, postgres_url
):
    orders, unique = scenario(seed=5)
    rng = random.Random(55)
    storm = unique + [rng.choice(unique) for _ in range(TOTAL - len(unique))]
    rng.shuffle(storm)
    assert len(storm) == TOTAL and len({d.webhook_id for d in storm}) == len(unique)

    system = make_system(postgres_url)
    system.start_web()
    system.start_worker("worker-1")
    system.start_worker("worker-2")

    local = threading.local()

    def send(delivery: Delivery) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return system.post(delivery.topic, delivery.payload, delivery.webhook_id, session=local.session).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(send, storm))
    posted = time.monotonic() - started
    assert statuses == {200: TOTAL}

    ids = [d.webhook_id for d in unique]
    system.wait_for(lambda: system.all_processed(ids), timeout=300, interval=0.5, what="every delivery processed")
    settled = time.monotonic() - started
    print(f"\nstorm: {TOTAL} posted in {posted:.0f} s, {len(unique)} deliveries settled in {settled:.0f} s")

    # One job per delivery: a repeat never enqueued a second copy of a live job, and no job failed.
    redis = system.redis.client()

    def jobs_run() -> tuple[int, int]:
        workers = Worker.all(connection=redis)
        return sum(w.successful_job_count for w in workers), sum(w.failed_job_count for w in workers)

    system.wait_for(lambda: sum(jobs_run()) >= len(unique), timeout=10, what="the workers' job counts")
    assert jobs_run() == (len(unique), 0)
    assert Queue("webhooks", connection=redis).count == 0

    # Each delivery stored once and processed once (its attempt counter committed once).
    stored = system.deliveries()
    assert len(stored) == len(unique)
    assert {status for status, _ in stored.values()} == {"processed"}
    assert {attempts for _, attempts in stored.values()} == {1}

    # The ledger equals the sums computed from the payloads: per order, per member, and the stored balances.
    want_orders: dict[str, dict[str, int]] = defaultdict(dict)
    for order in orders:
        points = expected_points(order)
        if points:
            want_orders[order.customer["email"]][f"shopify:order:{order.id}"] = points
    balances = system.balances()
    for email, want in want_orders.items():
        got = balances[email]
        assert {ref: pts for ref, pts in got["orders"].items() if pts} == want, email
        assert got["ledger"] == got["points"] == sum(want.values()), email
    assert set(balances) == {o.customer["email"] for o in orders}
