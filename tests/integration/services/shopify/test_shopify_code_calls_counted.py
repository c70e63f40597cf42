"""Discount-code and metafield calls to Shopify are counted in ``punchcard_provider_calls`` by operation and outcome."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from services import metrics
from shopify_codes_support import API, KEY, deliver, order, redeem, run_scheduled_now, unique


@pytest.fixture
def counted(redis_conn):
    """A fresh local sink for this test; returns a function reading one operation's count of one outcome."""
    previous = metrics.current_sink()
    metrics.install(metrics.PrometheusSink(CollectorRegistry()))

    def count(operation: str, outcome: str = "ok") -> float:
        labels = {"operation": operation, "outcome": outcome, "provider": "shopify"}
        for family in text_string_to_metric_families(metrics.exposition(list, redis_conn).decode()):
            for sample in family.samples:
                if sample.name == "punchcard_provider_calls_total" and sample.labels == labels:
                    return sample.value
        return 0

    yield count
    metrics.install(previous)


def test_creating_deleting_and_refused_codes_are_counted_by_shopifys_operation_names(client, guest, fake, counted):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    assert client.post(f"{API}/redemptions/{made['id']}/void", json={}, headers=KEY).status_code == 200
    fake.fail_next("discountCodeBasicCreate", "taken")
    assert redeem(client, member_id).status_code == 502
    assert (counted("discountCodeBasicCreate"), counted("discountCodeBasicCreate", "refused")) == (1, 1)
    assert counted("discountCodeDelete") == 1
    assert counted("create_code_discount") == counted("delete_code_discount") == 0  # never the method's own name


def test_a_metafields_write_and_a_shopify_outage_at_redemption_are_counted(rt, client, work, guest, fake, counted):
    member_id, customer_id = guest
    deliver(client, order(unique(), customer_id, subtotal="10.00"))
    work()
    waiting = rt.dispatcher.queue("integrations").scheduled_job_registry.get_job_ids()
    [job_id] = [j for j in waiting if j.startswith("sync_shopify_metafields")]  # the debounced write
    run_scheduled_now(rt, job_id)
    work()
    assert counted("metafieldsSet") == 1
    fake.fail_next("discountCodeBasicCreate", "503")
    assert redeem(client, member_id).status_code == 503
    assert counted("discountCodeBasicCreate", "server_error") == 1
