"""Shopify orders and Toast checks of an Inveterate merchant become store credit: once, in order, resilient."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fake_inveterate import API_KEY
from inveterate_support import CUSTOMER, deliver_shopify, deliver_toast, deliveries, postings, the_member
from sqlalchemy import select

from factories import shopify_order, shopify_refund
from models import Delivery, LedgerEntry, Merchant, ProviderMember
from services.inbox import processing
from services.outbox import postings as outbox
from services.programs import sender
from services.programs.port import engine_for
from toast_factories import toast_check, toast_customer, toast_order, toast_selection

ORDER = 6_200_000_000_001


def later(clock, work, rt, hours: float = 1) -> None:
    """Time passes, the scheduler queues what is due, and the worker runs it."""
    clock.now += timedelta(hours=hours)
    sender.send_due(rt)
    work()


def test_a_paid_order_of_a_member_earns_its_credit_once_with_the_posting_key_as_the_note(
    rt, inveterate, inveterate_merchant, client, work
):
    inveterate.add_member(CUSTOMER)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="42.50"))
    deliver_shopify(client, "orders/create", shopify_order(ORDER, subtotal="42.50"))  # the same state again
    work()
    [posting] = postings(rt)
    assert (posting.kind, posting.status, posting.amount) == ("earn", "sent", Decimal("2.12"))  # 2.125, rounded down
    assert inveterate.notes(CUSTOMER) == [posting.key] == [f"shopify:order:{ORDER}:r1"]
    assert inveterate.credit_of(CUSTOMER) == Decimal("2.12")
    assert posting.details["credited"] == "2.12" and posting.details["applied"] == "later"  # Inveterate's 201
    with rt.db.reader() as s:
        assert s.execute(select(LedgerEntry)).first() is None  # the credit lives in Inveterate, not in our ledger
        assert s.execute(select(ProviderMember.remote_id)).scalar_one() == CUSTOMER


def test_a_later_larger_state_credits_only_the_difference_and_an_older_one_nothing(
    rt, inveterate, inveterate_merchant, client, work
):
    inveterate.add_member(CUSTOMER)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    newer = shopify_order(ORDER, subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00")
    deliver_shopify(client, "orders/updated", newer)
    deliver_shopify(
        client, "orders/paid", shopify_order(ORDER, subtotal="12.00", updated_at="2026-06-01T10:30:00-04:00")
    )
    work()
    assert [(p.kind, p.amount) for p in postings(rt)] == [("earn", Decimal("0.50")), ("earn", Decimal("0.25"))]
    assert inveterate.credit_of(CUSTOMER) == Decimal("0.75")


def test_a_refund_and_then_a_cancellation_take_the_credit_back_as_negative_credits(
    rt, inveterate, inveterate_merchant, client, work
):
    inveterate.add_member(CUSTOMER)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    deliver_shopify(client, "refunds/create", shopify_refund(71, ORDER, "10.00"))
    work()
    assert inveterate.credit_of(CUSTOMER) == Decimal("1.50")
    at = "2026-06-03T10:00:00-04:00"
    cancelled = shopify_order(ORDER, subtotal="40.00", status="refunded", updated_at=at, cancelled_at=at)
    deliver_shopify(client, "orders/cancelled", cancelled)
    work()
    assert [(p.kind, p.status, p.details["credited"]) for p in postings(rt)] == [
        ("earn", "sent", "2.00"),
        ("reverse", "sent", "-0.50"),
        ("reverse", "sent", "-1.50"),
    ]
    assert inveterate.credit_of(CUSTOMER) == Decimal("0.00")
    assert [c["amount"] for c in inveterate.credits[CUSTOMER]] == [Decimal("2.00"), Decimal("-0.50"), Decimal("-1.50")]


def test_a_shopify_customer_who_is_not_a_member_earns_nothing_and_the_delivery_says_so(
    rt, inveterate, inveterate_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="20.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "unsupported" and "is not a member" in posting.error
    [delivery] = deliveries(rt)
    assert delivery.status == "processed"
    assert f"Shopify customer {CUSTOMER} is not a member" in delivery.error and "1.00 of store credit" in delivery.error
    assert inveterate.calls_to("/credits", "POST") == []


def test_a_refund_of_an_order_whose_credit_never_reached_inveterate_takes_nothing_back(
    rt, inveterate, inveterate_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="20.00"))
    work()
    inveterate.add_member(CUSTOMER, credit="5.00")  # the customer joins afterwards
    deliver_shopify(client, "refunds/create", shopify_refund(72, ORDER, "20.00"))
    work()
    assert [(p.kind, p.status) for p in postings(rt)] == [("earn", "unsupported"), ("reverse", "unsupported")]
    assert "none is taken back" in postings(rt)[1].error
    assert inveterate.credit_of(CUSTOMER) == Decimal("5.00") and inveterate.calls_to("/credits", "POST") == []


def test_a_toast_guest_known_only_by_phone_earns_nothing_and_inveterate_is_not_called(
    rt, inveterate, inveterate_merchant, client, work
):
    check = toast_check(selections=[toast_selection(price="12.50")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    work()
    [posting] = postings(rt)
    assert (posting.kind, posting.status, posting.amount) == ("earn", "unsupported", Decimal("0.62"))
    assert "no Shopify customer id" in deliveries(rt)[0].error
    assert inveterate.calls == []


def test_a_toast_check_of_a_guest_linked_to_a_shopify_member_earns_credit(
    rt, inveterate, inveterate_merchant, client, work
):
    inveterate.add_member(CUSTOMER)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))  # the same phone, online
    work()
    check = toast_check(selections=[toast_selection(price="12.50")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    deliver_toast(client, toast_order(checks=[check]))
    work()
    assert the_member(rt).shopify_customer_id == CUSTOMER
    assert [p.amount for p in postings(rt)] == [Decimal("0.50"), Decimal("0.62")]
    assert inveterate.credit_of(CUSTOMER) == Decimal("1.12")


def test_inveterate_down_for_a_while_then_back_gets_every_credit_once_in_order(
    rt, inveterate, inveterate_merchant, client, work, clock
):
    inveterate.add_member(CUSTOMER)
    inveterate.fail("/credits", 503, times=3, method="POST")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending", "pending"]  # the second waits behind the first
    for _ in range(4):
        later(clock, work, rt)
    assert [p.status for p in postings(rt)] == ["sent", "sent"]
    inveterate.release()
    assert [c["amount"] for c in inveterate.credits[CUSTOMER]] == [Decimal("0.50"), Decimal("1.00")]


def test_a_throttled_credit_waits_what_inveterate_asked(rt, inveterate, inveterate_merchant, client, work, clock):
    inveterate.add_member(CUSTOMER)
    inveterate.fail("/members/", 429, headers={"Retry-After": "900"}, method="GET")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "pending" and posting.next_attempt_at >= clock.now + timedelta(seconds=900)
    later(clock, work, rt, hours=901 / 3600)
    assert [p.status for p in postings(rt)] == ["sent"]


def test_a_credit_inveterate_refuses_for_good_is_failed_with_its_message_and_the_next_goes_on(
    rt, inveterate, inveterate_merchant, client, work
):
    inveterate.add_member(CUSTOMER)
    inveterate.fail("/credits", 400, message="Credits are disabled for this merchant", method="POST")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    first, second = postings(rt)
    assert (first.status, second.status) == ("failed", "sent")
    assert first.error.startswith("bad_request") and "Credits are disabled" in first.error


def test_a_credit_whose_answer_was_lost_is_found_in_the_members_credits_and_not_sent_twice(
    rt, inveterate, inveterate_merchant, client, work, clock
):
    inveterate.add_member(CUSTOMER)
    inveterate.lose_answer("/credits", 3)  # applied at Inveterate; the answer comes after our 2 s timeout
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending"]
    later(clock, work, rt)
    assert [p.status for p in postings(rt)] == ["sent"] and postings(rt)[0].details["found_in_credits"] is True
    assert len(inveterate.calls_to("/credits", "POST")) == 1 and inveterate.credit_of(CUSTOMER) == Decimal("0.50")


def test_a_credit_accepted_but_not_applied_yet_is_waited_for_rather_than_sent_again(
    rt, inveterate, inveterate_merchant, client, work, clock
):
    inveterate.add_member(CUSTOMER)
    inveterate.hold = True  # Inveterate's backend is slow to apply what it accepted
    inveterate.lose_answer("/credits", 3)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    later(clock, work, rt, hours=1 / 60)  # inside the window: not in the list yet, so it waits
    [posting] = postings(rt)
    assert posting.status == "pending" and posting.error.startswith("not_applied_yet")
    inveterate.release()
    later(clock, work, rt)
    assert [p.status for p in postings(rt)] == ["sent"]
    assert len(inveterate.calls_to("/credits", "POST")) == 1 and inveterate.credit_of(CUSTOMER) == Decimal("0.50")


def test_a_credit_that_never_arrived_is_sent_again_once_the_window_has_passed(
    rt, inveterate, inveterate_merchant, client, work, clock
):
    inveterate.add_member(CUSTOMER)
    inveterate.fail("/credits", 500, method="POST")  # "some multipart functions may execute somewhat": unknown
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    later(clock, work, rt)
    assert [p.status for p in postings(rt)] == ["sent"]
    assert len(inveterate.calls_to("/credits", "POST")) == 2 and inveterate.notes(CUSTOMER) == [postings(rt)[0].key]


def test_a_send_cut_off_mid_call_is_sent_again_after_its_lease_and_counts_once(
    rt, inveterate, inveterate_merchant, client, clock
):
    inveterate.add_member(CUSTOMER)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    with rt.db.reader() as s:
        processing.process(rt, s.execute(select(Delivery.id)).scalar_one())
        engine = engine_for(s.execute(select(Merchant)).scalar_one())
    member_id = the_member(rt).id
    engine.perform(rt, outbox.claim_next(rt, member_id))  # Inveterate takes it; the worker dies before recording
    assert sender.send(rt, member_id) == 0  # its lease holds: nobody else sends it meanwhile
    clock.now += outbox.LEASE + timedelta(seconds=1)
    assert sender.send(rt, member_id) == 1
    assert [p.status for p in postings(rt)] == ["sent"] and len(inveterate.calls_to("/credits", "POST")) == 1


def test_the_api_key_never_reaches_a_posting_a_delivery_or_a_log_line_even_when_inveterate_echoes_it(
    rt, inveterate, inveterate_merchant, client, work, caplog
):
    inveterate.add_member(CUSTOMER)
    inveterate.fail("/credits", 400, message=f"Bad key {API_KEY} for this merchant", method="POST")
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "failed" and "Bad key [key]" in posting.error
    stored = [posting.error, repr(posting.details), *(d.error or "" for d in deliveries(rt)), caplog.text]
    assert all(API_KEY not in text for text in stored)
