"""The idempotency key is stored whole: a key too long for its column is refused, never cut short to collide."""

from __future__ import annotations

import uuid

import pytest

from support import TEST_ENV

V2 = "/partner-api/v2"
KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}


def send(client, method: str, path: str, body: dict | None = None, key: str | None = None):
    headers = {**KEY, **({"Idempotency-Key": key} if key else {})}
    return client.open(f"{V2}{path}", method=method, json=body, headers=headers)


def new_member(client) -> str:
    response = send(client, "POST", "/program-memberships", {"external_user_id": str(uuid.uuid4())})
    return response.get_json()["membership"]["id"]


@pytest.mark.parametrize("where", ["header", "body"])
def test_an_idempotency_key_too_long_to_store_is_refused_rather_than_cut_short(demo_merchant, client, where):
    first, second = new_member(client), new_member(client)
    long_key = "k" * 255
    for member, tail in ((first, "-first"), (second, "-second")):
        body = {"first_name": f"Guest{tail}", **({"idempotency_key": long_key + tail} if where == "body" else {})}
        response = send(
            client, "PATCH", f"/program-memberships/{member}", body, key=long_key + tail if where == "header" else None
        )
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"] == "INVALID_PARAMETERS"
    assert send(client, "GET", f"/program-memberships/{first}").get_json()["membership"]["first_name"] is None


def test_an_idempotency_key_of_255_characters_is_kept_whole(demo_merchant, client):
    member = new_member(client)
    first = send(client, "PATCH", f"/program-memberships/{member}", {"first_name": "Ada"}, key="k" * 254 + "a")
    other = send(client, "PATCH", f"/program-memberships/{member}", {"first_name": "Grace"}, key="k" * 254 + "b")
    assert (first.status_code, other.status_code) == (200, 200)
    assert other.get_json()["membership"]["first_name"] == "Grace"


def test_a_removal_with_a_key_too_long_to_store_is_refused_and_removes_nothing(demo_merchant, client):
    member = new_member(client)
    response = send(client, "DELETE", f"/program-memberships/{member}", key="k" * 256)
    assert (response.status_code, response.get_json()["error"]) == (400, "INVALID_PARAMETERS")
    assert send(client, "GET", f"/program-memberships/{member}").get_json()["membership"]["status"] == "ACTIVE"
