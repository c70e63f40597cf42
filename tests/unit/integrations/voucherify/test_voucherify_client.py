"""Voucherify's Loyalty v2 client: its headers, its get-or-create, its error body and rate limits, its card reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
import responses

from integrations.voucherify.client import VoucherifyClient, VoucherifyRefusedError, VoucherifyRetryableError

BASE = "https://api.voucherify.test"
PROGRAM = "lprg_128f58429f4c4bf7b2"
V2 = f"{BASE}/v2/loyalties/programs/{PROGRAM}"
NOW = 1_780_000_000.0


def client(timeout: float = 5.0) -> VoucherifyClient:
    return VoucherifyClient(
        base_url=BASE + "/",
        app_id="app-id",
        app_token="app-token",
        session=requests.Session(),
        timeout=timeout,
        epoch=lambda: NOW,
    )


def card(points: int = 0, **extra) -> dict:
    """A ``member_card`` entry in the seed's shape."""
    return {
        "member_role": "OWNER",
        "card": {
            "id": "lcrd_1",
            "code": None,
            "lifetime_bucket": {"points": {"total": 900, "earned": 700, "added": 200}, "pending_points": {"total": 5}},
            "balance": {"points": points, "pending_points": 5},
            "next_expiration": None,
            "next_activation": None,
            "object": "card",
        },
        **extra,
    }


def membership(points: int = 0) -> dict:
    tier = {"current": {"tier": {"id": "lt_1", "name": "Gold"}}}
    return {
        "member": {"id": "lmbr_1", "customer_id": "cust_1", "status": "ACTIVE"},
        "cards": [card(points, tier_progress=tier)],
    }


def error(status: int, key: str, message: str = "Nope", headers: dict | None = None):
    body = {"code": status, "key": key, "message": message, "details": "what went wrong", "request_id": "v-1"}
    return {"status": status, "json": body, "headers": headers or {}}


@responses.activate
def test_every_call_carries_the_application_id_and_token_and_the_membership_is_read_with_its_card():
    responses.get(f"{V2}/memberships/lmbr_1", json=membership(320))
    read = client().membership(PROGRAM, "lmbr_1")
    sent = responses.calls[0].request
    assert (sent.headers["X-App-Id"], sent.headers["X-App-Token"]) == ("app-id", "app-token")
    assert "identification_type=member_id" in sent.url
    [only] = read.cards
    assert (read.member_id, read.customer_id, only.id, only.points, only.pending_points) == (
        "lmbr_1",
        "cust_1",
        "lcrd_1",
        320,
        5,
    )
    assert (only.lifetime["total"], only.lifetime["earned"], only.lifetime["spent"], only.tier) == (900, 700, 0, "Gold")


@responses.activate
def test_get_or_create_upserts_the_customer_reads_by_source_id_and_creates_on_404():
    responses.post(f"{BASE}/v1/customers", json={"id": "cust_1", "source_id": "mem_1", "object": "customer"})
    responses.get(f"{V2}/memberships/mem_1", **error(404, "not_found"))
    responses.post(f"{V2}/members", json={"id": "lmbr_1", "customer_id": "cust_1", "cards": [card()]})
    made = client().get_or_create_member(PROGRAM, source_id="mem_1", email="ada@example.com", phone=None)
    upsert, read, create = (json.loads(c.request.body) if c.request.body else None for c in responses.calls)
    assert upsert == {"source_id": "mem_1", "email": "ada@example.com"}  # nothing absent is sent as null
    assert read is None and "identification_type=customer_source_id" in responses.calls[1].request.url
    assert create == {"customer_id": "cust_1"}
    assert (made.member_id, made.cards[0].id) == ("lmbr_1", "lcrd_1")


@responses.activate
def test_get_or_create_reads_again_when_the_create_races_into_member_already_exists():
    responses.post(f"{BASE}/v1/customers", json={"id": "cust_1", "source_id": "mem_1"})
    responses.get(f"{V2}/memberships/mem_1", **error(404, "not_found"))
    responses.post(f"{V2}/members", **error(409, "member_already_exists", "Member already exists"))
    responses.get(f"{V2}/memberships/mem_1", json=membership(40))
    made = client().get_or_create_member(PROGRAM, source_id="mem_1")
    assert made.cards[0].points == 40 and len(responses.calls) == 4


@responses.activate
def test_an_inactive_program_is_a_refusal_with_its_key_not_something_to_retry():
    responses.post(f"{BASE}/v1/customers", json={"id": "cust_1", "source_id": "mem_1"})
    responses.get(f"{V2}/memberships/mem_1", **error(404, "not_found"))
    responses.post(f"{V2}/members", **error(423, "non_active_program", "Invalid program status"))
    with pytest.raises(VoucherifyRefusedError) as refused:
        client().get_or_create_member(PROGRAM, source_id="mem_1")
    assert (refused.value.code, refused.value.status) == ("non_active_program", 423)
    assert "Invalid program status: what went wrong" in str(refused.value) and "app-token" not in str(refused.value)


