"""The partner API for a Hang merchant: memberships enroll through Hang, level and points read it, the ledger's own
operations are Hang's."""

from __future__ import annotations

import pytest
from hang_support import API, postings

V2 = "/partner-api/v2"
KEY = {"X-API-Key": API}


def created(client, work, hang, points: int = 0) -> str:
    response = client.post(
        f"{V2}/program-memberships", json={"phone": "+14155550134", "first_name": "Ada"}, headers=KEY
    )
    assert response.status_code == 200, response.get_json()
    work()
    [hang_member] = hang.members.values()
    hang.give_points(hang_member["id"], points)
    return response.get_json()["membership"]["id"]


def test_a_get_or_create_enrolls_the_member_in_hang(rt, hang, hang_merchant, client, work):
    created(client, work, hang)
    [hang_member] = hang.members.values()
    assert (hang_member["phone"], hang_member["first_name"]) == ("+14155550134", "Ada")
    assert [(p.kind, p.status) for p in postings(rt)] == [("enroll", "sent")]


@pytest.mark.parametrize("shape", ["current", "2023"])
def test_level_and_points_read_hangs_balance_in_either_documented_shape(rt, hang, hang_merchant, client, work, shape):
    hang.level_shape = shape
    member_id = created(client, work, hang)
    hang.members[next(iter(hang.members))]["lifetime"] = 700
    hang.give_points(next(iter(hang.members)), 650)
    level = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY).get_json()
    assert level["balance"] == 700
    assert level["spendable_balance"] == (650 if shape == "current" else 700)  # 2023's level has no spendable
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=KEY).get_json()
    assert card["balance"]["points"] == level["spendable_balance"] and card["lifetime"]["earned"] == 700


def test_a_hang_that_does_not_answer_makes_level_a_503_with_a_code(rt, hang, hang_merchant, client, work):
    member_id = created(client, work, hang)
    hang.fail("/level", 503, times=5)
    response = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY)
    assert (response.status_code, response.get_json()["error"]) == (503, "PROVIDER_UNAVAILABLE")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/program-memberships/{id}/transactions", None),
        ("post", "/program-memberships/{id}/points", {"points": 10, "idempotency_key": "k1"}),
        (
            "post",
            "/program-memberships/{id}/activities",
            {"idempotency_key": "k2", "activity": {"value": 10, "transaction_timestamp": 1780315200}},
        ),
        ("post", "/program-memberships/{id}/redemptions", {"reward_id": "x"}),
        ("get", "/program-memberships/{id}/rewards", None),
        ("post", "/transactions/txn_1/cancel", {}),
        ("post", "/redemptions/rdm_1/void", {}),
        (
            "post",
            "/program-memberships/merge",
            {"source_program_membership_id": "{id}", "target_program_membership_id": "mem_other"},
        ),
    ],
)
def test_the_ledgers_own_operations_answer_409_program_managed_by_provider(
    rt, hang, hang_merchant, client, work, method, path, body
):
    member_id = created(client, work, hang)
    call = getattr(client, method)
    if body and body.get("source_program_membership_id"):
        body = {**body, "source_program_membership_id": member_id}
    kwargs = {"json": body} if body is not None else {}
    response = call(f"{V2}{path.format(id=member_id)}", headers=KEY, **kwargs)
    assert (response.status_code, response.get_json()["error"]) == (409, "PROGRAM_MANAGED_BY_PROVIDER")
    assert response.get_json()["details"] == [{"field": "provider", "problem": "Hang"}]
