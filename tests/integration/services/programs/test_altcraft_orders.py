"""Shopify orders and Toast checks of an Altcraft merchant become Altcraft accruals, cancels and redemptions of
points: once, in order, through outages, lost answers and restarts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from altcraft_support import (
    config,
    deliver_shopify,
    deliver_toast,
    postings,
    profile_of,
    the_member,
)
from fake_altcraft import TOKEN
from sqlalchemy import select

from factories import shopify_order, shopify_refund
from models import Delivery, LedgerEntry, Merchant, ProviderMember
from services.inbox import processing
from services.merchants.config import parse_config
from services.merchants.sync import sync
from services.outbox import postings as outbox
from services.programs import sender
from services.programs.port import engine_for
from toast_factories import toast_check, toast_customer, toast_order, toast_selection

ORDER = 6_200_000_000_001


def cancelled(order_id: int, subtotal: str, at: str = "2026-06-03T10:00:00-04:00") -> dict:
    return shopify_order(order_id, subtotal=subtotal, status="voided", cancelled_at=at, updated_at=at)


def test_a_paid_order_registers_the_guest_by_phone_once_and_accrues_its_points_once_under_the_posting_key(
    rt, altcraft, altcraft_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="42.50"))
    deliver_shopify(client, "orders/create", shopify_order(ORDER, subtotal="42.50"))  # the same state again
    work()
    profile = profile_of(altcraft)
    assert altcraft.active(profile["id"]) == 425
    [register] = altcraft.calls_to("register_member")
    assert register[1] == {"loyalty_program_id": 123, "matching": "phone", "phone": "+14155550134"}
    [(_, accrue, headers)] = altcraft.calls_to("accrue_points")
    key = postings(rt)[0].key
    assert (accrue["amount"], accrue["transaction_eid"], accrue["matching"]) == ("425", key, "phone")
    assert headers["Authorization"] == f"Bearer {TOKEN}" and "token" not in accrue  # the token only in its header
    assert [(p.kind, p.status) for p in postings(rt)] == [("earn", "sent")]
    with rt.db.reader() as s:
        assert s.execute(select(ProviderMember.remote_id)).scalar_one() == profile["id"]
        assert s.execute(select(LedgerEntry)).first() is None  # the points live in Altcraft, not in our ledger


def test_a_later_larger_state_accrues_only_the_difference_and_an_older_one_nothing(
    rt, altcraft, altcraft_merchant, client, work
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
    assert [c[1]["amount"] for c in altcraft.calls_to("accrue_points")] == ["100", "50"]
    assert altcraft.active(profile_of(altcraft)["id"]) == 150


def test_a_cancelled_order_has_its_one_accrual_cancelled_at_altcraft(rt, altcraft, altcraft_merchant, client, work):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    deliver_shopify(client, "orders/cancelled", cancelled(ORDER, "40.00"))
    deliver_shopify(client, "orders/cancelled", cancelled(ORDER, "40.00"))  # a repeat changes nothing
    work()
    earn, reverse = postings(rt)
    [(_, cancel, _)] = altcraft.calls_to("cancel_transaction")
    assert cancel == {"transaction_eid": earn.key}
    assert (reverse.kind, reverse.status, reverse.details["action"]) == ("reverse", "sent", "cancel")
    assert altcraft.by_eid(earn.key)[0]["status"] == "cancelled"
    assert altcraft.active(profile_of(altcraft)["id"]) == 0


def test_a_partial_refund_redeems_its_share_back_and_a_later_cancel_redeems_the_rest(
    rt, altcraft, altcraft_merchant, client, work
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="40.00"))
    work()
    deliver_shopify(client, "refunds/create", shopify_refund(71, ORDER, "10.00"))
    deliver_shopify(client, "refunds/create", shopify_refund(71, ORDER, "10.00"))  # Shopify's retry
    work()
    assert altcraft.active(profile_of(altcraft)["id"]) == 300
    deliver_shopify(client, "orders/cancelled", cancelled(ORDER, "40.00"))
    work()
    [_, refund, cancel] = postings(rt)
    assert [(c[1]["amount"], c[1]["transaction_eid"]) for c in altcraft.calls_to("redeeme_points")] == [
        ("100", refund.key),
        ("300", cancel.key),  # the order earned and lost in two steps: the rest goes back as one redemption
    ]
    assert not altcraft.calls_to("cancel_transaction") and "is_temp" not in altcraft.calls_to("redeeme")[0][1]
    assert altcraft.active(profile_of(altcraft)["id"]) == 0


def test_a_toast_check_earns_in_altcraft_once_whatever_the_repeats(rt, altcraft, altcraft_merchant, client, work):
    check = toast_check(selections=[toast_selection(price="12.50")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    deliver_toast(client, toast_order(checks=[check]))
    work()
    [(_, accrue, _)] = altcraft.calls_to("accrue_points")
    assert accrue["amount"] == "125" and the_member(rt).phone == "+14155550134"


def test_altcraft_down_for_a_while_then_back_gets_every_posting_once_in_order(
    rt, altcraft, altcraft_merchant, client, work, clock
):
    altcraft.fail("accrue_points", status=503, times=3)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending", "pending"]  # the second waits behind the first
    for _ in range(3):
        clock.now += timedelta(hours=1)
        sender.send_due(rt)
        work()
    assert [p.status for p in postings(rt)] == ["sent", "sent"]
    assert [t["amount"] for t in altcraft.transactions] == [Decimal(100), Decimal(200)]


def test_a_throttled_posting_waits_what_altcraft_asked(rt, altcraft, altcraft_merchant, client, work, clock):
    altcraft.fail("accrue_points", status=429, headers={"Retry-After": "900"})
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [posting] = postings(rt)
    assert posting.status == "pending" and posting.next_attempt_at >= clock.now + timedelta(seconds=900)
    clock.now += timedelta(seconds=901)
    sender.send_due(rt)
    work()
    assert [p.status for p in postings(rt)] == ["sent"] and len(altcraft.transactions) == 1


def test_an_http_200_with_a_nonzero_error_fails_the_posting_with_altcrafts_code_and_the_next_goes_on(
    rt, altcraft, altcraft_merchant, client, work
):
    altcraft.fail("accrue_points", error=402)  # "tariff limit reached", on HTTP 200
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER + 1, subtotal="20.00"))
    work()
    first, second = postings(rt)
    assert (first.status, second.status) == ("failed", "sent")
    assert first.error.startswith("altcraft_402: ") and "Injected failure" in first.error
    assert TOKEN not in first.error


def test_an_accrual_whose_answer_was_lost_is_found_in_altcrafts_history_and_not_accrued_again(
    rt, altcraft, altcraft_merchant, client, work, clock
):
    altcraft.lose_answers("accrue_points")  # Altcraft accrues, the answer never arrives
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    assert [p.status for p in postings(rt)] == ["pending"]
    clock.now += timedelta(hours=1)
    sender.send_due(rt)
    work()
    [posting] = postings(rt)
    assert posting.status == "sent" and posting.details["found_in_history"] is True
    assert len(altcraft.calls_to("accrue_points")) == 1 and len(altcraft.by_eid(posting.key)) == 1
    assert altcraft.active(profile_of(altcraft)["id"]) == 100


def test_an_accrual_that_failed_before_altcraft_took_it_is_sent_after_the_history_shows_it_missing(
    rt, altcraft, altcraft_merchant, client, work, clock
):
    altcraft.fail("accrue_points", status=500)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    clock.now += timedelta(hours=1)
    sender.send_due(rt)
    work()
    assert len(altcraft.calls_to("account/transactions")) == 1 and len(altcraft.transactions) == 1
    assert [p.status for p in postings(rt)] == ["sent"]


def test_a_send_cut_off_mid_call_is_sent_again_after_its_lease_and_counts_once(
    rt, altcraft, altcraft_merchant, client, clock
):
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    with rt.db.reader() as s:
        processing.process(rt, s.execute(select(Delivery.id)).scalar_one())
        engine = engine_for(s.execute(select(Merchant)).scalar_one())
    member_id = the_member(rt).id
    # The worker sends, Altcraft accrues, and the worker dies before it records the outcome.
    engine.perform(rt, outbox.claim_next(rt, member_id))
    assert sender.send(rt, member_id) == 0  # its lease holds: nobody else sends it meanwhile
    clock.now += outbox.LEASE + timedelta(seconds=1)
    assert sender.send(rt, member_id) == 1
    assert len(altcraft.transactions) == 1 and [p.status for p in postings(rt)] == ["sent"]


def test_a_merchant_matching_by_email_registers_and_accrues_by_email(rt, altcraft, client, work):
    sync(rt, parse_config(config(altcraft.base_url, matching="email", currency=False), {}))
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    [profile] = altcraft.profiles.values()
    assert profile["email"] == "ada@example.com" and altcraft.active(profile["id"]) == 100
    [(_, accrue, _)] = altcraft.calls_to("accrue_points")
    assert (accrue["matching"], accrue["email"]) == ("email", "ada@example.com") and "points_currency_eid" not in accrue


def test_a_guest_without_the_merchants_matching_identifier_fails_visibly_and_earns_nothing_in_altcraft(
    rt, altcraft, altcraft_merchant, client, work
):
    customer = {"id": 42, "email": "nophone@example.com", "phone": None, "first_name": "No", "last_name": "Phone"}
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00", customer=customer))
    work()
    [posting] = postings(rt)
    assert posting.status == "failed" and posting.error.startswith("no_matching_identifier: ")
    assert altcraft.calls == []
