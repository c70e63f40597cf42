"""The partner API's first endpoints: member search and level, with keys and tenancy."""

from __future__ import annotations

import pytest

from factories import encode, shopify_headers, shopify_order

DEMO = {"X-API-Key": "test-demo-key"}


def paid_order(client, work, **kwargs):
    body = encode(shopify_order(**kwargs))
    client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w-paid"))
    work()


@pytest.mark.parametrize("query", ["phone=%2B14155550134", "phone=(415)%20555-0134", "email=ADA@example.com"])
def test_a_member_is_found_by_phone_in_any_format_or_by_email(rt, two_merchants, client, work, query):
    paid_order(client, work)
    response = client.get(f"/partner-api/v2/program-memberships/search?{query}", headers=DEMO)
    assert response.status_code == 200
    membership = response.get_json()["membership"]
    assert membership["phone"] == "+14155550134" and membership["email"] == "ada@example.com"
    assert membership["id"].startswith("mem_") and isinstance(membership["created_at"], int)


def test_the_level_shows_tier_lifetime_and_spendable_points_and_the_next_tier(rt, two_merchants, client, work):
    paid_order(client, work, subtotal="42.50")
    member_id = client.get("/partner-api/v2/program-memberships/search?email=ada@example.com", headers=DEMO).get_json()[
        "membership"
    ]["id"]
    response = client.get(
        f"/partner-api/v2/program-memberships/{member_id}/level", headers={"Authorization": "Bearer test-demo-key"}
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "tier": "Bronze",
        "balance": 425,
        "spendable_balance": 425,
        "next_tier": {"name": "Silver", "points_needed": 575},
    }


def test_a_missing_key_is_a_400_in_hangs_manner(rt, two_merchants, client):
    response = client.get("/partner-api/v2/program-memberships/search?phone=1")
    assert response.status_code == 400 and response.get_json()["error"] == "API_KEY_HEADER_IS_MISSING"


def test_a_wrong_key_is_a_401(rt, two_merchants, client):
    response = client.get("/partner-api/v2/program-memberships/search?phone=1", headers={"x-api-key": "nope"})
    assert response.status_code == 401 and response.get_json()["error"] == "INVALID_API_KEY"


def test_a_search_without_any_criterion_is_a_400_naming_the_field(rt, two_merchants, client):
    response = client.get("/partner-api/v2/program-memberships/search", headers=DEMO)
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "MISSING_REQUIRED_PARAMETERS"
    assert body["details"][0]["field"] == "phone"


def test_an_unknown_member_is_a_404(rt, two_merchants, client):
    assert client.get("/partner-api/v2/program-memberships/search?email=x@example.com", headers=DEMO).status_code == 404
    assert client.get("/partner-api/v2/program-memberships/mem_nope/level", headers=DEMO).status_code == 404


def test_another_merchants_key_never_sees_the_member(rt, two_merchants, client, work):
    paid_order(client, work)
    member_id = client.get("/partner-api/v2/program-memberships/search?email=ada@example.com", headers=DEMO).get_json()[
        "membership"
    ]["id"]
    other = {"X-API-Key": "other-bakery-key"}
    assert (
        client.get("/partner-api/v2/program-memberships/search?email=ada@example.com", headers=other).status_code == 404
    )
    response = client.get(f"/partner-api/v2/program-memberships/{member_id}/level", headers=other)
    assert response.status_code == 404
    assert response.get_json()["error"] == "PROGRAM_MEMBERSHIP_NOT_FOUND"


def test_an_api_body_over_256_kib_is_a_413(rt, two_merchants, client):
    response = client.get("/partner-api/v2/program-memberships/search?phone=1", headers=DEMO, data=b"x" * (257 * 1024))
    assert response.status_code == 413
