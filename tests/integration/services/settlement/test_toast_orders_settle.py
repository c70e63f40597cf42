"""Toast order webhooks through the real path, the Orders API look-up and the reconciliation poll."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from models import Delivery, LedgerEntry, Member, Redemption
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV
from toast_factories import (
    toast_body,
    toast_check,
    toast_customer,
    toast_discount,
    toast_headers,
    toast_modifier,
    toast_order,
    toast_selection,
)
from toast_pos_support import COLD_BREW, call, check_info, cold_brew, deliver, give_points, signup

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
SECRET = TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"]
API = "https://toast.test"


def members(rt) -> list[Member]:
    with rt.db.reader() as s:
        return s.execute(select(Member)).scalars().all()


def points(rt) -> int:
    return sum(m.points for m in members(rt))


def test_a_paid_check_earns_on_its_selections_without_tax_tips_or_service_charges(rt, demo_merchant, client, work):
    burger = toast_selection(price="14.00", modifiers=[toast_modifier("1.50")])  # price already holds the modifier
    gift_card = toast_selection(price="25.00", deferred=True)
    voided = toast_selection(price="9.00", voided=True)
    check = toast_check(selections=[burger, gift_card, voided], customer=toast_customer())
    assert deliver(client, toast_order(checks=[check])).status_code == 200
    work()
    [member] = members(rt)
    assert (member.email, member.phone, member.points) == ("ada@example.com", "+14155550134", 140)


def test_each_check_is_accounted_on_its_own_and_an_open_one_earns_nothing(rt, demo_merchant, client, work):
    paid = toast_check(selections=[toast_selection(price="10.00")], customer=toast_customer())
    still_open = toast_check(
        selections=[toast_selection(price="30.00")], customer=toast_customer(), payment_status="OPEN"
    )
    deliver(client, toast_order(checks=[paid, still_open]))
    work()
    assert points(rt) == 100
    with rt.db.reader() as s:
        keys = s.execute(select(LedgerEntry.reference)).scalars().all()
    assert keys == [f"toast:check:{paid['guid']}"]


def test_a_voided_order_reverses_every_check_it_accrued_and_a_late_older_state_changes_nothing(
    rt, demo_merchant, client, work
):
    check = toast_check(selections=[toast_selection(price="10.00")], customer=toast_customer())
    order = toast_order(checks=[check])
    deliver(client, order)
    work()
    voided = {
        **order,
        "voided": True,
        "modifiedDate": "2026-06-01T15:00:00.000+0000",
        "checks": [{**check, "modifiedDate": "2026-06-01T15:00:00.000+0000"}],
    }
    deliver(client, voided)
    work()
    assert points(rt) == 0
    deliver(client, order)  # the first state again, late, as a new delivery
    work()
    assert points(rt) == 0


def test_a_repeated_envelope_guid_is_stored_once(rt, demo_merchant, client, work):
    order = toast_order(checks=[toast_check(customer=toast_customer())])
    deliver(client, order, event_guid="evt-1")
    again = deliver(client, order, event_guid="evt-1")
    assert again.get_json()["status"] == "duplicate"
    work()
    with rt.db.reader() as s:
        assert len(s.execute(select(Delivery)).scalars().all()) == 1


def test_the_restaurant_can_come_from_the_envelope_when_the_header_is_missing(rt, demo_merchant, client):
    response = deliver(client, toast_order(), header_restaurant=False)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "kwargs, code",
    [({"secret": "wrong"}, "INVALID_SIGNATURE"), ({"restaurant": str(uuid.uuid4())}, "UNKNOWN_MERCHANT")],
)
def test_a_bad_signature_or_an_unknown_restaurant_is_refused_and_nothing_stored(
    rt, demo_merchant, client, kwargs, code
):
    response = deliver(client, toast_order(), **kwargs)
    assert response.status_code == 401 and response.get_json()["error"] == code
    with rt.db.reader() as s:
        assert s.execute(select(Delivery)).first() is None


def test_an_order_webhook_and_a_pos_accrue_for_the_same_check_earn_once(rt, demo_merchant, client, work):

    member = signup(client)
    check = toast_check(selections=[toast_selection(price="10.00")], loyalty_identifier=member)
    call(client, "LOYALTY_ACCRUE", check_info(member, check))
    deliver(client, toast_order(checks=[check]))
    work()
    assert points(rt) == 100


def test_a_loyalty_discount_on_a_paid_check_marks_the_held_redemption_redeemed(rt, demo_merchant, client, work):

    member = signup(client)
    give_points(rt, member, 500)
    open_check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=member)
    call(client, "LOYALTY_REDEEM", check_info(member, open_check, [{"identifier": COLD_BREW}]))
    paid = {**open_check, "paymentStatus": "CLOSED", "appliedDiscounts": [toast_discount(COLD_BREW, amount="5.00")]}
    deliver(client, toast_order(checks=[paid]))
    work()
    with rt.db.reader() as s:
        assert s.execute(select(Redemption.state)).scalar_one() == "redeemed"
        assert s.get(Member, member).held_points == 0


@pytest.fixture
def toast_api_merchant(rt, demo_merchant):
    text = (
        EXAMPLE_CONFIG.read_text()
        .replace("      # api:", "      api:")
        .replace("      #   base_url: https://ws-api.toasttab.com", f"        base_url: {API}")
        .replace("      #   client_id: ${DEMO_CAFE_TOAST_CLIENT_ID}", "        client_id: punchcard-client")
        .replace(
            "      #   client_secret: ${DEMO_CAFE_TOAST_CLIENT_SECRET}", "        client_secret: toast-client-secret"
        )
    )
    sync(rt, parse_config(text, TEST_ENV))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            f"{API}/authentication/v1/authentication/login",
            json={
                "@class": ".SuccessfulResponse",
                "status": "SUCCESS",
                "token": {
                    "tokenType": "Bearer",
                    "accessToken": "toast-token",
                    "expiresIn": 86400,
                    "scope": "orders:read",
                },
            },
        )
        yield mock


def test_a_webhook_without_the_guests_phone_is_completed_from_the_orders_api(rt, toast_api_merchant, client, work):
    full = toast_order(checks=[toast_check(customer=toast_customer(phone="415-555-0134"))])
    partial = json.loads(toast_body(full))
    partial["checks"][0]["customer"].update(phone=None, firstName=None, lastName=None)
    toast_api_merchant.get(
        f"{API}/orders/v2/orders/{full['guid']}", body=toast_body(full), content_type="application/json"
    )
    deliver(client, partial)
    work()
    [member] = members(rt)
    assert (member.phone, member.first_name) == ("+14155550134", "Ada")


def test_reconciliation_queues_orders_the_webhooks_missed_and_skips_settled_ones(
    rt, toast_api_merchant, client, work, clock
):
    from services.toast.reconciliation import reconcile

    clock.now = clock.now.replace(year=2026, month=6, day=1, hour=14, minute=30)
    seen, missed = (
        toast_order(checks=[toast_check(customer=toast_customer(email=e, phone=p))])
        for e, p in (("a@x.co", "415-555-0101"), ("b@x.co", "415-555-0102"))
    )
    deliver(client, seen)
    work()
    toast_api_merchant.get(
        f"{API}/orders/v2/ordersBulk",
        body=b"[" + toast_body(seen) + b"," + toast_body(missed) + b"]",
        content_type="application/json",
    )
    assert reconcile(rt, first_window=timedelta(hours=2)) == 1
    work()
    assert sorted(m.email for m in members(rt)) == ["a@x.co", "b@x.co"]
    assert reconcile(rt, first_window=timedelta(hours=2)) == 0
    bulk = [c.request for c in toast_api_merchant.calls if "ordersBulk" in c.request.url][0]
    assert bulk.headers["Toast-Restaurant-External-ID"] == RESTAURANT
    assert bulk.headers["Authorization"] == "Bearer toast-token"


def test_a_signed_toast_delivery_that_cannot_be_settled_is_kept_as_failed_with_its_reason(
    rt, demo_merchant, client, work
):
    envelope = {
        "timestamp": "2026-06-01T14:00:00.123+0000",
        "eventType": "order_updated",
        "guid": "evt-broken",
        "details": {"restaurantGuid": RESTAURANT},
    }  # no order
    body = toast_body(envelope)
    response = client.post(
        "/webhooks/toast",
        data=body,
        headers=toast_headers(body, secret=SECRET, timestamp=envelope["timestamp"], restaurant_guid=RESTAURANT),
    )
    assert response.status_code == 200
    work()
    with rt.db.reader() as s:
        delivery = s.execute(select(Delivery)).scalar_one()
    assert delivery.status == "failed" and "details.order is missing" in delivery.error
