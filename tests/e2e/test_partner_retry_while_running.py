"""A retry with the same Idempotency-Key that arrives while the first call is still running gets the first answer.

Two real HTTP calls into the running app (gunicorn, two workers) on PostgreSQL.
The first call is held inside its transaction by a row lock a third
connection takes on the member; the retry is sent once the first is seen
waiting in ``pg_stat_activity``, and the lock is released once the retry is
waiting too. Each partner API write that takes a key is raced this way.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import pytest
import requests

from support import TEST_ENV, wait_for

KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
REWARD = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"  # the demo cafe's Free Cold Brew: 500 points


@dataclass(frozen=True)
class Call:
    """The write to race, the member whose row lock holds it, and the status of its first answer."""

    member: str
    method: str
    path: str
    body: dict | None
    first_status: int


class Partner:
    """The partner API of the running stack, as a partner app calls it."""

    def __init__(self, base_url: str) -> None:
        self.v2 = f"{base_url}/partner-api/v2"

    def send(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> requests.Response:
        headers = {**KEY, **({"Idempotency-Key": key} if key else {})}
        return requests.request(method, f"{self.v2}{path}", json=body, headers=headers, timeout=60)

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.send(method, path, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def member(self, points: int = 0) -> str:
        member = self.ok("POST", "/program-memberships", {"external_user_id": str(uuid.uuid4())})["membership"]["id"]
        if points:
            self.ok("POST", f"/program-memberships/{member}/points", {"points": points})
        return member

    def hold(self, member: str) -> str:
        body = {"points": -100, "is_temp": True}
        return self.ok("POST", f"/program-memberships/{member}/points", body)["transaction"]["id"]

    def redemption(self, member: str) -> str:
        body = {"reward_id": REWARD}
        return self.ok("POST", f"/program-memberships/{member}/redemptions", body)["redemption"]["id"]


def activity(api: Partner) -> Call:
    member = api.member()
    spend = {"activity": {"value": "12.50", "transaction_timestamp": int(time.time())}}
    return Call(member, "POST", f"/program-memberships/{member}/activities", spend, 201)


def adjustment(api: Partner) -> Call:
    member = api.member()
    return Call(member, "POST", f"/program-memberships/{member}/points", {"points": 300}, 201)


def temporary_hold(api: Partner) -> Call:
    member = api.member(500)
    return Call(member, "POST", f"/program-memberships/{member}/points", {"points": -100, "is_temp": True}, 201)


def commit(api: Partner) -> Call:
    member = api.member(500)
    return Call(member, "POST", f"/transactions/{api.hold(member)}/commit", {}, 200)


def rollback(api: Partner) -> Call:
    member = api.member(500)
    return Call(member, "POST", f"/transactions/{api.hold(member)}/rollback", {}, 201)


def cancel(api: Partner) -> Call:
    member = api.member()
    added = api.ok("POST", f"/program-memberships/{member}/points", {"points": 40})["transaction"]["id"]
    return Call(member, "POST", f"/transactions/{added}/cancel", {}, 201)


def redemption(api: Partner) -> Call:
    member = api.member(600)
    return Call(member, "POST", f"/program-memberships/{member}/redemptions", {"reward_id": REWARD}, 201)


def redeem(api: Partner) -> Call:
    member = api.member(600)
    return Call(member, "POST", f"/redemptions/{api.redemption(member)}/redeem", {}, 200)


def void(api: Partner) -> Call:
    member = api.member(600)
    return Call(member, "POST", f"/redemptions/{api.redemption(member)}/void", {}, 200)


def get_or_create(api: Partner) -> Call:
    external = str(uuid.uuid4())
    member = api.ok("POST", "/program-memberships", {"external_user_id": external})["membership"]["id"]
    return Call(member, "POST", "/program-memberships", {"external_user_id": external, "first_name": "Ada"}, 200)


def update(api: Partner) -> Call:
    member = api.member()
    return Call(member, "PATCH", f"/program-memberships/{member}", {"first_name": "Grace"}, 200)


def remove(api: Partner) -> Call:
    member = api.member(70)
    return Call(member, "DELETE", f"/program-memberships/{member}", None, 200)


def merge(api: Partner) -> Call:
    source, target = api.member(30), api.member(20)
    body = {"source_program_membership_id": source, "target_program_membership_id": target}
    return Call(source, "POST", "/program-memberships/merge", body, 200)


WRITES = [
    activity,
    adjustment,
    temporary_hold,
    commit,
    rollback,
    cancel,
    redemption,
    redeem,
    void,
    get_or_create,
    update,
    remove,
    merge,
]


@pytest.fixture
def postgres(stack) -> str:
    """The stack's database as a libpq URL; SQLite has no second writer to race (BEGIN IMMEDIATE serialises)."""
    url = stack.env["DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers at BEGIN: a retry cannot run while the first call does")
    return url.replace("postgresql+psycopg://", "postgresql://")


def waiting_on_locks(observer: psycopg.Connection) -> int:
    """Backends of this database waiting for a lock right now (each query is its own snapshot)."""
    return observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


@pytest.mark.parametrize("setup", WRITES, ids=[w.__name__ for w in WRITES])
def test_a_retry_that_arrives_while_the_first_call_runs_gets_the_first_answer(stack, postgres, setup):
    api = Partner(stack.base_url)
    call = setup(api)
    key = f"retry-{uuid.uuid4()}"

    def send() -> requests.Response:
        return api.send(call.method, call.path, call.body, key=key)

    with (
        psycopg.connect(postgres, autocommit=True) as observer,
        psycopg.connect(postgres) as locker,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        locker.execute("SELECT 1 FROM members WHERE id = %s FOR UPDATE", (call.member,))
        first = pool.submit(send)
        wait_for(lambda: waiting_on_locks(observer) >= 1, what="the first call waiting inside its transaction")
        second = pool.submit(send)
        wait_for(lambda: waiting_on_locks(observer) >= 2, what="the retry waiting too")
        locker.rollback()  # the first call goes on; the retry was sent while it ran
        first, second = first.result(), second.result()
    assert first.status_code == call.first_status, first.text
    assert (second.status_code, second.json()) == (200, first.json())
