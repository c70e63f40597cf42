"""Tenancy: a merchant's key never sees, changes or learns of another merchant's memberships."""

from __future__ import annotations

import pytest

API = "/partner-api/v2/program-memberships"
A = {"X-API-Key": "test-demo-key"}
B = {"X-API-Key": "other-bakery-key"}
# Every Memberships endpoint that names a membership, called with merchant A's key: (method, path, body).
MATRIX = [
    ("GET", "{b}", None),
    ("PATCH", "{b}", {"first_name": "Mallory"}),
    ("PATCH", "{b}", {"status": "INACTIVE"}),
    ("DELETE", "{b}", None),
    ("POST", "{b}/magic-link", None),
    ("POST", "merge", {"source_program_membership_id": "{b}", "target_program_membership_id": "{a}"}),
    ("POST", "merge", {"source_program_membership_id": "{a}", "target_program_membership_id": "{b}"}),
    ("GET", "search?phone=%2B14155550134", None),
    ("GET", "search?external_user_id=bob", None),
    ("GET", "search?email=bob@example.com", None),
]


@pytest.fixture
def members(rt, two_merchants, client):
    """One membership at merchant A and one at merchant B; returns their ids."""
    rt.secret_key = "test-secret-key"
    a = client.post(API, json={"external_user_id": "alice"}, headers=A).get_json()["membership"]["id"]
    b = client.post(
        API,
        json={"phone": "+14155550134", "external_user_id": "bob", "email": "bob@example.com", "first_name": "Bob"},
        headers=B,
    ).get_json()["membership"]["id"]
    return {"a": a, "b": b}


def fill(value, ids):
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("method, path, body", MATRIX)
def test_merchant_as_key_gets_404_for_every_membership_endpoint_with_an_id_of_merchant_b(
    rt, client, members, method, path, body
):
    before = client.get(f"{API}/{members['b']}", headers=B).get_json()
    response = client.open(f"{API}/{fill(path, members)}", method=method, json=fill(body, members), headers=A)
    assert response.status_code == 404
    assert response.get_json()["error"] == "PROGRAM_MEMBERSHIP_NOT_FOUND"
    assert client.get(f"{API}/{members['b']}", headers=B).get_json() == before


def test_the_list_of_merchant_a_never_includes_merchant_bs_members(rt, client, members):
    listed = client.get(API, headers=A).get_json()["program_memberships"]
    assert [m["id"] for m in listed] == [members["a"]]


def test_get_or_create_with_merchant_bs_identity_makes_a_separate_member_of_merchant_a(rt, client, members):
    response = client.post(API, json={"phone": "+14155550134", "email": "bob@example.com"}, headers=A)
    assert response.get_json()["created"] is True and response.get_json()["membership"]["id"] != members["b"]
