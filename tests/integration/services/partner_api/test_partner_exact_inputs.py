"""Every number and string a partner sends is checked at the edge: a clear 400 or 422, never a 500 from the database.

ledger.md: amounts that round to 0 points post nothing (no empty entry), so an
activity that earns nothing is a 422 ``NO_POINTS_EARNED`` and changes nothing.
Cursors name rows the API issued; one that decodes to a number or instant the
column cannot hold is a 400 ``INVALID_CURSOR``.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import TEST_ENV

V2 = "/partner-api/v2"
KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}  # the demo cafe: 10 points per 1.00, floor
LAVISH = {"X-API-Key": "lavish-key"}
LAVISH_MERCHANT = """
merchants:
  - slug: lavish-lounge
    name: Lavish Lounge
    currency: USD
    timezone: UTC
    api_keys: [lavish-key]
    program: {points_per_currency_unit: 1000000}
"""
NOW = 1780315200  # the suite's clock


def new_member(client, headers=KEY) -> str:
    response = client.post(f"{V2}/program-memberships", json={"external_user_id": str(uuid.uuid4())}, headers=headers)
    return response.get_json()["membership"]["id"]


def spend(client, member: str, value, key: str = "spend-1", headers=KEY):
    body = {"idempotency_key": key, "activity": {"value": value, "transaction_timestamp": NOW}}
    return client.post(f"{V2}/program-memberships/{member}/activities", json=body, headers=headers)


def ledger_of(client, member: str, headers=KEY) -> list[dict]:
    return client.get(f"{V2}/program-memberships/{member}/transactions", headers=headers).get_json()["transactions"]


def failure(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# --- amounts --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e-30", 1e-30, "0.09", 0, "1E-999999999"])
def test_an_activity_that_earns_no_points_is_a_422_no_points_earned_and_posts_nothing(demo_merchant, client, value):
    member = new_member(client)
    response = spend(client, member, value)
    assert failure(response) == (422, "NO_POINTS_EARNED"), response.get_json()
    assert "no points at the program's rate" in response.get_json()["message"]
    assert ledger_of(client, member) == []
    # Nothing was kept under the key either: the same key with a real spend earns.
    assert spend(client, member, "0.10").status_code == 201
    assert [t["points"] for t in ledger_of(client, member)] == [1]


@pytest.mark.parametrize("value", [1e30, "1e30", "NaN", "Infinity", "-Infinity", -1, "-0.01"])
def test_an_activity_value_that_is_huge_negative_or_not_finite_is_a_400_and_posts_nothing(demo_merchant, client, value):
    member = new_member(client)
    assert failure(spend(client, member, value)) == (400, "INVALID_PARAMETERS")
    assert ledger_of(client, member) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_json_number_for_an_activity_value_is_a_400(demo_merchant, client, literal):
    member = new_member(client)
    raw = f'{{"idempotency_key": "k", "activity": {{"value": {literal}, "transaction_timestamp": {NOW}}}}}'
    response = client.post(
        f"{V2}/program-memberships/{member}/activities", data=raw, headers=KEY, content_type="application/json"
    )
    assert response.status_code == 400, response.get_json()
    assert ledger_of(client, member) == []


@pytest.mark.parametrize("points", [2**63, -(2**63) - 1, 10**30, 1e30, 2**63 + 0.5])
def test_an_adjustment_beyond_the_range_of_points_is_a_400_and_posts_nothing(demo_merchant, client, points):
    member = new_member(client)
    response = client.post(f"{V2}/program-memberships/{member}/points", json={"points": points}, headers=KEY)
    assert failure(response) == (400, "INVALID_PARAMETERS")
    assert ledger_of(client, member) == []


def test_an_activity_earning_more_points_than_a_balance_can_hold_is_a_422_and_posts_nothing(rt, demo_config, client):
    demo_config.merchants.extend(parse_config(LAVISH_MERCHANT, {}).merchants)
    sync(rt, demo_config)
    member = new_member(client, LAVISH)
    from services import ledger, members

    with rt.db.transaction() as s:  # near the limit: no single API call may add this much
        ledger.post(
            s,
            members.lock(s, member),
            ledger.Posting(key="seed", points=2**63 - 10**14, type="ADDITION", channel="admin"),
            rt.clock(),
        )
    response = spend(client, member, "1000000000", key="bigger", headers=LAVISH)  # 10^15 points
    assert failure(response) == (422, "POINTS_LIMIT_EXCEEDED"), response.get_json()
    assert [t["points"] for t in ledger_of(client, member, LAVISH)] == [2**63 - 10**14]


# --- cursors and filters ----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["seq:9223372036854775808", "seq:99999999999999999999999", "seq:0", "seq:-1", "seq:\uff11", "seq:1:2"]
)
def test_a_transactions_cursor_naming_no_row_we_could_issue_is_a_400_invalid_cursor(demo_merchant, client, text):
    member = new_member(client)
    response = client.get(f"{V2}/program-memberships/{member}/transactions?cursor={cursor_of(text)}", headers=KEY)
    assert failure(response) == (400, "INVALID_CURSOR")


def test_the_largest_transactions_cursor_a_bigint_holds_pages_from_the_newest_entry(demo_merchant, client):
    member = new_member(client)
    assert spend(client, member, "1.00").status_code == 201
    response = client.get(
        f"{V2}/program-memberships/{member}/transactions?cursor={cursor_of(f'seq:{2**63 - 1}')}", headers=KEY
    )
    assert response.status_code == 200 and [t["points"] for t in response.get_json()["transactions"]] == [10]


@pytest.mark.parametrize(
    "raw",
    [
        ["0001-01-01T00:00:00+01:00", "mem_1"],
        ["9999-12-31T23:59:59-05:00", "mem_1"],
        ["2026-01-01T00:00:00", "mem_1"],
        ["2026-01-01T00:00:00+00:00", "mem\u0000"],
        ["2026-01-01T00:00:00+00:00", "m" * 100],
        ["2026-01-01T00:00:00+00:00", 7],
        {"a": 1, "b": 2},
    ],
)
def test_a_memberships_cursor_naming_no_row_we_could_issue_is_a_400_invalid_cursor(demo_merchant, client, raw):
    response = client.get(f"{V2}/program-memberships?cursor={cursor_of(json.dumps(raw))}", headers=KEY)
    assert failure(response) == (400, "INVALID_CURSOR")


def test_a_cursor_longer_than_any_we_issue_is_a_400(demo_merchant, client):
    response = client.get(f"{V2}/program-memberships?cursor={'A' * 600}", headers=KEY)
    assert failure(response) == (400, "INVALID_PARAMETERS")


@pytest.mark.parametrize("since", [10**12, 10**20])
def test_an_updated_since_beyond_the_calendar_is_a_400(demo_merchant, client, since):
    response = client.get(f"{V2}/program-memberships?updated_since={since}", headers=KEY)
    assert failure(response) == (400, "INVALID_PARAMETERS")


# --- text -----------------------------------------------------------------------


def test_a_nul_character_in_an_id_a_filter_or_a_field_is_a_400_and_changes_nothing(demo_merchant, client):
    member = new_member(client)
    refused = [
        client.get(f"{V2}/program-memberships/a%00b", headers=KEY),
        client.post(f"{V2}/transactions/txn%00/cancel", json={}, headers=KEY),
        client.get(f"{V2}/program-memberships/search?external_user_id=a%00b", headers=KEY),
        client.post(f"{V2}/program-memberships", json={"external_user_id": "a\u0000b"}, headers=KEY),
        client.patch(f"{V2}/program-memberships/{member}", json={"first_name": "Ada\u0000"}, headers=KEY),
        client.patch(f"{V2}/program-memberships/{member}", json={"metadata": {"a\u0000": 1}}, headers=KEY),
        client.post(f"{V2}/program-memberships/{member}/points", json={"points": 5, "reason": "\u0000"}, headers=KEY),
        client.post(
            f"{V2}/program-memberships/{member}/points", json={"points": 5, "idempotency_key": "k\u0000"}, headers=KEY
        ),
    ]
    assert [failure(r) for r in refused] == [(400, "INVALID_PARAMETERS")] * len(refused)
    found = client.get(f"{V2}/program-memberships/{member}", headers=KEY).get_json()["membership"]
    assert (found["first_name"], found["metadata"], ledger_of(client, member)) == (None, {}, [])


def test_a_body_nested_too_deep_to_parse_is_a_400_invalid_json(demo_merchant, client):
    member = new_member(client)
    response = client.patch(
        f"{V2}/program-memberships/{member}",
        data='{"metadata": {"a": ' + "[" * 50000 + "]" * 50000 + "}}",
        headers=KEY,
        content_type="application/json",
    )
    assert failure(response) == (400, "INVALID_JSON")
