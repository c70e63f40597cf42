"""Sentry behind SENTRY_DSN, scrubbed of secrets and personal data (a fake transport, no network); rq-dashboard."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import requests
import sentry_sdk
from fake_receiver import FakeReceiver
from sentry_sdk.transport import Transport

import reporting
from app import create_app
from integrations.webhooks_out import sender
from settings import load

SECRET = "sk-live-0123456789abcdef"
API_KEY = "partner-key-abcdef0123456789"


class Captured(Transport):
    """A transport that keeps each envelope's items instead of sending them."""

    events: list = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            payload = item.payload.json if item.payload.json is not None else item.payload.bytes
            Captured.events.append(payload)


@pytest.fixture
def reporting_on(rt):
    Captured.events = []
    cfg = load({"DATABASE_URL": "sqlite://", "SENTRY_DSN": "https://public@sentry.invalid/1", "SECRET_KEY": SECRET})
    assert reporting.init(cfg, transport=Captured)
    app = create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING", "SECRET_KEY": SECRET}), rt)

    @app.post("/boom")
    def boom():
        raise RuntimeError(f"settling failed for ada@example.com, +1 415 555 0134, key {SECRET}, /m/{'t' * 40}")

    yield app.test_client()
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None, trace_propagation_targets=[])  # the suite's later outbound calls stay clean


def test_outbound_requests_carry_no_sentry_trace_headers_to_third_parties(reporting_on):
    receiver = FakeReceiver()
    try:
        with sentry_sdk.start_transaction(name="deliver"):
            signed = sender.headers(event_id="evt_1", timestamp=datetime.now(UTC), body="{}", secrets=[receiver.secret])
            sender.post(requests.Session(), receiver.url, "{}", signed)
    finally:
        receiver.stop()
    [request] = receiver.requests
    assert not {"sentry-trace", "baggage", "traceparent"} & set(request["headers"])


def test_an_unhandled_error_is_reported_without_secrets_or_personal_data(reporting_on):
    response = reporting_on.post(
        "/boom?email=ada@example.com",
        json={"email": "ada@example.com", "phone": "+14155550134"},
        headers={"X-API-Key": API_KEY, "Authorization": f"Bearer {API_KEY}", "X-Shopify-Hmac-Sha256": "c2lnbmF0dXJl"},
    )
    assert response.status_code == 500 and response.get_json()["error"] == "INTERNAL_ERROR"
    sentry_sdk.flush()
    assert Captured.events, "nothing was reported"
    text = json.dumps(Captured.events, default=str)
    assert "RuntimeError" in text and "settling failed for" in text  # the error itself is there
    for leaked in (SECRET, API_KEY, "ada@example.com", "4155550134", "415 555 0134", "c2lnbmF0dXJl", "t" * 40):
        assert leaked not in text, leaked


def test_without_a_dsn_nothing_is_initialised():
    assert reporting.init(load({"DATABASE_URL": "sqlite://"})) is False


def test_the_scrubber_keeps_timestamps_and_ids(reporting_on):
    event = {"timestamp": "2026-12-01T22:33:18.862Z", "event_id": "0123abcd" * 4, "extra": {"points": 425}}
    assert reporting.scrub(dict(event)) == event


def dashboard(rt, **env):
    return create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING", **env}), rt).test_client()


def test_the_queue_dashboard_is_mounted_only_with_an_admin_token_and_behind_it(rt, redis_url):
    assert dashboard(rt).get("/admin/rq/").status_code == 404
    client = dashboard(rt, ADMIN_TOKEN="admin-s3cret", REDIS_URL=redis_url)
    refused = client.get("/admin/rq/")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/admin/rq/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/admin/rq/", headers={"Authorization": "Bearer admin-s3cret"}).status_code == 200
    basic = base64.b64encode(b"operator:admin-s3cret").decode()
    page = client.get("/admin/rq/", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200 and b"Connection Error" not in page.data
    rt.dispatcher.dispatch("sweep_deliveries")
    queues = client.get("/admin/rq/0/data/queues.json", headers={"Authorization": "Bearer admin-s3cret"})
    assert queues.status_code == 200 and "maintenance" in queues.get_data(as_text=True)
    assert client.get("/admin/rq/0/data/queues.json").status_code == 401
