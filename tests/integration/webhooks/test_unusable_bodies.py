"""Deliveries no parser or column can take as sent get a clear answer, never a 500 the sender retries for days.

A body that is not readable JSON is stored as ``failed`` (Toast's is refused: its signature covers a
timestamp inside it); sender-chosen text in headers and ids is stored as its column takes it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import encode, shopify_headers, shopify_order
from models import Delivery
from toast_factories import toast_body, toast_envelope, toast_headers, toast_order

NESTED = b"[" * 100_000 + b"]" * 100_000  # valid JSON, nested past what Python's decoder recurses into
RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"


def stored(rt) -> Delivery:
    with rt.db.reader() as s:
        return s.execute(select(Delivery)).scalar_one()


def test_a_shopify_body_nested_too_deep_is_stored_as_failed_and_acknowledged(rt, demo_merchant, client):
    response = client.post("/webhooks/shopify", data=NESTED, headers=shopify_headers(NESTED, "orders/paid", "w1"))
    assert response.status_code == 200
    delivery = stored(rt)
    assert delivery.status == "failed" and delivery.error.startswith("invalid_json")


@pytest.mark.parametrize("body", [NESTED, b'{"timestamp": "t", "details": ' + NESTED + b"}"])
def test_a_toast_body_nested_too_deep_is_refused_like_any_unreadable_body_never_a_500(rt, demo_merchant, client, body):
    response = client.post(
        "/webhooks/toast",
        data=body,
        headers=toast_headers(body, secret="test-toast-secret", timestamp="t", restaurant_guid=RESTAURANT),
    )
    # Unreadable, it has no envelope timestamp for the signature to cover, as with any body that is not JSON.
    assert response.status_code == 401 and response.get_json()["error"] == "INVALID_SIGNATURE"
    with rt.db.reader() as s:
        assert s.execute(select(Delivery)).first() is None


def test_a_shopify_event_id_wider_than_its_column_and_a_trigger_time_past_the_calendar_are_still_stored(
    rt, demo_merchant, client, work
):
    body = encode(shopify_order())
    headers = {
        **shopify_headers(body, "orders/paid", "w1"),
        "X-Shopify-Event-Id": "e" * 300,
        "X-Shopify-Triggered-At": "9999-12-31T23:59:59-23:59",
    }
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200
    work()
    delivery = stored(rt)
    assert (delivery.status, delivery.event_id, delivery.triggered_at) == ("processed", "e" * 128, None)


def test_a_toast_envelope_guid_with_a_nul_character_is_stored_and_still_deduplicated(rt, demo_merchant, client):
    body = toast_body(toast_envelope(toast_order(), RESTAURANT, event_guid="evt-\u0000-1"))
    headers = toast_headers(body, secret="test-toast-secret", restaurant_guid=RESTAURANT)
    answers = [client.post("/webhooks/toast", data=body, headers=headers) for _ in range(2)]
    assert [(a.status_code, a.get_json()["status"]) for a in answers] == [(200, "accepted"), (200, "duplicate")]
    assert stored(rt).delivery_id == "evt--1"


@pytest.mark.parametrize(
    "topic, payload",
    [
        ("customers/redact", {"shop_id": 954889, "customer": "191167", "orders_to_redact": []}),
        ("customers/data_request", {"shop_id": 954889, "customer": {"id": 191167}, "orders_requested": 299938}),
        ("customers/data_request", {"shop_id": 954889, "customer": {"id": "9" * 40}}),
    ],
)
def test_a_privacy_request_of_the_wrong_shape_fails_at_once_with_the_reason(
    rt, demo_merchant, client, work, topic, payload
):
    body = encode(payload)
    assert client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, topic, "w1")).status_code == 200
    work()
    delivery = stored(rt)
    assert (delivery.status, delivery.attempts) == ("failed", 1) and delivery.error.startswith("invalid_payload")


def test_a_toast_pos_body_nested_too_deep_is_refused_as_invalid_input_never_a_500(demo_merchant, client):
    headers = {
        "Authorization": "test-toast-loyalty-key",
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": "LOYALTY_INQUIRE",
        "Toast-Transaction-GUID": "deep-1",
        "Content-Type": "application/json",
    }
    response = client.post("/webhooks/toast/loyalty", data=b"[" * 100_000 + b"]" * 100_000, headers=headers)
    assert (response.status_code, response.get_json()) == (400, {"transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"})
