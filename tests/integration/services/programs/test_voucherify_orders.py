"""Shopify orders and Toast checks of a Voucherify merchant become card point adjustments: once, in order, resilient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fake_voucherify import APP_TOKEN
from hang_support import postings, the_member
from sqlalchemy import select
from voucherify_support import adjusted, deliver_shopify, deliver_toast

from factories import shopify_order, shopify_refund
from models import Delivery, LedgerEntry, Merchant, ProviderMember
from services.inbox import processing
from services.outbox import postings as outbox
from services.programs import sender
from services.programs.port import engine_for
from toast_factories import toast_check, toast_customer, toast_order, toast_selection

ORDER = 6_200_000_000_001


def later(rt, clock, work, hours: float = 1) -> None:
    """Time passes: the scheduled sender queues what is due, and the worker sends it."""
    clock.now += timedelta(hours=hours)
    sender.send_due(rt)
    work()


def test_a_paid_order_enrolls_the_guest_once_and_credits_its_points_once_under_the_posting_key(
    rt, voucherify, voucherify_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="42.50"))
    deliver_shopify(client, "orders/create", shopify_order(ORDER, subtotal="42.50"))  # the same state again
    work()
    ours = the_member(rt)
    member = voucherify.member_of(ours.id)  # the customer's source_id is our member id
    customer = voucherify.customers[member["customer_id"]]
    assert (customer["email"], customer["phone"], customer["name"]) == (
        "ada@example.com",
        "+14155550134",
        "Ada Lovelace",
    )
    [posting] = postings(rt)
    assert adjusted(voucherify, member) == [(425, posting.key)]  # the posting key is the adjustment's reason
    assert member["card"]["points"] == 425
    assert (posting.kind, posting.status, posting.amount) == ("earn", "sent", Decimal(425))
    assert posting.details["transaction_id"].startswith("lctx_") and posting.details["transaction_status"] == "PENDING"
    with rt.db.reader() as s:
        link = s.execute(select(ProviderMember)).scalar_one()
        assert (link.remote_id, link.details["card_id"]) == (member["id"], member["card"]["id"])
        assert s.execute(select(LedgerEntry)).first() is None  # the points live in Voucherify, not in our ledger
    steps = [(m, p.split("/")[-1]) for m, p, _ in voucherify.calls]
    # The guide's enrollment: upsert the customer, read its membership by source_id (404), create the member.
    assert steps[:3] == [("POST", "customers"), ("GET", ours.id), ("POST", "members")]


def test_a_later_larger_state_credits_only_the_difference_and_an_older_one_nothing(
    rt, voucherify, voucherify_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    deliver_shopify(
        client, "orders/updated", shopify_order(ORDER, subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00")
    )
    deliver_shopify(
        client, "orders/paid", shopify_order(ORDER, subtotal="12.00", updated_at="2026-06-01T10:30:00-04:00")
    )
    work()
    member = voucherify.only_member()
    assert [points for points, _ in adjusted(voucherify, member)] == [100, 50]
    assert member["card"]["points"] == 150


def test_a_refund_takes_its_points_back_with_a_negative_adjustment_and_a_cancellation_the_rest(
    rt, voucherify, voucherify_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    deliver_shopify(client, "refunds/create", shopify_refund(71, ORDER, "10.00"))
    work()
    cancelled = shopify_order(
        ORDER, subtotal="40.00", updated_at="2026-06-03T10:00:00-04:00", cancelled_at="2026-06-03T10:00:00-04:00"
    )
    deliver_shopify(client, "orders/cancelled", cancelled)
    work()
    member = voucherify.only_member()
    assert [points for points, _ in adjusted(voucherify, member)] == [400, -100, -300]
    assert member["card"]["points"] == 0
    assert [(p.kind, p.status, p.amount) for p in postings(rt)] == [
        ("earn", "sent", Decimal(400)),
        ("reverse", "sent", Decimal(-100)),
        ("reverse", "sent", Decimal(-300)),
    ]
    assert adjusted(voucherify, member)[1][1] == "shopify:refund:71"  # a refund's posting key is its own


def test_a_reversal_takes_back_no_more_than_the_card_holds_and_keeps_the_rest_on_the_posting(
    rt, voucherify, voucherify_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    member = voucherify.only_member()
    voucherify.give_points(member, -350)  # spent at Voucherify meanwhile (a reward bought in its own app)
    cancelled = shopify_order(
        ORDER, subtotal="40.00", updated_at="2026-06-03T10:00:00-04:00", cancelled_at="2026-06-03T10:00:00-04:00"
    )
    deliver_shopify(client, "orders/cancelled", cancelled)
    work()
    assert [points for points, _ in adjusted(voucherify, member)] == [400, -50]
    assert member["card"]["points"] == 0  # never below zero
    reversal = postings(rt)[-1]
    assert (reversal.status, reversal.details["points"], reversal.details["not_taken_back"]) == ("sent", -50, 350)


def test_a_toast_check_earns_in_voucherify_on_the_same_key_as_its_pos_accrue(
    rt, voucherify, voucherify_merchant, client, work
):
    check = toast_check(selections=[toast_selection(price="12.50")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    deliver_toast(client, toast_order(checks=[check]))
    work()
    [(points, reason)] = adjusted(voucherify, voucherify.only_member())
    assert points == 125 and reason.startswith("toast:check:")
    assert the_member(rt).phone == "+14155550134"


def test_voucherify_down_for_a_while_then_back_gets_every_posting_once_in_order(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    voucherify.fail("/points", 503, times=3)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending", "pending"]  # the second waits behind the first
    for _ in range(3):
        later(rt, clock, work)
    assert [p.status for p in postings(rt)] == ["sent", "sent"]
    assert [points for points, _ in adjusted(voucherify, voucherify.only_member())] == [100, 200]
    with rt.db.reader() as s:
        assert [d.status for d in s.execute(select(Delivery)).scalars()] == ["processed", "processed"]


def test_an_answer_lost_after_voucherify_took_the_credit_is_found_in_the_card_history_and_not_sent_again(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    voucherify.lose_answer("/points", 502)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "pending" and len(adjusted(voucherify, voucherify.only_member())) == 1
    later(rt, clock, work)
    [posting] = postings(rt)
    assert (posting.status, posting.details["found_on_resend"]) == ("sent", True)
    assert [points for points, _ in adjusted(voucherify, voucherify.only_member())] == [100]  # once, in effect


def test_the_look_in_the_history_pages_back_through_the_card_s_transactions(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    voucherify.lose_answer("/points", 502)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    member = voucherify.only_member()
    for _ in range(150):  # the program's own earning rules add more than a page of newer transactions
        voucherify.give_points(member, 1)
    later(rt, clock, work)
    assert [p.details.get("found_on_resend") for p in postings(rt)] == [True]
    assert len(voucherify.calls_to("/transactions")) == 2 and member["card"]["points"] == 250


def test_a_resend_whose_first_attempt_never_arrived_is_sent_after_looking(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    voucherify.fail("/points", 500)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    later(rt, clock, work)
    assert len(voucherify.calls_to("/transactions")) == 1
    assert [points for points, _ in adjusted(voucherify, voucherify.only_member())] == [100]
    assert "found_on_resend" not in postings(rt)[0].details


def test_a_send_cut_off_mid_call_is_found_after_its_lease_and_counts_once(
    rt, voucherify, voucherify_merchant, client, clock
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    with rt.db.reader() as s:
        processing.process(rt, s.execute(select(Delivery.id)).scalar_one())
        engine = engine_for(s.execute(select(Merchant)).scalar_one())
    member_id = the_member(rt).id
    engine.perform(rt, outbox.claim_next(rt, member_id))  # Voucherify takes it; the worker dies before recording it
    assert sender.send(rt, member_id) == 0  # its lease holds: nobody else sends it meanwhile
    clock.now += outbox.LEASE + timedelta(seconds=1)
    assert sender.send(rt, member_id) == 1
    assert len(adjusted(voucherify, voucherify.only_member())) == 1
    assert [p.status for p in postings(rt)] == ["sent"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "900"},
        {"X-Rate-Limit-Retry": "EPOCH+900", "X-Rate-Limit-Type": "api_calls"},
    ],
    ids=["retry-after", "x-rate-limit-retry"],
)
def test_a_throttled_posting_waits_what_voucherify_asked(
    rt, voucherify, voucherify_merchant, client, work, clock, headers
):
    epoch = int(datetime.now(UTC).timestamp())
    voucherify.fail("/points", 429, headers={k: v.replace("EPOCH+900", str(epoch + 900)) for k, v in headers.items()})
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "pending" and posting.next_attempt_at >= clock.now + timedelta(seconds=890)
    later(rt, clock, work, hours=0.26)
    assert [p.status for p in postings(rt)] == ["sent"]


def test_a_posting_voucherify_refuses_for_good_is_failed_with_its_key_and_the_next_one_goes_on(
    rt, voucherify, voucherify_merchant, client, work
):
    voucherify.fail("/points", 423, key="non_active_member")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    first, second = postings(rt)
    assert (first.status, second.status) == ("failed", "sent")
    assert first.error.startswith("non_active_member: Voucherify answered 423")
    assert APP_TOKEN not in first.error


def test_an_inactive_program_fails_the_enrollment_with_non_active_program(
    rt, voucherify, voucherify_merchant, client, work
):
    voucherify.program_status = "INACTIVE"
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "failed" and posting.error.startswith("non_active_program:")
    assert voucherify.members == {}


def test_a_member_created_by_a_lost_answer_is_read_again_after_voucherify_s_409(
    rt, voucherify, voucherify_merchant, client, work, clock
):
    voucherify.lose_answer("/members$", 502)  # the member is created; the answer never arrives
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    voucherify.fail("/memberships/", 404, key="not_found")  # and the next read does not see it yet
    later(rt, clock, work)
    member = voucherify.only_member()
    creates = voucherify.calls_to("/members", "POST")
    assert len([c for c in creates if c[1].endswith("/members")]) == 2  # the second was answered 409
    assert [points for points, _ in adjusted(voucherify, member)] == [100]
    with rt.db.reader() as s:
        assert s.execute(select(ProviderMember.remote_id)).scalar_one() == member["id"]
