"""A Standard Webhooks delivery: verified by the standardwebhooks library with each secret, posted once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
import responses
from standardwebhooks import Webhook, WebhookVerificationError

from integrations.webhooks_out import sender

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEXT = "whsec_dGhlIG5leHQgc2VjcmV0IGZvciB0ZXN0aW5nIQ=="
BODY = json.dumps({"type": "points.earned", "timestamp": "2026-06-01T12:00:00Z", "data": {"points": 5}})
URL = "https://hooks.example.com/loyalty"


def signed(*secrets: str) -> dict[str, str]:
    return sender.headers(event_id="evt_1", timestamp=datetime.now(UTC), body=BODY, secrets=list(secrets))


def test_the_library_verifies_a_delivery_signed_with_the_endpoints_secret():
    headers = signed(SECRET)
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "evt_1" and headers["webhook-signature"].startswith("v1,")


def test_during_a_rotation_either_secret_verifies_the_same_delivery():
    headers = signed(SECRET, NEXT)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(SECRET).verify(BODY, headers) == Webhook(NEXT).verify(BODY, headers)


def test_a_changed_body_or_another_secret_does_not_verify():
    headers = signed(SECRET)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace("5", "50"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(NEXT).verify(BODY, headers)


@responses.activate
def test_any_2xx_is_delivered_and_anything_else_is_an_error_named_by_its_status():
    responses.post(URL, status=202)
    responses.post(URL, status=410)
    session = requests.Session()
    assert sender.post(session, URL, BODY, signed(SECRET)) == sender.Attempt(202, None)
    failed = sender.post(session, URL, BODY, signed(SECRET))
    assert (failed.status, failed.error, failed.delivered) == (410, "HTTP 410", False)
    assert responses.calls[0].request.body == BODY.encode()


@responses.activate
def test_a_redirect_is_not_followed():
    responses.post(URL, status=302, headers={"Location": "http://169.254.169.254/latest"})
    assert sender.post(requests.Session(), URL, BODY, signed(SECRET)) == sender.Attempt(302, "HTTP 302")
    assert len(responses.calls) == 1


@responses.activate
def test_no_answer_and_no_connection_are_failures_not_exceptions():
    responses.post(URL, body=requests.Timeout())
    responses.post(URL, body=requests.ConnectionError("refused"))
    session = requests.Session()
    assert sender.post(session, URL, BODY, signed(SECRET)) == sender.Attempt(None, "no answer within 15 s")
    assert sender.post(session, URL, BODY, signed(SECRET)) == sender.Attempt(None, "unreachable: ConnectionError")


@pytest.mark.parametrize(
    "url, found",
    [
        ("http://127.0.0.1:8080/events", "127.0.0.1"),
        ("http://10.1.2.3/events", "10.1.2.3"),
        ("http://192.168.0.10/events", "192.168.0.10"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://[::1]/events", "::1"),
        ("https://93.184.216.34/events", None),
    ],
)
def test_loopback_private_and_link_local_addresses_are_found(url, found):
    assert sender.private_address(url) == found


def test_a_name_is_judged_by_the_addresses_it_resolves_to():
    assert sender.private_address("http://localhost/events") in ("127.0.0.1", "::1")
