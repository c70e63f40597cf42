"""InveterateClient against ``responses`` speaking Inveterate's documented envelope, statuses and failure modes."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from integrations.inveterate.client import InveterateClient, InveterateRefusedError, InveterateRetryableError

BASE = "https://public.inveterateapi.com"
KEY = "inv_private_5f3c2a1b"
CUSTOMER = "7390123456789012345"
MEMBER = f"{BASE}/v2.0/admin/members/{CUSTOMER}"
CREDITS = f"{MEMBER}/credits"


def client(base_url: str = BASE) -> InveterateClient:
    return InveterateClient(base_url=base_url, api_key=KEY, session=requests.Session(), timeout=2)


def member_body(credit, earned) -> bytes:
    # Written by hand so the numbers reach the client exactly as Inveterate writes them.
    member = f'"customerId": "{CUSTOMER}", "credit": {credit}, "creditsEarned": {earned}, "status": "ACTIVE"'
    return f'{{"message": "ok", "data": {{{member}}}}}'.encode()


@responses.activate
def test_a_member_is_read_with_its_credit_exact_and_the_key_in_its_header():
    responses.get(MEMBER, body=member_body("12.35", "40.1"), content_type="application/json")
    found = client().member(CUSTOMER)
    assert (found.customer_id, found.credit, found.credits_earned) == (CUSTOMER, Decimal("12.35"), Decimal("40.1"))
    assert responses.calls[0].request.headers["X-Inveterate-Api-Key"] == KEY


@responses.activate
@pytest.mark.parametrize(
    ("status", "body"), [(404, {"message": "Member not found", "data": {}}), (200, {"message": "ok", "data": {}})]
)
def test_a_customer_who_is_not_a_member_is_none(status, body):
    responses.get(MEMBER, status=status, json=body)
    assert client().member(CUSTOMER) is None


@responses.activate
def test_a_trailing_v2_in_the_base_url_is_accepted():
    responses.get(MEMBER, body=member_body(0, 0), content_type="application/json")
    assert client(f"{BASE}/v2.0/").member(CUSTOMER).credit == 0


@responses.activate
@pytest.mark.parametrize(("status", "applied"), [(201, False), (200, True)])
def test_a_credit_goes_out_as_an_exact_number_with_its_note(status, applied):
    responses.post(CREDITS, status=status, json={"message": "Credit request sent", "data": {}})
    assert client().add_credit(CUSTOMER, Decimal("-0.45"), note="shopify:order:1:r2") is applied
    sent = responses.calls[0].request
    assert sent.body.decode() == '{"amount": -0.45, "note": "shopify:order:1:r2"}'
    assert json.loads(sent.body, parse_float=Decimal)["amount"] == Decimal("-0.45")


def test_a_credit_of_zero_is_never_sent():
    with pytest.raises(ValueError):
        client().add_credit(CUSTOMER, Decimal("0.00"), note="k")


@responses.activate
def test_a_429_is_retryable_after_what_inveterate_asked_and_a_5xx_is_retryable():
    responses.post(
        CREDITS, status=429, headers={"Retry-After": "120"}, json={"message": "Too many requests", "data": {}}
    )
    responses.get(MEMBER, status=500, json={"message": "Internal server error", "data": {}})
    with pytest.raises(InveterateRetryableError) as throttled:
        client().add_credit(CUSTOMER, Decimal("1"), note="k")
    with pytest.raises(InveterateRetryableError) as failed:
        client().member(CUSTOMER)
    assert (throttled.value.code, throttled.value.retry_after) == ("rate_limited", 120.0)
    assert failed.value.code == "server_error"


@responses.activate
def test_a_timeout_and_a_broken_connection_are_retryable():
    responses.get(MEMBER, body=requests.ReadTimeout("slow"))
    responses.post(CREDITS, body=requests.ConnectionError("reset"))
    with pytest.raises(InveterateRetryableError) as slow:
        client().member(CUSTOMER)
    with pytest.raises(InveterateRetryableError) as reset:
        client().add_credit(CUSTOMER, Decimal("1"), note="k")
    assert (slow.value.code, reset.value.code) == ("timeout", "network_error")


@responses.activate
def test_a_400_is_refused_for_good_with_inveterates_message_and_never_our_key():
    responses.post(CREDITS, status=400, json={"message": f"Invalid key {KEY} for merchant", "data": {}})
    with pytest.raises(InveterateRefusedError) as refused:
        client().add_credit(CUSTOMER, Decimal("1"), note="k")
    assert refused.value.code == "bad_request" and "Invalid key" in str(refused.value)
    assert KEY not in str(refused.value)


@responses.activate
def test_a_body_that_is_not_json_is_a_malformed_answer():
    responses.get(MEMBER, body="<html>oops</html>")
    with pytest.raises(InveterateRefusedError) as malformed:
        client().member(CUSTOMER)
    assert malformed.value.code == "malformed_response"


@responses.activate
def test_find_credit_pages_through_the_list_passing_its_cursor_back():
    first = {
        "credits": [{"amount": 1, "note": "a"}, {"amount": 2, "note": "b"}],
        "lastCreditEntry": "2026-06-01T10:00:00Z#b",
    }
    second = {"credits": [{"amount": 0.5, "note": "shopify:order:9:r1"}], "lastCreditEntry": None}
    responses.get(CREDITS, json={"message": "ok", "data": first})
    responses.get(CREDITS, json={"message": "ok", "data": second})
    found = client().find_credit(CUSTOMER, "shopify:order:9:r1")
    assert found.note == "shopify:order:9:r1" and found.amount == Decimal("0.5")
    queries = [parse_qs(urlsplit(call.request.url).query) for call in responses.calls]
    assert "lastCreditEntry" not in queries[0] and queries[1]["lastCreditEntry"] == ["2026-06-01T10:00:00Z#b"]


@responses.activate
def test_find_credit_reads_a_bare_list_and_answers_none_when_the_note_is_absent():
    responses.get(CREDITS, json={"message": "ok", "data": [{"amount": 1, "reason": "MANUAL"}]})
    assert client().find_credit(CUSTOMER, "shopify:order:9:r1") is None
    assert len(responses.calls) == 1
