"""The partner API for a Voucherify merchant: memberships enroll through Voucherify, level and points read its card,
the ledger's own operations are Voucherify's."""

from __future__ import annotations

import pytest
from hang_support import postings
from voucherify_support import API

V2 = "/partner-api/v2"
KEY = {"X-API-Key": API}


def created(client, work, voucherify, points: int = 0) -> str:
    response = client.post(
        f"{V2}/program-memberships", json={"phone": "+14155550134", "first_name": "Ada"}, headers=KEY
    )
    assert response.status_code == 200, response.get_json()
    work()
    member_id = response.get_json()["membership"]["id"]
    if points:
        voucherify.give_points(voucherify.member_of(member_id), points)
    return member_id


def test_a_get_or_create_enrolls_the_member_in_voucherify_once(rt, voucherify, voucherify_merchant, client, work):
    member_id = created(client, work, voucherify)
    again = client.post(f"{V2}/program-memberships", json={"phone": "+14155550134"}, headers=KEY)
    work()
    assert again.get_json()["membership"]["id"] == member_id
    customer = voucherify.customers[voucherify.only_member()["customer_id"]]
    assert (customer["source_id"], customer["phone"], customer["name"]) == (member_id, "+14155550134", "Ada")
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]


def test_level_and_points_read_the_card_s_balance_buckets_and_tier(rt, voucherify, voucherify_merchant, client, work):
    member_id = created(client, work, voucherify, points=650)
    voucherify.only_member()["card"]["pending"] = 40  # points the program holds back until they activate
    level = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY).get_json()
    assert (level["tier"], level["balance"], level["spendable_balance"]) == ("Silver", 650, 650)
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=KEY).get_json()
    assert card["balance"] == {"points": 650, "pending_points": 40}
    assert card["lifetime"]["earned"] == 650 and card["lifetime"]["spent"] == 0
    assert card["pending_points"]["total"] == 40


def test_a_voucherify_that_does_not_answer_makes_level_a_503_with_a_code(
    rt, voucherify, voucherify_merchant, client, work
):
    member_id = created(client, work, voucherify)
    voucherify.fail("/memberships/", 503, times=5)
    response = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY)
    assert (response.status_code, response.get_json()["error"]) == (503, "PROVIDER_UNAVAILABLE")
    assert "vf-test-app-token" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/program-memberships/{id}/transactions", None),
        ("post", "/program-memberships/{id}/points", {"points": 10, "idempotency_key": "k1"}),
        ("post", "/program-memberships/{id}/redemptions", {"reward_id": "x"}),
        ("post", "/transactions/txn_1/cancel", {}),
        ("post", "/redemptions/rdm_1/void", {}),
    ],
)
def test_the_ledgers_own_operations_answer_409_program_managed_by_provider(
    rt, voucherify, voucherify_merchant, client, work, method, path, body
):
    member_id = created(client, work, voucherify)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(f"{V2}{path.format(id=member_id)}", headers=KEY, **kwargs)
    assert (response.status_code, response.get_json()["error"]) == (409, "PROGRAM_MANAGED_BY_PROVIDER")
    assert response.get_json()["details"] == [{"field": "provider", "problem": "Voucherify"}]
    assert voucherify.calls_to("/points", "POST") == []
