"""The Shopify receiving edge: verification, dedupe, durable store, honest status codes."""

from __future__ import annotations

from sqlalchemy import select

from app import create_app
from devtools.services import free_port
from factories import encode, shopify_headers, shopify_order
from models import Database, Delivery
from services.runtime import Runtime
from settings import load
from workers.queues import RQDispatcher, connect


def stored(rt) -> list[Delivery]:
    with rt.db.reader() as s:
        return s.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


def test_a_signed_delivery_is_stored_and_queued(rt, demo_merchant, client):
    body = encode(shopify_order())
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    [delivery] = stored(rt)
    assert (delivery.topic, delivery.delivery_id, delivery.body) == ("orders/paid", "w1", body)
    assert delivery.headers["Event-Id"] == "evt-w1"
    assert rt.dispatcher.pending("process_delivery", delivery.id)


def test_a_bad_signature_is_refused_and_nothing_is_stored(rt, demo_merchant, client):
    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "w1", secret="not-the-secret")
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "INVALID_SIGNATURE"
    assert stored(rt) == []
    assert rt.dispatcher.queue("webhooks").count == 0


def test_an_unknown_shop_is_refused(rt, demo_merchant, client):
    body = encode(shopify_order())
    headers = shopify_headers(body, "orders/paid", "w1", shop="someone-else.myshopify.com")
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "UNKNOWN_MERCHANT"
    assert stored(rt) == []


def test_the_unprefixed_header_names_of_newer_deliveries_are_accepted(rt, demo_merchant, client):
    body = encode(shopify_order())
    headers = {
        k.replace("X-Shopify-", "shopify-").lower(): v for k, v in shopify_headers(body, "orders/paid", "w1").items()
    }
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200
    assert len(stored(rt)) == 1


def test_a_body_over_5_mib_is_refused_with_413(rt, demo_merchant, client):
    body = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    assert response.status_code == 413 and response.get_json()["error"] == "PAYLOAD_TOO_LARGE"
    assert stored(rt) == []


def test_malformed_json_with_a_valid_signature_is_stored_as_failed_and_acknowledged(rt, demo_merchant, client, work):
    body = b'{"id": 1, "financial_status": '
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1"))
    assert response.status_code == 200
    [delivery] = stored(rt)
    assert delivery.status == "failed" and delivery.error.startswith("invalid_json")
    assert rt.dispatcher.queue("webhooks").count == 0


def test_a_valid_json_payload_that_cannot_be_settled_is_marked_failed_with_its_reason(rt, demo_merchant, client, work):
    body = encode({"financial_status": "paid"})  # no order id
    assert (
        client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1")).status_code
        == 200
    )
    work()
    [delivery] = stored(rt)
    assert delivery.status == "failed" and "id is missing" in delivery.error


def test_an_unhandled_topic_is_acknowledged_and_ignored(rt, demo_merchant, client, work):
    body = encode({"id": 1})
    assert (
        client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "products/update", "w1")).status_code
        == 200
    )
    work()
    assert stored(rt)[0].status == "ignored"


def test_when_redis_is_down_the_sender_gets_503_and_the_sweeper_enqueues_it_later(rt, demo_merchant, work, clock):
    from datetime import timedelta

    from services.inbox.sweeper import sweep

    dead = Runtime(db=rt.db, dispatcher=RQDispatcher(connect(f"redis://127.0.0.1:{free_port()}/0")), clock=clock)
    app = create_app(load({"LOG_LEVEL": "WARNING"}), dead)
    body = encode(shopify_order())
    response = app.test_client().post(
        "/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1")
    )
    assert response.status_code == 503 and response.get_json()["error"] == "QUEUE_UNAVAILABLE"
    [delivery] = stored(rt)
    assert delivery.status == "received"
    clock.now += timedelta(minutes=5)
    assert sweep(rt) == 1
    assert sweep(rt) == 0  # its job is now queued: not enqueued twice
    work()
    assert stored(rt)[0].status == "processed"


def test_when_the_database_is_down_the_sender_gets_503(rt, demo_merchant, tmp_path):
    down = Runtime(db=Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"), dispatcher=rt.dispatcher)
    app = create_app(load({"LOG_LEVEL": "WARNING"}), down)
    body = encode(shopify_order())
    response = app.test_client().post(
        "/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1")
    )
    assert response.status_code == 503 and response.get_json()["error"] == "DATABASE_UNAVAILABLE"
    assert rt.dispatcher.queue("webhooks").count == 0


def test_health_reports_each_dependency(rt, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_health_is_503_naming_the_failed_dependency(rt):
    dead = Runtime(db=rt.db, dispatcher=RQDispatcher(connect(f"redis://127.0.0.1:{free_port()}/0")))
    response = create_app(load({"LOG_LEVEL": "WARNING"}), dead).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_two_deliveries_whose_long_ids_share_their_first_128_characters_are_both_stored(rt, demo_merchant, client):
    shared = "w" * 128
    for n, suffix in enumerate(("-first", "-second")):
        body = encode(shopify_order(order_id=7_000 + n))
        response = client.post(
            "/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", shared + suffix)
        )
        assert response.get_json()["status"] == "accepted"
    assert len(stored(rt)) == 2
