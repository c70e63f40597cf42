"""Bodies no parser can read are stored as ``failed`` and acknowledged, never a 500 the sender retries forever."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import shopify_headers
from models import Delivery
from toast_factories import toast_headers

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
    response = client.post("/webhooks/toast", data=body,
                           headers=toast_headers(body, secret="test-toast-secret", timestamp="t",
                                                 restaurant_guid=RESTAURANT))
    # Unreadable, it has no envelope timestamp for the signature to cover, as with any body that is not JSON.
    assert response.status_code == 401 and response.get_json()["error"] == "INVALID_SIGNATURE"
    with rt.db.reader() as s:
        assert s.execute(select(Delivery)).first() is None
