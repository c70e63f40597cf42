"""The migrations match the models, and concurrent workers never split a person or double a posting."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from factories import encode, shopify_headers, shopify_order
from models import Delivery, LedgerEntry, Member, metadata
from services.inbox import processing as deliveries


def test_the_migrated_schema_is_exactly_the_models(database):
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def store(client, n: int, order_id: int, subtotal: str = "10.00"):
    body = encode(shopify_order(order_id=order_id, subtotal=subtotal))
    assert (
        client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", f"w{n}")).status_code
        == 200
    )


def delivery_ids(rt) -> list[int]:
    with rt.db.reader() as s:
        return s.execute(select(Delivery.id).order_by(Delivery.id)).scalars().all()


def test_concurrent_orders_of_one_new_customer_create_one_member_and_count_every_order(rt, demo_merchant, client):
    for n in range(8):
        store(client, n, order_id=1000 + n)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda pk: deliveries.process(rt, pk), delivery_ids(rt)))
    assert statuses == ["processed"] * 8
    with rt.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 1
        assert s.execute(select(Member.points)).scalar_one() == 8 * 100


def test_the_same_delivery_processed_by_two_workers_at_once_posts_once(rt, demo_merchant, client):
    store(client, 1, order_id=1)
    [pk] = delivery_ids(rt)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: deliveries.process(rt, pk), range(4)))
    with rt.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert s.execute(select(Member.points)).scalar_one() == 100