@responses.activate
def test_a_point_adjustment_sends_points_and_reason_only_and_reads_the_pending_transaction():
    path = f"{V2}/members/lmbr_1/cards/lcrd_1/points"
    made = {"id": "lctx_1", "type": "ADMIN_DEBIT", "status": "PENDING", "created_at": "2026-06-01T10:00:00.000Z"}
    made["details"] = {"reason": "order:1:r2", "rejection": None, "points": {"total": -40}}
    responses.post(path, json={"transaction": made, "status": "TRANSACTION_CREATED", "message": "created"})
    done = client().adjust_points(PROGRAM, member_id="lmbr_1", card_id="lcrd_1", points=-40, reason="order:1:r2")
    assert json.loads(responses.calls[0].request.body) == {"points": -40, "reason": "order:1:r2"}
    assert (done.id, done.type, done.status, done.points, done.reason) == (
        "lctx_1",
        "ADMIN_DEBIT",
        "PENDING",
        -40,
        "order:1:r2",
    )
    assert done.created_at == datetime(2026, 6, 1, 10, tzinfo=UTC)


@responses.activate
def test_zero_points_is_no_change_and_no_transaction():
    responses.post(
        f"{V2}/members/lmbr_1/cards/lcrd_1/points", json={"transaction": None, "status": "NO_CHANGE", "message": "zero"}
    )
    assert client().adjust_points(PROGRAM, member_id="lmbr_1", card_id="lcrd_1", points=0, reason="k") is None


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "30"}, 30),
        ({"X-Rate-Limit-Retry": str(int(NOW) + 90), "X-Rate-Limit-Type": "api_calls"}, 90),
        ({"X-Rate-Limit-Retry": str(int(NOW) + 90), "Retry-After": "20"}, 90),  # the longer of the two
        ({"X-Rate-Limit-Retry": str(int(NOW - 5) * 1000)}, 0),  # in milliseconds, and already past
        ({}, None),
    ],
    ids=["retry-after", "x-rate-limit-retry", "both", "millis-past", "none"],
)
@responses.activate
def test_a_429_is_retryable_after_what_voucherify_asked(headers, wait):
    responses.get(f"{V2}/memberships/lmbr_1", **error(429, "too_many_requests", "API limit reached", headers))
    with pytest.raises(VoucherifyRetryableError) as throttled:
        client().membership(PROGRAM, "lmbr_1")
    assert throttled.value.retry_after == wait and throttled.value.code == "too_many_requests"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"status": 503, "body": "<html>busy</html>"}, "server_error"),
        ({"status": 402, "json": {"code": 402, "message": "Plan limit"}}, "plan_limit"),
        (error(409, "multiple_requests", "Session lock"), "multiple_requests"),
        ({"body": requests.ConnectionError("reset")}, "network_error"),
        ({"body": requests.ReadTimeout("slow")}, "timeout"),
    ],
    ids=["5xx-html", "402-plan", "session-lock", "connection", "timeout"],
)
@responses.activate
def test_failures_that_may_pass_are_retryable_with_a_code(answer, code):
    responses.get(f"{V2}/memberships/lmbr_1", **answer)
    with pytest.raises(VoucherifyRetryableError) as failed:
        client().membership(PROGRAM, "lmbr_1")
    assert failed.value.code == code


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (error(400, "invalid_payload"), "invalid_payload"),
        (error(401, "unauthorized"), "unauthorized"),
        ({"status": 404, "body": "not json"}, "http_404"),
        ({"json": {"member": {"id": "lmbr_1"}, "cards": "none"}}, "malformed_response"),
        (
            {"json": {"member": {"id": "lmbr_1"}, "cards": [{"card": {"id": "c", "balance": {"points": 1.5}}}]}},
            "malformed_response",
        ),
        ({"body": "[1, 2]"}, "malformed_response"),
    ],
    ids=["400", "401", "404-not-json", "cards-not-a-list", "fractional-points", "not-an-object"],
)
@responses.activate
def test_refusals_and_answers_it_cannot_read_are_permanent_with_a_code(answer, code):
    responses.get(f"{V2}/memberships/lmbr_1", **answer)
    with pytest.raises(VoucherifyRefusedError) as refused:
        client().membership(PROGRAM, "lmbr_1")
    assert refused.value.code == code


def transactions(reasons: list[str], following: str | None) -> dict:
    rows = [
        {
            "id": f"lctx_{n}",
            "status": "APPROVED",
            "details": {"reason": r, "points": {"total": 1}},
            "created_at": "2026-06-01T10:00:00Z",
        }
        for n, r in enumerate(reasons)
    ]
    return {"data": rows, "cursor": {"next": following} if following else None, "object": "list"}


@responses.activate
def test_finding_a_posting_pages_through_the_card_s_transactions_by_cursor():
    path = f"{V2}/members/lmbr_1/cards/lcrd_1/transactions"
    responses.get(path, json=transactions(["other"] * 3, "lcrsctx_2"))
    responses.get(path, json=transactions(["other", "order:1:r1"], None))
    found = client().find_transaction(
        PROGRAM, member_id="lmbr_1", card_id="lcrd_1", reason="order:1:r1", not_before=datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert found is not None and found.id == "lctx_1"
    assert "cursor=lcrsctx_2" in responses.calls[1].request.url and "limit=100" in responses.calls[0].request.url


@responses.activate
def test_finding_stops_at_transactions_older_than_the_posting():
    path = f"{V2}/members/lmbr_1/cards/lcrd_1/transactions"
    responses.get(path, json=transactions(["other"], "lcrsctx_1"))
    found = client().find_transaction(
        PROGRAM, member_id="lmbr_1", card_id="lcrd_1", reason="k", not_before=datetime(2026, 6, 2, tzinfo=UTC)
    )
    assert found is None and len(responses.calls) == 1
