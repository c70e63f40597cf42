"""What the tests of the Toast POS endpoint share: calling it as the POS does, a member with points, checks."""

from __future__ import annotations

import uuid

from models import Member
from support import TEST_ENV
from toast_contract import validate_response
from toast_factories import toast_body, toast_envelope, toast_headers, toast_selection

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
KEY = "test-toast-loyalty-key"
COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"  # redemption, 500 points, item 100000000437569098
DRINKS_10 = "3b6f1c8e-5a27-4d0b-9e4f-2c1a8d7e6b52"  # 10% off group 100000000171239911, min qty 2, 300 points
TWO_OFF = "9a4e2d71-c3b8-4f06-8d15-6e7b0a9c4f23"  # 2.00 off the check, 200 points
ACCESS = "e5c7b9a1-4d3f-4a62-b8e0-1f2d3c4b5a69"


def call(client, kind: str, body: dict, *, guid: str | None = None, key: str = KEY, restaurant: str = RESTAURANT):
    headers = {
        "Authorization": key,
        "Toast-Restaurant-External-ID": restaurant,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": guid or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    response = client.post(
        "/webhooks/toast/loyalty", data=toast_body({"toastTransactionType": kind, **body}), headers=headers
    )
    if response.status_code < 500:
        validate_response(response.get_json())
    return response


def cold_brew(guid=None, price="5.00"):
    return toast_selection(
        guid, price=price, name="Cold Brew", item_id="100000000437569098", group_id="100000000171239911"
    )


def bagel(price="3.50"):
    return toast_selection(price=price, name="Bagel", item_id="100000000999000001", group_id="100000000171230000")


def check_info(member_id, check, redemptions=None):
    return {
        "checkTransactionInformation": {
            "loyaltyIdentifier": member_id,
            "orderGuid": str(uuid.uuid4()),
            "check": check,
            "redemptions": redemptions or [],
        }
    }


def signup(client, phone="4155550134") -> str:
    response = call(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": phone}})
    assert response.status_code == 200
    return response.get_json()["signupResponse"]["loyaltyIdentifier"]


def balance(rt, member_id) -> tuple[int, int]:
    with rt.db.reader() as s:
        m = s.get(Member, member_id)
        return m.points, m.held_points


def give_points(rt, member_id, points):
    from services import ledger, members

    with rt.db.transaction() as s:
        ledger.post(
            s,
            members.lock(s, member_id),
            ledger.Posting(key=f"seed-{uuid.uuid4()}", points=points, type="ADDITION", channel="admin"),
            rt.clock(),
        )


SECRET = TEST_ENV["DEMO_CAFE_TOAST_WEBHOOK_SECRET"]


def deliver(client, order, *, event_guid=None, secret=SECRET, restaurant=RESTAURANT, header_restaurant=True):
    envelope = toast_envelope(order, restaurant, event_guid=event_guid)
    body = toast_body(envelope)
    headers = toast_headers(body, secret=secret, restaurant_guid=restaurant)
    if not header_restaurant:
        headers.pop("Toast-Restaurant-External-ID")
    return client.post("/webhooks/toast", data=body, headers=headers)
