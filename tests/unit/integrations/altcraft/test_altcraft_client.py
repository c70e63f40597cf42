"""AltcraftClient against Altcraft's documented envelope: every call a POST with the token as a Bearer header, every
failure an ``error`` other than 0 (on HTTP 200 too), amounts and balances as decimal strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses

from integrations.altcraft.client import (
    AltcraftClient,
    AltcraftRefusedError,
    AltcraftRetryableError,
    matching,
)

HOST = "https://altcraft.example.com"
API = f"{HOST}/api/v1.1"
TOKEN = "abc123def456"
WHO = matching("phone", "+14155550134")


def client(base_url: str = HOST, currency: str | None = "stars") -> AltcraftClient:
    return AltcraftClient(
        base_url=base_url, token=TOKEN, session=requests.Session(), loyalty_program_id=123, points_currency_eid=currency
    )


def ok(**body) -> dict:
    return {"error": 0, "error_text": "Successful operation", **body}


def sent(call) -> dict:
    return json.loads(call.request.body)


@responses.activate
def test_register_member_posts_the_matching_with_the_token_as_a_bearer_header_and_returns_the_profile_id():
    responses.post(f"{API}/loyalty/register_member", json=ok(profile_id="123456"))
    assert client().register_member(WHO) == "123456"
    [call] = responses.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent(call) == {"loyalty_program_id": 123, "matching": "phone", "phone": "+14155550134"}


@pytest.mark.parametrize("base", [HOST, f"{HOST}/", f"{HOST}/api/v1.1"])
def test_the_base_url_is_taken_with_or_without_the_api_prefix(base):
    assert client(base).base_url == API


@responses.activate
def test_accrue_points_sends_the_amount_as_an_exact_decimal_string_with_its_transaction_eid():
    responses.post(f"{API}/loyalty/accrue_points", json=ok(data={"transaction_id": "T1", "balance": "425.00"}))
    made = client().accrue_points(
        WHO, amount=Decimal("425"), transaction_eid="shopify:order:1:r1", created_at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    body = sent(responses.calls[0])
    assert (body["amount"], body["transaction_eid"], body["points_currency_eid"]) == (
        "425",
        "shopify:order:1:r1",
        "stars",
    )
    assert body["created_at"] == "2026-06-01T00:00:00Z" and "token" not in body and "is_temp" not in body
    assert (made.transaction_id, made.balance) == ("T1", Decimal("425.00"))


@responses.activate
def test_an_accrual_whose_answer_carries_no_data_is_still_named_by_its_transaction_eid():
    responses.post(f"{API}/loyalty/accrue_points", json=ok())
    made = client(currency=None).accrue_points(WHO, amount=10, transaction_eid="k1")
    assert (made.transaction_id, made.transaction_eid) == (None, "k1")
    assert "points_currency_eid" not in sent(responses.calls[0])


@responses.activate
def test_a_temporary_redemption_carries_is_temp_and_its_time_out():
    responses.post(f"{API}/loyalty/redeeme_points", json=ok(data={"transaction_id": "T2", "balance": "200.00"}))
    client().redeem_points(WHO, amount=300, transaction_eid="toast-loyalty:g:m:0", temp_timeout_sec=87300)
    body = sent(responses.calls[0])
    assert (body["amount"], body["is_temp"], body["temp_timeout_sec"]) == ("300", True, 87300)


@responses.activate
@pytest.mark.parametrize("method", ["commit_transaction", "rollback_transaction", "cancel_transaction"])
def test_commit_rollback_and_cancel_name_the_transaction_by_its_eid_and_read_the_balance(method):
    responses.post(f"{API}/loyalty/{method}", json=ok(data={"transaction_id": "T3", "balance": "399.50"}))
    made = getattr(client(), method)(transaction_eid="k1")
    assert sent(responses.calls[0]) == {"transaction_eid": "k1"} and made.balance == Decimal("399.50")


@responses.activate
def test_the_balance_is_read_from_decimal_strings():
    responses.post(
        f"{API}/loyalty/account/balance", json=ok(data={"total_balance": "1000.00", "active_balance": "800.50"})
    )
    balance = client().balance(WHO)
    assert (balance.total, balance.active) == (Decimal("1000.00"), Decimal("800.50"))


@responses.activate
def test_http_200_with_a_nonzero_error_is_a_refusal_with_altcrafts_code_and_text():
    responses.post(f"{API}/loyalty/accrue_points", json={"error": 400, "error_text": "Incorrect request"})
    with pytest.raises(AltcraftRefusedError) as caught:
        client().accrue_points(WHO, amount=1, transaction_eid="k1")
    assert caught.value.code == "altcraft_400" and "Incorrect request" in str(caught.value)
    assert TOKEN not in str(caught.value)


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "code", "retry_after"),
    [
        (429, {}, "rate_limited", 30.0),
        (503, {}, "server_error", 30.0),
        (200, {"error": 500, "error_text": "Internal error"}, "altcraft_500", None),
    ],
)
def test_throttling_and_server_failures_are_retryable_with_retry_after(status, body, code, retry_after):
    responses.post(f"{API}/loyalty/account/balance", json=body, status=status, headers={"Retry-After": "30"})
    with pytest.raises(AltcraftRetryableError) as caught:
        client().balance(WHO)
    assert (caught.value.code, caught.value.retry_after) == (code, retry_after)


@responses.activate
def test_a_timeout_is_retryable():
    responses.post(f"{API}/loyalty/account/balance", body=requests.Timeout())
    with pytest.raises(AltcraftRetryableError) as caught:
        client().balance(WHO)
    assert caught.value.code == "timeout"


@responses.activate
@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"error_text": "no code"}'])
def test_an_answer_outside_the_envelope_is_malformed(body):
    responses.post(f"{API}/loyalty/register_member", body=body, status=200)
    with pytest.raises(AltcraftRefusedError) as caught:
        client().register_member(WHO)
    assert caught.value.code == "malformed_response"


@responses.activate
def test_find_transaction_pages_through_the_history_with_from_id_until_it_finds_the_eid():
    first = [{"transaction_id": f"id{i}", "transaction_eid": f"other{i}", "amount": "1"} for i in range(100)]
    second = [{"transaction_id": "idX", "transaction_eid": "k1", "transaction_type": "accrual", "amount": "100.1"}]
    responses.post(f"{API}/loyalty/account/transactions", json=ok(data=first))
    responses.post(f"{API}/loyalty/account/transactions", json=ok(data=second))
    found = client().find_transaction(WHO, "k1")
    assert (found.transaction_id, found.amount) == ("idX", Decimal("100.1"))
    assert "from_id" not in sent(responses.calls[0]) and sent(responses.calls[1])["from_id"] == "id99"
    assert sent(responses.calls[0])["limit"] == 100


@responses.activate
def test_find_transaction_answers_none_after_a_short_page_without_the_eid():
    responses.post(
        f"{API}/loyalty/account/transactions", json=ok(data=[{"transaction_id": "a", "transaction_eid": "b"}])
    )
    assert client().find_transaction(WHO, "k1") is None and len(responses.calls) == 1


def test_an_amount_that_is_not_positive_is_never_sent():
    with pytest.raises(ValueError):
        client().accrue_points(WHO, amount=0, transaction_eid="k1")
