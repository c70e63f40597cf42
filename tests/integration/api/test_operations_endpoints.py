"""/metrics counts deliveries, jobs and postings as they happen; /healthz?deep=1 looks at the queue and the workers."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter
from rq import Worker
from rq.cron import CronScheduler

from app import create_app
from factories import encode, shopify_headers, shopify_order
from services import logs
from settings import load


def scrape(client, **headers) -> dict[tuple, float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def deliveries(found, outcome, topic="orders/paid") -> float:
    key = (("outcome", outcome), ("provider", "shopify"), ("topic", topic))
    return found.get(("punchcard_deliveries_received_total", key), 0)


def post(client, webhook_id, secret="test-shopify-secret", topic="orders/paid", order_id=5_500_000_000_001):
    body = encode(shopify_order(order_id))
    return client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id, secret=secret))


def test_deliveries_jobs_and_postings_move_the_counters(rt, demo_merchant, client, work):
    before = scrape(client)
    assert post(client, "m1").status_code == 200
    assert post(client, "m1").status_code == 200  # a repeat
    assert post(client, "m2", secret="wrong").status_code == 401
    assert post(client, "m3", topic="app/uninstalled-or-anything").status_code == 200
    middle = scrape(client)
    assert deliveries(middle, "accepted") - deliveries(before, "accepted") == 1
    assert deliveries(middle, "duplicate") - deliveries(before, "duplicate") == 1
    assert deliveries(middle, "unauthorized") - deliveries(before, "unauthorized") == 1
    assert deliveries(middle, "accepted", "other") - deliveries(before, "accepted", "other") == 1  # sender's text
    count = ("punchcard_ingest_seconds_count", (("provider", "shopify"),))
    assert middle[count] - before.get(count, 0) == 4
    assert middle[("punchcard_queue_depth", (("queue", "webhooks"),))] == 2
    work()
    after = scrape(client)
    jobs = ("punchcard_jobs_run_total", (("job", "process_delivery"),))
    postings = ("punchcard_ledger_postings_total", (("type", "ACCRUAL"),))
    assert after[jobs] - middle.get(jobs, 0) == 2
    assert after[postings] - middle.get(postings, 0) == 1
    assert after[("punchcard_queue_depth", (("queue", "webhooks"),))] == 0


def test_the_oldest_received_delivery_age_follows_the_clock(rt, demo_merchant, client, clock):
    assert scrape(client)[("punchcard_oldest_received_delivery_age_seconds", ())] == 0
    post(client, "old")
    clock.now += timedelta(minutes=5)
    assert scrape(client)[("punchcard_oldest_received_delivery_age_seconds", ())] == 300


def test_metrics_need_the_token_when_one_is_set(rt):
    app = create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING", "METRICS_TOKEN": "s3cret"}), rt)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_deep_health_names_a_missing_worker_and_scheduler_then_sees_them(rt, demo_merchant, client):
    post(client, "waiting")
    shallow = client.get("/healthz")
    assert shallow.status_code == 200 and set(shallow.get_json()["checks"]) == {"database", "redis"}
    deep = client.get("/healthz?deep=1")
    assert deep.status_code == 503
    body = deep.get_json()
    assert body["checks"] == {"database": "ok", "redis": "ok", "worker": "not_reporting", "scheduler": "not_reporting"}
    assert body["queues"] == {"webhooks": 1, "integrations": 0, "maintenance": 0}
    assert body["oldest_received_delivery_age_seconds"] == 0
    worker = Worker([rt.dispatcher.queue("webhooks")], connection=rt.dispatcher.connection)
    worker.register_birth()
    scheduler = CronScheduler(connection=rt.dispatcher.connection)
    scheduler.register_birth()
    scheduler.heartbeat()
    try:
        deep = client.get("/healthz?deep=1")
        assert deep.status_code == 200, deep.get_json()
        assert set(deep.get_json()["last_seen_age_seconds"]) == {"worker", "scheduler"}
    finally:
        worker.register_death()
        scheduler.register_death()


def test_the_request_id_is_echoed_or_made(rt, client):
    given = client.get("/healthz", headers={"X-Request-ID": "0f6f6c1e-3b7a-4d2e-9c8b-1a2b3c4d5e6f"})
    assert given.headers["X-Request-ID"] == "0f6f6c1e-3b7a-4d2e-9c8b-1a2b3c4d5e6f"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert made and " " not in made and made != client.get("/healthz").headers["X-Request-ID"]


def test_a_job_logs_its_job_id_merchant_and_delivery_as_json(rt, demo_merchant, client, work):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(logs.ContextFilter())
    logging.getLogger().addHandler(handler)
    try:
        body = b'{"id": "not-a-number", "line_items": "nope"}'
        client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "bad-payload"))
        work()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [failed] = [line for line in lines if "failed permanently" in line["message"]]
    assert failed["merchant"] == "demo-cafe"
    assert failed["job_id"] == f"process_delivery-{failed['delivery_id']}"
