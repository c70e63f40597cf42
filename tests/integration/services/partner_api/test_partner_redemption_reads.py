"""GET /redemptions/{id} and GET /program-memberships/{id}/redemptions: one redemption, and a member's, paged."""

from __future__ import annotations

from datetime import timedelta

import pytest

V2 = "/partner-api/v2"
A = {"X-API-Key": "test-demo-key"}
B = {"X-API-Key": "other-bakery-key"}
TWO_OFF = "9a4e2d71-c3b8-4f06-8d15-6e7b0a9c4f23"  # 200 points, once a week
DRINKS = "3b6f1c8e-5a27-4d0b-9e4f-2c1a8d7e6b52"  # 300 points
EARLY = "e5c7b9a1-4d3f-4a62-b8e0-1f2d3c4b5a69"  # free


@pytest.fixture
def member(rt, two_merchants, client):
    made = client.post(f"{V2}/program-memberships", json={"external_user_id": "reader"}, headers=A)
    member_id = made.get_json()["membership"]["id"]
    assert (
        client.post(f"{V2}/program-memberships/{member_id}/points", json={"points": 2000}, headers=A).status_code == 201
    )
    return member_id


def redeem(client, member_id, reward_id):
    answer = client.post(f"{V2}/program-memberships/{member_id}/redemptions", json={"reward_id": reward_id}, headers=A)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["redemption"]


def listed(client, member_id, query="", headers=A):
    return client.get(f"{V2}/program-memberships/{member_id}/redemptions{query}", headers=headers)


def test_one_redemption_shows_its_state_reward_points_instants_and_channel(client, member, clock):
    made = redeem(client, member, TWO_OFF)
    clock.now += timedelta(minutes=3)
    client.post(f"{V2}/redemptions/{made['id']}/redeem", json={}, headers=A)
    shown = client.get(f"{V2}/redemptions/{made['id']}", headers=A)
    assert shown.status_code == 200
    assert shown.get_json()["redemption"] == {
        **made,
        "state": "redeemed",
        "redeemed_at": int(clock.now.timestamp()),
        "channel": "partner_api",
        "code": None,
        "discount_gid": None,
    }


def test_a_members_redemptions_are_listed_newest_first_and_filtered_by_state(client, member, clock):
    first = redeem(client, member, TWO_OFF)
    clock.now += timedelta(seconds=1)
    second = redeem(client, member, DRINKS)
    clock.now += timedelta(seconds=1)
    third = redeem(client, member, EARLY)
    client.post(f"{V2}/redemptions/{second['id']}/void", json={}, headers=A)
    body = listed(client, member).get_json()
    assert [r["id"] for r in body["redemptions"]] == [third["id"], second["id"], first["id"]]
    assert body["next_cursor"] is None
    voided = listed(client, member, "?state=voided").get_json()["redemptions"]
    assert [r["id"] for r in voided] == [second["id"]]
    assert listed(client, member, "?state=lost").status_code == 400


def test_pages_follow_the_cursor_and_new_redemptions_never_shift_them(client, member):
    made = [redeem(client, member, EARLY)["id"] for _ in range(5)]
    page = listed(client, member, "?limit=2").get_json()
    assert [r["id"] for r in page["redemptions"]] == [made[4], made[3]]
    redeem(client, member, EARLY)  # a new one comes before the first page, never inside the next ones
    rest = listed(client, member, f"?limit=2&cursor={page['next_cursor']}").get_json()
    assert [r["id"] for r in rest["redemptions"]] == [made[2], made[1]]
    last = listed(client, member, f"?limit=2&cursor={rest['next_cursor']}").get_json()
    assert [r["id"] for r in last["redemptions"]] == [made[0]] and last["next_cursor"] is None
    refused = listed(client, member, "?cursor=not-ours")
    assert refused.status_code == 400 and refused.get_json()["error"] == "INVALID_CURSOR"


def test_another_merchants_key_sees_neither_the_redemption_nor_the_members_list(client, member):
    made = redeem(client, member, TWO_OFF)
    hidden = client.get(f"{V2}/redemptions/{made['id']}", headers=B)
    assert hidden.status_code == 404 and hidden.get_json()["error"] == "REDEMPTION_NOT_FOUND"
    assert listed(client, member, headers=B).status_code == 404
    assert client.get(f"{V2}/redemptions/rdm_unknown", headers=A).status_code == 404
