"""Shopify orders and Toast checks of a Hang merchant become Hang purchase activities: once, in order, resilient."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hang_support import deliver_shopify, deliver_toast, postings, the_member
from sqlalchemy import select

from factories import shopify_order, shopify_refund
from models import Delivery, LedgerEntry
from services.outbox import postings as outbox
from services.programs import sender
from toast_factories import toast_check, toast_customer, toast_order, toast_selection

ORDER = 6_100_000_000_001


def test_a_paid_order_enrolls_the_guest_in_hang_once_and_sends_one_activity_for_its_spend(
    rt, hang, hang_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="42.50"))
    deliver_shopify(client, "orders/create", shopify_order(ORDER, subtotal="42.50"))  # the same state again
    work()
    [member] = hang.members.values()
    assert member["phone"] == "+14155550134" and member["points"] == 425
    [activity] = hang.activities.values()
    assert activity["value"] == Decimal("42.50") and activity["activity"]["activity_type_id"] == "act_purchase"
    assert [(p.kind, p.status) for p in postings(rt)] == [("earn", "sent")]
    assert list(hang.activities) == [postings(rt)[0].key]  # the posting key is Hang's idempotency key
    with rt.db.reader() as s:
        assert s.execute(select(LedgerEntry)).first() is None  # the points live in Hang, not in our ledger


def test_a_later_larger_state_sends_only_the_difference_and_an_older_one_nothing(rt, hang, hang_merchant, client, work):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    deliver_shopify(
        client, "orders/updated", shopify_order(ORDER, subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00")
    )
    deliver_shopify(
        client, "orders/paid", shopify_order(ORDER, subtotal="12.00", updated_at="2026-06-01T10:30:00-04:00")
    )
    work()
    assert [a["value"] for a in hang.activities.values()] == [Decimal("10.00"), Decimal("5.00")]
    assert next(iter(hang.members.values()))["points"] == 150


def test_a_refund_is_recorded_as_unsupported_once_and_said_on_the_delivery(rt, hang, hang_merchant, client, work):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    deliver_shopify(client, "refunds/create", shopify_refund(71, ORDER, "10.00"))
    deliver_shopify(
        client,
        "orders/updated",
        shopify_order(
            ORDER,
            subtotal="40.00",
            status="partially_refunded",
            updated_at="2026-06-02T10:00:00-04:00",
            refunds=[shopify_refund(71, ORDER, "10.00")],
        ),
    )
    work()
    assert [(p.kind, p.status, p.amount) for p in postings(rt)] == [
        ("earn", "sent", Decimal("40.00")),
        ("reverse", "unsupported", Decimal("10.00")),
    ]
    assert len(hang.activities) == 1 and next(iter(hang.members.values()))["points"] == 400
    with rt.db.reader() as s:
        notes = [d.error for d in s.execute(select(Delivery).order_by(Delivery.id)).scalars()]
    assert "Hang cannot take points back" in notes[1] and notes[2] is None  # said once, by the refund


def test_a_toast_check_earns_in_hang_on_the_same_key_as_its_pos_accrue(rt, hang, hang_merchant, client, work):
    check = toast_check(selections=[toast_selection(price="12.50")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    deliver_toast(client, toast_order(checks=[check]))
    work()
    [activity] = hang.activities.values()
    assert activity["value"] == Decimal("12.50") and the_member(rt).phone == "+14155550134"


def test_hang_down_for_a_while_then_back_gets_every_posting_once_in_order(rt, hang, hang_merchant, client, work, clock):
    hang.fail("activities", 503, times=3)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending", "pending"]  # the second waits behind the first
    for _ in range(3):
        clock.now += timedelta(hours=1)
        assert sender.send_due(rt) >= 0
        work()
    assert [p.status for p in postings(rt)] == ["sent", "sent"]
    assert [a["value"] for a in hang.activities.values()] == [Decimal("10.00"), Decimal("20.00")]


def test_a_throttled_posting_waits_what_hang_asked(rt, hang, hang_merchant, client, work, clock):
    hang.fail("activities", 429, headers={"Retry-After": "900"})
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "pending" and posting.next_attempt_at >= clock.now + timedelta(seconds=900)
    clock.now += timedelta(seconds=901)
    sender.send_due(rt)
    work()
    assert [p.status for p in postings(rt)] == ["sent"]


def test_a_posting_hang_refuses_for_good_is_failed_with_its_message_and_the_next_one_goes_on(
    rt, hang, hang_merchant, client, work
):
    hang.fail("activities", 422, message="ACTIVITY_TYPE_NOT_FOUND")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    first, second = postings(rt)
    assert (first.status, second.status) == ("failed", "sent")
    assert first.error.startswith("ACTIVITY_TYPE_NOT_FOUND")


def test_a_send_cut_off_mid_call_is_sent_again_after_its_lease_and_counts_once(rt, hang, hang_merchant, client, clock):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    from services.inbox import processing

    with rt.db.reader() as s:
        processing.process(rt, s.execute(select(Delivery.id)).scalar_one())
    member_id = the_member(rt).id
    claimed = outbox.claim_next(rt, member_id)
    # The worker sends, Hang records the activity, and the worker dies before it records the outcome.
    from models import Merchant
    from services.programs.port import engine_for

    with rt.db.reader() as s:
        engine = engine_for(s.execute(select(Merchant)).scalar_one())
    engine.perform(rt, claimed)
    assert sender.send(rt, member_id) == 0  # its lease holds: nobody else sends it meanwhile
    clock.now += outbox.LEASE + timedelta(seconds=1)
    assert sender.send(rt, member_id) == 1
    assert len(hang.activities) == 1 and [p.status for p in postings(rt)] == ["sent"]
