"""Shopify deliveries through the real path: HTTP edge -> database -> Redis -> RQ worker -> ledger."""

from __future__ import annotations

from sqlalchemy import func, select

from factories import CUSTOMER_ID, encode, shopify_headers, shopify_order, shopify_refund
from models import Delivery, LedgerEntry, Member

ORDER = 5_500_000_000_001


def deliver(client, topic: str, payload, webhook_id: str):
    body = encode(payload)
    return client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id))


def member(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()


def entries(rt) -> list[LedgerEntry]:
    with rt.db.reader() as s:
        return s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars().all()


def test_a_paid_order_creates_the_member_and_accrues_points_on_the_subtotal(rt, demo_merchant, client, work):
    assert deliver(client, "orders/paid", shopify_order(subtotal="42.50"), "w1").status_code == 200
    work()
    m = member(rt)
    assert (m.points, m.lifetime_earned) == (425, 425)
    assert m.shopify_customer_id == str(CUSTOMER_ID)
    assert (m.email, m.phone, m.first_name) == ("ada@example.com", "+14155550134", "Ada")


def test_a_repeated_delivery_is_acknowledged_and_counted_once(rt, demo_merchant, client, work):
    first = deliver(client, "orders/paid", shopify_order(), "w1")
    again = deliver(client, "orders/paid", shopify_order(), "w1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["status"] == "duplicate"
    work()
    assert member(rt).points == 425
    with rt.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 1


def test_the_same_order_through_two_topics_earns_once(rt, demo_merchant, client, work):
    deliver(client, "orders/create", shopify_order(), "w1")
    deliver(client, "orders/paid", shopify_order(), "w2")
    work()
    assert member(rt).points == 425
    assert len(entries(rt)) == 1


def test_a_later_larger_state_posts_only_the_difference(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="10.00"), "w1")
    work()
    deliver(client, "orders/updated", shopify_order(subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00"), "w2")
    work()
    assert member(rt).points == 150
    assert [e.points for e in entries(rt)] == [100, 50]


def test_an_older_state_arriving_late_changes_nothing(rt, demo_merchant, client, work):
    deliver(client, "orders/updated", shopify_order(subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00"), "w2")
    work()
    deliver(client, "orders/paid", shopify_order(subtotal="10.00"), "w1")
    work()
    assert member(rt).points == 150
    with rt.db.reader() as s:
        notes = s.execute(select(Delivery.error).order_by(Delivery.id)).scalars().all()
    assert notes[1].startswith("stale")


def test_an_unpaid_order_earns_nothing_until_it_is_paid(rt, demo_merchant, client, work):
    deliver(client, "orders/create", shopify_order(status="pending"), "w1")
    work()
    assert member(rt).points == 0
    deliver(client, "orders/paid", shopify_order(updated_at="2026-06-01T10:05:00-04:00"), "w2")
    work()
    assert member(rt).points == 425


def test_a_partial_refund_reverses_in_proportion(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="40.00"), "w1")
    deliver(client, "refunds/create", shopify_refund(901, ORDER, "10.00"), "w2")
    work()
    assert member(rt).points == 300
    assert [e.points for e in entries(rt)] == [400, -100]


def test_a_refund_seen_first_in_orders_updated_is_reversed_once(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="40.00"), "w1")
    work()
    refund = shopify_refund(901, ORDER, "10.00")
    update = shopify_order(
        subtotal="40.00", status="partially_refunded", refunds=[refund], updated_at="2026-06-02T10:00:01-04:00"
    )
    deliver(client, "orders/updated", update, "w2")
    work()
    deliver(client, "refunds/create", refund, "w3")
    work()
    assert member(rt).points == 300


def test_a_later_update_never_undoes_a_refund(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="40.00"), "w1")
    deliver(client, "refunds/create", shopify_refund(901, ORDER, "10.00"), "w2")
    work()
    deliver(client, "orders/updated", shopify_order(subtotal="40.00", updated_at="2026-06-03T10:00:00-04:00"), "w3")
    work()
    assert member(rt).points == 300


def test_a_full_refund_takes_back_everything(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="33.33"), "w1")
    deliver(client, "refunds/create", shopify_refund(901, ORDER, "11.11"), "w2")
    deliver(client, "refunds/create", shopify_refund(902, ORDER, "11.11", "11.11"), "w3")
    work()
    assert member(rt).points == 0
    assert sum(e.points for e in entries(rt)) == 0


def test_cancellation_after_a_refund_reverses_the_rest(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(subtotal="40.00"), "w1")
    deliver(client, "refunds/create", shopify_refund(901, ORDER, "10.00"), "w2")
    work()
    cancelled = shopify_order(
        subtotal="40.00",
        status="partially_refunded",
        cancelled_at="2026-06-02T11:00:00-04:00",
        updated_at="2026-06-02T11:00:00-04:00",
    )
    deliver(client, "orders/cancelled", cancelled, "w3")
    work()
    assert member(rt).points == 0
    deliver(client, "orders/updated", shopify_order(subtotal="40.00", updated_at="2026-06-04T10:00:00-04:00"), "w4")
    work()
    assert member(rt).points == 0


def test_a_reversal_never_takes_the_balance_below_zero(rt, demo_merchant, client, work):
    from services import ledger, members

    deliver(client, "orders/paid", shopify_order(subtotal="40.00"), "w1")
    work()
    with rt.db.transaction() as s:
        m = members.lock(s, member(rt).id)
        ledger.post(
            s, m, ledger.Posting(key="spend-1", points=-350, type="REDEMPTION", channel="partner_api"), rt.clock()
        )
    deliver(
        client,
        "orders/cancelled",
        shopify_order(subtotal="40.00", cancelled_at="2026-06-02T11:00:00Z", updated_at="2026-06-02T11:00:00Z"),
        "w2",
    )
    work()
    m = member(rt)
    assert m.points == 0
    reversal = entries(rt)[-1]
    assert (reversal.points, reversal.shortfall) == (-50, 350)


def test_an_order_without_any_customer_identity_is_processed_without_a_member(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(customer={}, email=None), "w1")
    work()
    with rt.db.reader() as s:
        d = s.execute(select(Delivery)).scalar_one()
        assert s.scalar(select(func.count()).select_from(Member)) == 0
    assert d.status == "processed" and "no customer identity" in d.error
