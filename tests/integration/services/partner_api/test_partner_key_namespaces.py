"""A partner chooses its idempotency keys freely: none of them can take a key the partner API derives itself.

Client keys ``K`` become business keys ``api:K``; every key the API derives
(cancel, rollback, void, redemption holds, keyless adjustments and
redemptions) lives under ``partner_api:``, which no client key produces.
Entries keyed the old way (``api:cancel:<id>``…) keep behaving.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from models import LedgerEntry, Redemption
from services import ledger, members
from services.rewards import redemptions
from support import TEST_ENV

V2 = "/partner-api/v2"
KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
REWARD = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"  # the demo cafe's Free Cold Brew: 500 points


@pytest.fixture
def api(rt, demo_merchant, client):
    """The partner API of the demo cafe, as a partner app calls it."""
    return Partner(client)


class Partner:
    """The partner API through the Flask test client, with the calls these tests repeat."""

    def __init__(self, client) -> None:
        self.client = client

    def send(self, method: str, path: str, body: dict | None = None, key: str | None = None):
        headers = {**KEY, **({"Idempotency-Key": key} if key else {})}
        return self.client.open(f"{V2}{path}", method=method, json=body, headers=headers)

    def ok(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
        response = self.send(method, path, body, key)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def member(self, points: int = 0) -> str:
        member = self.ok("POST", "/program-memberships", {"external_user_id": str(uuid.uuid4())})["membership"]["id"]
        if points:
            self.adjust(member, points)
        return member

    def adjust(self, member: str, points: int, key: str | None = None, **extra) -> dict:
        return self.ok("POST", f"/program-memberships/{member}/points", {"points": points, **extra}, key)

    def points(self, member: str) -> int:
        return self.ok("GET", f"/program-memberships/{member}/level")["spendable_balance"]

    def redeem(self, member: str, key: str | None = None) -> dict:
        return self.ok("POST", f"/program-memberships/{member}/redemptions", {"reward_id": REWARD}, key)


def test_a_client_key_shaped_like_the_rollback_key_of_a_hold_never_blocks_its_rollback(api):
    member = api.member(500)
    hold = api.adjust(member, -100, is_temp=True)["transaction"]["id"]
    api.adjust(member, 5, key=f"rollback:{hold}")
    response = api.send("POST", f"/transactions/{hold}/rollback", {})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["transaction"]["points"] == 100
    assert api.points(member) == 505


def test_a_client_key_shaped_like_the_cancel_key_of_an_entry_never_blocks_its_cancel(api):
    member = api.member(500)
    added = api.adjust(member, 40)["transaction"]["id"]
    api.adjust(member, 1, key=f"cancel:{added}")
    response = api.send("POST", f"/transactions/{added}/cancel", {})
    assert response.status_code == 201, response.get_json()
    assert api.points(member) == 501


def test_a_client_key_shaped_like_the_void_key_of_a_redemption_never_keeps_its_points(api):
    member = api.member(600)
    redemption = api.redeem(member)["redemption"]["id"]
    api.adjust(member, 1, key=f"void:{redemption}")
    assert api.ok("POST", f"/redemptions/{redemption}/void", {})["redemption"]["state"] == "voided"
    assert api.points(member) == 601


def test_a_redemption_keyed_k_holds_its_points_when_an_adjustment_was_keyed_k_hold(api):
    member = api.member()
    api.adjust(member, 600, key="order-7:hold")
    response = api.send("POST", f"/program-memberships/{member}/redemptions", {"reward_id": REWARD}, key="order-7")
    assert response.status_code == 201, response.get_json()
    assert api.points(member) == 100


def test_a_redemption_keyed_with_the_id_of_a_keyless_redemption_is_a_redemption_of_its_own(api):
    member = api.member(1000)
    keyless = api.redeem(member)["redemption"]["id"]
    response = api.send("POST", f"/program-memberships/{member}/redemptions", {"reward_id": REWARD}, key=keyless)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["redemption"]["id"] != keyless
    assert api.points(member) == 0


def test_every_key_the_partner_api_derives_itself_lies_outside_the_keys_clients_can_write(rt, api):
    member = api.member(2000)
    held = api.adjust(member, -100, is_temp=True)["transaction"]["id"]
    api.ok("POST", f"/transactions/{held}/rollback", {})
    cancelled = api.adjust(member, 30)["transaction"]["id"]
    api.ok("POST", f"/transactions/{cancelled}/cancel", {})
    api.ok("POST", f"/redemptions/{api.redeem(member)['redemption']['id']}/void", {})
    api.redeem(member, key="client-redemption")
    api.adjust(member, 7, key="client-adjustment")
    with rt.db.reader() as session:
        keys = session.execute(
            select(LedgerEntry.business_key, LedgerEntry.idempotency_key).where(LedgerEntry.member_id == member)
        ).all()
        sources = set(session.execute(select(Redemption.source_key).where(Redemption.member_id == member)).scalars())
    assert {k for k, client in keys if client} == {"api:client-adjustment"}
    assert all(k.startswith("partner_api:") for k, client in keys if not client), keys
    assert "api:client-redemption" in sources and all(
        s.startswith("partner_api:") for s in sources - {"api:client-redemption"}
    )


# --- entries keyed the old way ----------------------------------------------------


def _entry(session, transaction_id: str) -> LedgerEntry:
    return session.execute(select(LedgerEntry).where(LedgerEntry.id == transaction_id)).scalar_one()


def _count(rt, member: str) -> int:
    with rt.db.reader() as session:
        return len(session.execute(select(LedgerEntry.id).where(LedgerEntry.member_id == member)).all())


def test_an_entry_cancelled_under_the_old_cancel_key_is_not_cancelled_twice(rt, api):
    member = api.member(500)
    added = api.adjust(member, 40)["transaction"]["id"]
    with rt.db.transaction() as session:
        entry = _entry(session, added)
        old = ledger.cancel(
            session,
            members.lock(session, member),
            entry,
            key=f"api:cancel:{added}",
            channel="partner_api",
            now=rt.clock(),
        )
    before = _count(rt, member)
    again = api.send("POST", f"/transactions/{added}/cancel", {})
    assert (again.status_code, again.get_json()["transaction"]["id"]) == (200, old.id)
    assert (_count(rt, member), api.points(member)) == (before, 500)


def test_a_hold_rolled_back_under_the_old_rollback_key_is_not_rolled_back_twice(rt, api):
    member = api.member(500)
    hold = api.adjust(member, -100, is_temp=True)["transaction"]["id"]
    with rt.db.transaction() as session:
        old = ledger.release_hold(
            session,
            members.lock(session, member),
            _entry(session, hold),
            key=f"api:rollback:{hold}",
            channel="partner_api",
            now=rt.clock(),
        )
    before = _count(rt, member)
    again = api.send("POST", f"/transactions/{hold}/rollback", {})
    assert (again.status_code, again.get_json()["transaction"]["id"]) == (200, old.id)
    assert (_count(rt, member), api.points(member)) == (before, 500)


def test_a_redemption_voided_under_the_old_void_key_gives_nothing_back_twice(rt, api):
    member = api.member(600)
    redemption = api.redeem(member)["redemption"]["id"]
    with rt.db.transaction() as session:
        row = session.execute(select(Redemption).where(Redemption.id == redemption)).scalar_one()
        redemptions.void(session, row, key=f"api:void:{redemption}", channel="partner_api", now=rt.clock())
    before = _count(rt, member)
    assert api.ok("POST", f"/redemptions/{redemption}/void", {})["redemption"]["state"] == "voided"
    assert (_count(rt, member), api.points(member)) == (before, 600)
