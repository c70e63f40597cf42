"""The metrics registry: worker-side totals in Redis and the web's own numbers add up on /metrics, per labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from integrations.shopify.admin import ShopifyPermanentError
from services import metrics


def samples(text: bytes) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


@pytest.fixture
def sinks(redis_conn):
    """A fresh local sink (its own registry) installed, and a Redis sink as a worker process has."""
    previous = metrics.current_sink()
    local = metrics.PrometheusSink(CollectorRegistry())
    metrics.install(local)
    yield local, metrics.RedisSink(redis_conn)
    metrics.install(previous)


def test_counters_from_the_web_and_from_workers_add_up_per_labels(sinks, redis_conn):
    _, worker = sinks
    metrics.ledger_posted("ACCRUAL")
    worker.add(metrics.METRICS["punchcard_ledger_postings"], {"type": "ACCRUAL"}, 2)
    worker.add(metrics.METRICS["punchcard_ledger_postings"], {"type": "REVERSAL"}, 1)
    before = samples(metrics.exposition(list, redis_conn))
    assert before[("punchcard_ledger_postings_total", (("type", "ACCRUAL"),))] == 1  # the worker's wait for its flush
    worker.flush()
    found = samples(metrics.exposition(list, redis_conn))
    assert found[("punchcard_ledger_postings_total", (("type", "ACCRUAL"),))] == 3
    assert found[("punchcard_ledger_postings_total", (("type", "REVERSAL"),))] == 1


def test_histograms_from_both_sides_are_cumulative_and_summed(sinks, redis_conn):
    _, worker = sinks
    metrics.ingest_seconds("shopify", 0.003)
    spec = metrics.METRICS["punchcard_ingest_seconds"]
    worker.add(spec, {"provider": "shopify"}, 0.2)
    worker.add(spec, {"provider": "shopify"}, 30.0)
    worker.flush()
    found = samples(metrics.exposition(list, redis_conn))

    def bucket(le):
        return found[("punchcard_ingest_seconds_bucket", (("le", le), ("provider", "shopify")))]

    assert (bucket("0.005"), bucket("0.1"), bucket("0.25"), bucket("10.0"), bucket("+Inf")) == (1, 1, 2, 2, 3)
    assert found[("punchcard_ingest_seconds_count", (("provider", "shopify"),))] == 3
    assert found[("punchcard_ingest_seconds_sum", (("provider", "shopify"),))] == pytest.approx(30.203)


def test_a_flush_while_redis_is_down_keeps_the_numbers_for_the_next(sinks, redis_conn):
    from redis import Redis

    down = metrics.RedisSink(Redis(port=1, socket_connect_timeout=0.2))
    down.add(metrics.METRICS["punchcard_jobs_run"], {"job": "x"}, 1)
    down.flush()  # logs a warning, raises nothing
    down.connection = redis_conn
    down.flush()
    assert samples(metrics.exposition(list, redis_conn))[("punchcard_jobs_run_total", (("job", "x"),))] == 1


def test_every_metric_of_operations_md_is_exposed_even_before_it_counts(sinks, redis_conn):
    names = {family.name for family in text_string_to_metric_families(metrics.exposition(list, redis_conn).decode())}
    assert {
        "punchcard_deliveries_received",
        "punchcard_ingest_seconds",
        "punchcard_jobs_run",
        "punchcard_jobs_failed",
        "punchcard_jobs_retried",
        "punchcard_ledger_postings",
        "punchcard_provider_calls",
        "punchcard_outbound_webhook_attempts",
    } <= names


class FakeAdmin:
    """A client of Shopify's shape whose answers the test chooses."""

    def __init__(self, result=None, error=None):
        self.result, self.error = result, error

    def add_tags(self, *, customer_gid, tags):
        if self.error:
            raise self.error
        return self.result


class Refused:
    ok = False


def test_a_metered_client_counts_each_call_by_operation_and_outcome(sinks, redis_conn):
    metered = metrics.Metered(FakeAdmin(result=object()), "shopify", {"add_tags": "tagsAdd"})
    metered.add_tags(customer_gid="g", tags=["a"])
    metrics.Metered(FakeAdmin(result=Refused()), "shopify", {"add_tags": "tagsAdd"}).add_tags(customer_gid="g", tags=[])
    failing = metrics.Metered(FakeAdmin(error=ShopifyPermanentError("no", code="unauthorized")), "shopify")
    with pytest.raises(ShopifyPermanentError):
        failing.add_tags(customer_gid="g", tags=[])
    found = samples(metrics.exposition(list, redis_conn))

    def calls(operation, outcome):
        key = (("operation", operation), ("outcome", outcome), ("provider", "shopify"))
        return found.get(("punchcard_provider_calls_total", key))

    assert (calls("tagsAdd", "ok"), calls("tagsAdd", "refused"), calls("add_tags", "unauthorized")) == (1, 1, 1)


def test_the_helper_for_providers_and_outbound_events_counts_what_it_is_told(sinks, redis_conn):
    metrics.provider_call("voucherify", "earn", "ok")
    metrics.outbound_webhook_attempt("delivered")
    found = samples(metrics.exposition(list, redis_conn))
    key = (("operation", "earn"), ("outcome", "ok"), ("provider", "voucherify"))
    assert found[("punchcard_provider_calls_total", key)] == 1
    assert found[("punchcard_outbound_webhook_attempts_total", (("outcome", "delivered"),))] == 1
