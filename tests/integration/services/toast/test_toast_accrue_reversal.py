"""LOYALTY_REVERSE of an ACCRUE takes the check's points back, and a later state of the check earns again.

toast-loyalty.md: "a later state of that check (a new ACCRUE, or an order
webhook whose `modifiedDate` is later than the reverse) earns again, posting
only the difference."
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import LedgerEntry, Member
from services.ledger import rebuild as ledger_rebuild
from support import TEST_ENV
from toast_contract import validate_response
from toast_factories import toast_body, toast_check, toast_envelope, toast_headers, toast_order, toast_selection

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
KEY = TEST_ENV["DEMO_CAFE_TOAST_LOYALTY_KEY"]
AFTER_THE_CHECK = datetime(2026, 6, 1, 14, 5, tzinfo=UTC)  # the factories' checks are modified 13:59:58


def call(client, kind: str, body: dict, *, guid: str | None = None):
    headers = {
        "Authorization": KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    response = client.post(
        "/webhooks/toast/loyalty", data=toast_body({"toastTransactionType": kind, **body}), headers=headers
    )
    validate_response(response.get_json())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def signup(client) -> str:
    answer = call(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550134"}})
    return answer["signupResponse"]["loyaltyIdentifier"]


def accrue(client, member_id: str, check: dict) -> str:
    guid = str(uuid.uuid4())
    call(
        client,
        "LOYALTY_ACCRUE",
        {
            "checkTransactionInformation": {
                "loyaltyIdentifier": member_id,
                "orderGuid": str(uuid.uuid4()),
                "check": check,
                "redemptions": [],
            }
        },
        guid=guid,
    )
    return guid


def reverse(client, member_id: str, transaction_guid: str) -> None:
    call(
        client,
        "LOYALTY_REVERSE",
        {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": transaction_guid}},
    )


def points(rt, member_id: str) -> int:
    with rt.db.reader() as s:
        return s.get(Member, member_id).points


def paid_check(member_id: str, price: str = "12.50") -> dict:
    return toast_check(selections=[toast_selection(price=price)], payment_status="CLOSED", loyalty_identifier=member_id)


def deliver_order(client, order: dict) -> None:
    body = toast_body(toast_envelope(order, RESTAURANT))
    headers = toast_headers(body, secret=TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"], restaurant_guid=RESTAURANT)
    assert client.post("/webhooks/toast", data=body, headers=headers).status_code == 200


def test_a_check_accrued_again_after_a_reverse_earns_again(rt, demo_merchant, client, work):
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    assert points(rt, member) == 125
    reverse(client, member, first)
    assert points(rt, member) == 0
    accrue(client, member, check)
    work()
    assert points(rt, member) == 125
    assert ledger_rebuild.rebuild(rt) == []


def test_a_re_paid_check_earns_on_its_new_amount_posting_only_the_difference(rt, demo_merchant, client, work):
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    reverse(client, member, first)
    repaid = copy.deepcopy(check)
    repaid["selections"].append(toast_selection(price="5.00"))
    accrue(client, member, repaid)
    work()
    assert points(rt, member) == 175
    with rt.db.reader() as s:
        assert [e.points for e in s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars()] == [
            125,
            -125,
            175,
        ]


def test_an_order_webhook_earns_again_only_when_it_is_later_than_the_reverse(rt, demo_merchant, client, clock, work):
    clock.now = AFTER_THE_CHECK
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    reverse(client, member, first)
    same_state = toast_order(checks=[check])
    deliver_order(client, same_state)
    work()
    assert points(rt, member) == 0  # the state the POS reversed
    later = (clock.now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    edited = {**copy.deepcopy(check), "modifiedDate": later}
    deliver_order(client, toast_order(checks=[edited], modified_date=later))
    work()
    assert points(rt, member) == 125


def test_an_accrue_reversed_before_the_worker_reached_it_earns_nothing(rt, demo_merchant, client, work):
    member = signup(client)
    first = accrue(client, member, paid_check(member))
    reverse(client, member, first)  # the worker has not run yet
    work()
    assert points(rt, member) == 0
    with rt.db.reader() as s:
        assert s.execute(select(LedgerEntry)).scalars().all() == []


def test_a_check_voided_after_a_reverse_never_earns_again(rt, demo_merchant, client, clock, work):
    clock.now = AFTER_THE_CHECK
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    reverse(client, member, first)
    later = (clock.now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    voided = {**copy.deepcopy(check), "modifiedDate": later, "voided": True}
    deliver_order(client, toast_order(checks=[voided], modified_date=later))
    work()
    accrue(client, member, check)
    work()
    assert points(rt, member) == 0


def test_a_check_accrued_again_after_a_reverse_that_found_its_points_spent_pays_its_shortfall_first(
    rt, demo_merchant, client, work
):
    api = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    client.post(
        f"/partner-api/v2/program-memberships/{member}/points",
        headers=api,
        json={"points": 375, "idempotency_key": "bonus-1"},
    )
    started = client.post(
        f"/partner-api/v2/program-memberships/{member}/redemptions",
        headers=api,
        json={"reward_id": "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"},
    ).get_json()
    client.post(f"/partner-api/v2/redemptions/{started['redemption']['id']}/redeem", headers=api)
    reverse(client, member, first)  # the 125 were spent: all of it is owed
    with rt.db.reader() as s:
        assert (s.get(Member, member).points, s.get(Member, member).owed_points) == (0, 125)
    accrue(client, member, check)
    work()
    with rt.db.reader() as s:
        assert (s.get(Member, member).points, s.get(Member, member).owed_points) == (0, 0)
    assert ledger_rebuild.rebuild(rt) == []


def test_a_pending_re_accrual_pays_the_shortfall_before_it_ever_becomes_spendable(
    rt, demo_merchant, client, clock, work
):
    from services.ledger import schedule as ledger_jobs
    from services.merchants.config import parse_config
    from services.merchants.sync import sync
    from support import EXAMPLE_CONFIG

    sync(rt, parse_config(EXAMPLE_CONFIG.read_text().replace("pending_days: 0", "pending_days: 1"), TEST_ENV))
    api = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
    member = signup(client)
    check = paid_check(member)
    first = accrue(client, member, check)
    work()
    clock.now += timedelta(days=3)
    ledger_jobs.activate_points(rt)
    client.post(
        f"/partner-api/v2/program-memberships/{member}/points",
        headers=api,
        json={"points": -125, "idempotency_key": "spend-it"},
    )
    reverse(client, member, first)
    accrue(client, member, check)
    work()
    with rt.db.reader() as s:
        m = s.get(Member, member)
        assert (m.points, m.pending_points, m.owed_points) == (0, 0, 0)
    clock.now += timedelta(days=3)
    ledger_jobs.activate_points(rt)
    with rt.db.reader() as s:
        m = s.get(Member, member)
        assert (m.points, m.pending_points, m.owed_points) == (0, 0, 0)
    assert ledger_rebuild.rebuild(rt) == []


def test_reversing_an_accrue_that_named_no_account_leaves_what_the_check_earned_through_its_webhook(
    rt, demo_merchant, client, work
):
    from toast_factories import toast_customer

    check = toast_check(selections=[toast_selection(price="12.50")], payment_status="CLOSED", customer=toast_customer())
    deliver_order(client, toast_order(checks=[check]))
    work()
    guid = str(uuid.uuid4())
    call(
        client,
        "LOYALTY_ACCRUE",
        {
            "checkTransactionInformation": {
                "loyaltyIdentifier": None,
                "orderGuid": str(uuid.uuid4()),
                "check": check,
                "redemptions": [],
            }
        },
        guid=guid,
    )
    call(client, "LOYALTY_REVERSE", {"reverseTransactionInformation": {"transactionId": guid}})
    with rt.db.reader() as s:
        [member] = s.execute(select(Member)).scalars().all()
        assert member.points == 125
