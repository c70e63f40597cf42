"""ledger.md's rules that close gaps found in review, tried through the public edges as a hostile integrator would.

Shopify and Toast deliveries go through the HTTP edge, Redis and a real RQ
worker; partner API calls through the Flask app; config changes through the
sync. Every test ends with the stored balances equal to a rebuild from the
ledger.
"""

from __future__ import annotations

import copy
import uuid

from sqlalchemy import select

from factories import encode, shopify_headers, shopify_order, shopify_refund
from models import LedgerEntry, Member, OrderAccount
from services.ledger import rebuild as ledger_rebuild
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV
from toast_factories import (
    toast_body,
    toast_check,
    toast_customer,
    toast_envelope,
    toast_headers,
    toast_order,
    toast_selection,
)

V2 = "/partner-api/v2"
API = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
ORDER = 5_500_000_000_777
COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"  # 500 points
RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
LOYALTY_KEY = TEST_ENV["DEMO_CAFE_TOAST_LOYALTY_KEY"]


def deliver(client, topic: str, payload, webhook_id: str | None = None):
    body = encode(payload)
    response = client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id or str(uuid.uuid4()))
    )
    assert response.status_code == 200
    return response


def deliver_toast(client, order):
    envelope = toast_envelope(order, RESTAURANT)
    body = toast_body(envelope)
    headers = toast_headers(body, secret=TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"], restaurant_guid=RESTAURANT)
    assert client.post("/webhooks/toast", data=body, headers=headers).status_code == 200


def the_member(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalar_one()


def entries(rt) -> list[tuple[str, int]]:
    with rt.db.reader() as s:
        return [(e.type, e.points) for e in s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars()]


def resync(rt, *replacements: tuple[str, str]) -> None:
    text = EXAMPLE_CONFIG.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    sync(rt, parse_config(text, TEST_ENV))


def assert_rebuild_agrees(rt) -> None:
    assert ledger_rebuild.rebuild(rt) == []


def add_points(client, member_id: str, points: int) -> None:
    response = client.post(
        f"{V2}/program-memberships/{member_id}/points",
        headers=API,
        json={"points": points, "reason": "bonus", "idempotency_key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.get_json()


def transaction_of_type(client, member_id: str, kind: str) -> dict:
    listed = client.get(f"{V2}/program-memberships/{member_id}/transactions?type={kind}", headers=API).get_json()
    [found] = listed["transactions"]
    return found


def redeem_cold_brew(client, member_id: str, *, commit: bool) -> str:
    started = client.post(
        f"{V2}/program-memberships/{member_id}/redemptions", headers=API, json={"reward_id": COLD_BREW}
    )
    assert started.status_code == 201, started.get_json()
    redemption_id = started.get_json()["redemption"]["id"]
    if commit:
        assert client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=API).status_code == 200
    return redemption_id


# --- 1. cancelling an order's entry cancels the order -------------------------------------------------------


def test_cancelling_an_orders_accrual_cancels_the_order_so_a_full_refund_takes_nothing_more(
    rt, demo_merchant, client, work
):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    member = the_member(rt)
    add_points(client, member.id, 500)
    accrual = transaction_of_type(client, member.id, "ACCRUAL")
    assert client.post(f"{V2}/transactions/{accrual['id']}/cancel", headers=API).status_code == 201
    deliver(client, "refunds/create", shopify_refund(91, ORDER, "10.00"))
    work()
    assert the_member(rt).points == 500
    assert entries(rt) == [("ACCRUAL", 100), ("ADDITION", 500), ("REVERSAL", -100)]
    assert_rebuild_agrees(rt)


def test_an_order_whose_accrual_was_cancelled_earns_nothing_on_its_later_states(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    member = the_member(rt)
    accrual = transaction_of_type(client, member.id, "ACCRUAL")
    assert client.post(f"{V2}/transactions/{accrual['id']}/cancel", headers=API).status_code == 201
    deliver(client, "orders/updated", shopify_order(ORDER, subtotal="30.00", updated_at="2026-06-01T12:00:00-04:00"))
    work()
    assert the_member(rt).points == 0
    assert entries(rt) == [("ACCRUAL", 100), ("REVERSAL", -100)]


def test_cancelling_the_first_accrual_of_an_edited_order_takes_back_all_it_holds(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    deliver(client, "orders/updated", shopify_order(ORDER, subtotal="15.00", updated_at="2026-06-01T11:00:00-04:00"))
    work()
    member = the_member(rt)
    listed = client.get(f"{V2}/program-memberships/{member.id}/transactions?type=ACCRUAL", headers=API).get_json()
    first = listed["transactions"][-1]
    canceled = client.post(f"{V2}/transactions/{first['id']}/cancel", headers=API)
    assert canceled.status_code == 201
    assert canceled.get_json()["transaction"]["points"] == -100
    assert the_member(rt).points == 0
    with rt.db.reader() as s:
        account = s.execute(select(OrderAccount)).scalar_one()
        assert (account.cancelled, account.held) == (True, 0)
    assert_rebuild_agrees(rt)


# --- 2. pricing is fixed when an order first earns -----------------------------------------------------------


def test_a_config_change_does_not_reprice_an_order_that_already_earned(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10.05"))
    work()
    assert the_member(rt).points == 100
    resync(rt, ("points_per_currency_unit: 10", "points_per_currency_unit: 20"), ("rounding: floor", "rounding: ceil"))
    fulfilled = shopify_order(ORDER, subtotal="10.05", updated_at="2026-06-02T09:00:00-04:00")
    fulfilled["fulfillment_status"] = "fulfilled"
    deliver(client, "orders/updated", fulfilled)
    work()
    assert the_member(rt).points == 100
    deliver(client, "orders/paid", shopify_order(ORDER + 1, subtotal="10.05"))
    work()
    assert the_member(rt).points == 100 + 201  # a new order earns at the new rate and rounding


def test_an_order_keeps_the_spend_basis_it_first_earned_on(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))  # total 18.40 with tax and shipping
    work()
    resync(rt, ("eligible_spend: subtotal", "eligible_spend: total"))
    deliver(client, "orders/updated", shopify_order(ORDER, subtotal="10.00", updated_at="2026-06-02T09:00:00-04:00"))
    work()
    assert the_member(rt).points == 100
    deliver(client, "orders/paid", shopify_order(ORDER + 1, subtotal="10.00"))
    work()
    assert the_member(rt).points == 100 + 184


def test_an_edited_toast_check_is_priced_at_the_rate_it_first_earned_at(rt, demo_merchant, client, work):
    check = toast_check(selections=[toast_selection(price="10.00")], customer=toast_customer())
    deliver_toast(client, toast_order(checks=[check]))
    work()
    resync(rt, ("points_per_currency_unit: 10", "points_per_currency_unit: 20"))
    edited = copy.deepcopy(check)
    edited["selections"][0]["price"] = edited["selections"][0]["price"] + 2
    edited["modifiedDate"] = "2026-06-01T15:00:00.000+0000"
    deliver_toast(client, toast_order(checks=[edited], modified_date="2026-06-01T15:00:00.000+0000"))
    work()
    assert the_member(rt).points == 120


# --- 6. a shortfall is collected when points come back -------------------------------------------------------


def test_a_fully_refunded_order_never_leaves_its_points_with_the_member(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="50.00"))
    work()
    member = the_member(rt)
    redemption_id = redeem_cold_brew(client, member.id, commit=True)
    deliver(client, "refunds/create", shopify_refund(92, ORDER, "50.00"))
    work()
    assert (the_member(rt).points, the_member(rt).owed_points) == (0, 500)
    assert client.post(f"{V2}/redemptions/{redemption_id}/void", headers=API).status_code == 200
    after = the_member(rt)
    assert (after.points, after.owed_points, after.lifetime_earned) == (0, 0, 0)
    assert entries(rt)[-1] == ("REVERSAL", -500)
    reversals = client.get(f"{V2}/program-memberships/{member.id}/transactions?type=REVERSAL", headers=API).get_json()[
        "transactions"
    ]
    order_key = f"shopify:order:{ORDER}"
    assert [(t["points"], t["shortfall"], t["reference"]) for t in reversals] == [
        (-500, 0, order_key),
        (0, 500, order_key),
    ]
    assert_rebuild_agrees(rt)


def test_a_shortfall_left_by_held_points_is_collected_when_the_hold_is_released(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="50.00"))
    work()
    member = the_member(rt)
    redemption_id = redeem_cold_brew(client, member.id, commit=False)  # 500 held, 0 spendable
    deliver(client, "refunds/create", shopify_refund(93, ORDER, "50.00"))
    work()
    assert client.post(f"{V2}/redemptions/{redemption_id}/void", headers=API).status_code == 200
    after = the_member(rt)
    assert (after.points, after.held_points, after.owed_points) == (0, 0, 0)
    assert_rebuild_agrees(rt)


def test_points_that_come_back_beyond_what_is_owed_stay_spendable(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="50.00"))
    work()
    member = the_member(rt)
    add_points(client, member.id, 200)
    redemption_id = redeem_cold_brew(client, member.id, commit=True)  # 200 left
    deliver(client, "refunds/create", shopify_refund(94, ORDER, "50.00"))  # takes 200, owes 300
    work()
    assert (the_member(rt).points, the_member(rt).owed_points) == (0, 300)
    client.post(f"{V2}/redemptions/{redemption_id}/void", headers=API)
    after = the_member(rt)
    assert (after.points, after.owed_points) == (200, 0)
    assert_rebuild_agrees(rt)


def test_a_shortfall_moves_with_a_merge_and_is_collected_on_the_target(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="50.00"))
    work()
    source = the_member(rt)
    redemption_id = redeem_cold_brew(client, source.id, commit=True)
    deliver(client, "refunds/create", shopify_refund(95, ORDER, "50.00"))
    work()
    target = client.post(f"{V2}/program-memberships", headers=API, json={"phone": "+14155550999"}).get_json()
    merged = client.post(
        f"{V2}/program-memberships/merge",
        headers=API,
        json={"source_program_membership_id": source.id, "target_program_membership_id": target["membership"]["id"]},
    )
    assert merged.status_code == 200, merged.get_json()
    client.post(f"{V2}/redemptions/{redemption_id}/void", headers=API)
    with rt.db.reader() as s:
        survivor = s.get(Member, target["membership"]["id"])
        assert (survivor.points, survivor.owed_points) == (0, 0)
    assert_rebuild_agrees(rt)


# --- 7. refunds are measured like spend ----------------------------------------------------------------------


def tax_inclusive_order(order_id: int) -> dict:
    """Two items of 60.00 each, 10.00 of VAT inside each price: eligible spend 100.00."""
    payload = shopify_order(order_id, subtotal="120.00")
    payload["taxes_included"] = True
    payload["total_tax"] = "20.00"
    payload["total_price"] = "125.00"
    payload["line_items"] = [
        {
            "id": n,
            "product_id": 632910392,
            "variant_id": 808950810,
            "quantity": 1,
            "price": "60.00",
            "total_discount": "0.00",
            "tax_lines": [{"price": "10.00", "rate": 0.2, "title": "VAT"}],
        }
        for n in (1, 2)
    ]
    return payload


def test_a_tax_inclusive_shops_refund_of_one_item_takes_back_its_share_without_tax(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", tax_inclusive_order(ORDER))
    work()
    assert the_member(rt).points == 1000
    refund = shopify_refund(96, ORDER, "60.00")
    refund["refund_line_items"][0]["total_tax"] = "10.00"
    deliver(client, "refunds/create", refund)
    work()
    assert the_member(rt).points == 500


def test_on_the_total_basis_a_refund_counts_the_tax_it_gives_back(rt, demo_merchant, client, work):
    resync(rt, ("eligible_spend: subtotal", "eligible_spend: total"))
    payload = shopify_order(ORDER, subtotal="40.00")  # total 48.40: 3.40 tax, 5.00 shipping
    deliver(client, "orders/paid", payload)
    work()
    assert the_member(rt).points == 484
    refund = shopify_refund(97, ORDER, "20.00")
    refund["refund_line_items"][0]["total_tax"] = "1.70"
    deliver(client, "refunds/create", refund)
    work()
    assert the_member(rt).points == 484 - 217  # floor(484 x 21.70 / 48.40)


# --- 10. partially_paid earns on the paid share ----------------------------------------------------------------


def test_a_partially_paid_order_earns_on_the_paid_share_of_its_subtotal(rt, demo_merchant, client, work):
    deliver(
        client,
        "orders/updated",
        shopify_order(ORDER, subtotal="40.00", status="partially_paid", total_outstanding="28.40"),
    )
    work()
    assert the_member(rt).points == 165  # floor(10 x 40.00 x 20.00 / 48.40)
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="40.00", updated_at="2026-06-01T11:00:00-04:00"))
    work()
    assert the_member(rt).points == 400
    assert_rebuild_agrees(rt)


# --- the same class: amounts no balance can hold ------------------------------------------------------------


def test_an_order_whose_points_no_balance_can_hold_fails_with_its_reason_and_posts_nothing(
    rt, demo_merchant, client, work
):
    from models import Delivery

    resync(rt, ("points_per_currency_unit: 10", "points_per_currency_unit: 1000000"))
    deliver(client, "orders/paid", shopify_order(ORDER, subtotal="10000000000000.00"))  # 10^19 points
    work()
    with rt.db.reader() as s:
        delivery = s.execute(select(Delivery)).scalar_one()
        assert delivery.status == "failed" and delivery.error.startswith("points_out_of_range")
        assert s.execute(select(LedgerEntry)).scalars().all() == []
