"""The partner API for an Altcraft merchant: memberships register through Altcraft, level and points read its
balance, the ledger's own operations are Altcraft's."""

from __future__ import annotations

import pytest
from altcraft_support import API, postings, profile_of
from fake_altcraft import TOKEN

V2 = "/partner-api/v2"
KEY = {"X-API-Key": API}


def created(client, work, altcraft, points: int = 0) -> str:
    response = client.post(
        f"{V2}/program-memberships", json={"phone": "+14155550134", "first_name": "Ada"}, headers=KEY
    )
    assert response.status_code == 200, response.get_json()
    work()
    if points:
        altcraft.give_points(profile_of(altcraft)["id"], points)
    return response.get_json()["membership"]["id"]


def test_a_get_or_create_registers_the_member_in_altcraft_once(rt, altcraft, altcraft_merchant, client, work):
    created(client, work, altcraft)
    created(client, work, altcraft)  # found again: no second registration
    assert profile_of(altcraft)["registered"] and len(altcraft.calls_to("register_member")) == 1
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]


def test_level_and_points_read_altcrafts_active_balance(rt, altcraft, altcraft_merchant, client, work):
    member_id = created(client, work, altcraft, points=650)
    level = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY).get_json()
    assert (level["spendable_balance"], level["balance"]) == (650, 650)
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=KEY).get_json()
    assert card["balance"] == {"points": 650, "pending_points": 0}
    [(_, balance, _)] = altcraft.calls_to("account/balance")  # the second read came from the cache
    assert balance["points_currency_eid"] == "stars" and balance["matching"] == "phone"


def test_an_altcraft_that_answers_an_error_makes_level_a_503_with_a_code_and_no_secret(
    rt, altcraft, altcraft_merchant, client, work
):
    member_id = created(client, work, altcraft)
    altcraft.fail("account/balance", error=500, times=5)
    response = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY)
    assert (response.status_code, response.get_json()["error"]) == (503, "PROVIDER_UNAVAILABLE")
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/program-memberships/{id}/transactions", None),
        ("post", "/program-memberships/{id}/points", {"points": 10, "idempotency_key": "k1"}),
        ("post", "/program-memberships/{id}/redemptions", {"reward_id": "x"}),
        ("post", "/transactions/txn_1/cancel", {}),
    ],
)
def test_the_ledgers_own_operations_answer_409_program_managed_by_altcraft(
    rt, altcraft, altcraft_merchant, client, work, method, path, body
):
    member_id = created(client, work, altcraft)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(f"{V2}{path.format(id=member_id)}", headers=KEY, **kwargs)
    assert (response.status_code, response.get_json()["error"]) == (409, "PROGRAM_MANAGED_BY_PROVIDER")
    assert response.get_json()["details"] == [{"field": "provider", "problem": "Altcraft"}]
