"""The operator's commands on real data, on SQLite and PostgreSQL: deliveries, jobs, merchants, ledger, idempotency."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app import create_app
from devtools.services import free_port
from factories import encode, shopify_headers, shopify_order
from models import Database, Delivery, IdempotentRequest, LedgerEntry, Member
from services import runtime
from services.inbox.store import store
from services.runtime import Runtime
from settings import load
from workers import jobs

ORDER = 820982911946154508


@pytest.fixture
def cli(rt):
    """``flask …`` against the test runtime, as an operator runs it (click's runner: stdout is no terminal)."""
    runner = create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING"}), rt).test_cli_runner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(args=list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def post(client, webhook_id: str, topic: str = "orders/paid", **order):
    body = encode(shopify_order(ORDER, **order))
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id))
    assert response.status_code == 200
    return response


def delivery(rt, webhook_id: str) -> Delivery:
    with rt.db.reader() as session:
        return session.execute(select(Delivery).where(Delivery.delivery_id == webhook_id)).scalar_one()


def balance(rt) -> int:
    with rt.db.reader() as session:
        return session.scalar(select(Member.points))


def entries(rt) -> int:
    with rt.db.reader() as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def give_up(rt, webhook_id: str) -> None:
    """The delivery failed for good without posting, as after 7 attempts during a database outage."""
    with rt.db.transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.delivery_id == webhook_id)
            .values(status="failed", attempts=7, error="gave up after 7 attempts: OperationalError: gone")
        )


def test_deliveries_list_and_show_tell_what_arrived_and_what_it_posted(rt, demo_merchant, client, work, cli):
    post(client, "w-paid")
    post(client, "w-other", topic="orders/fulfilled")
    work()
    listed = json.loads(cli("deliveries", "list", "--json").output)
    assert [(d["topic"], d["status"]) for d in listed] == [
        ("orders/fulfilled", "ignored"),
        ("orders/paid", "processed"),
    ]
    assert (
        json.loads(cli("deliveries", "list", "--status", "ignored", "--json").output)[0]["topic"] == "orders/fulfilled"
    )
    assert json.loads(cli("deliveries", "list", "--merchant", "nobody", "--json").output) == []
    assert json.loads(cli("deliveries", "list", "--since", "2099-01-01", "--json").output) == []
    text = cli("deliveries", "list").output
    assert "orders/paid\tprocessed" in text and text.rstrip().endswith("2 deliveries")
    shown = json.loads(cli("deliveries", "show", str(delivery(rt, "w-paid").id), "--json").output)
    assert (shown["status"], shown["attempts"], shown["headers"]["Topic"]) == ("processed", 1, "orders/paid")
    assert json.loads(shown["body"])["id"] == ORDER
    assert [(e["type"], e["points"]) for e in shown["posted"]] == [("ACCRUAL", 425)]
    assert "ACCRUAL +425" in cli("deliveries", "show", str(delivery(rt, "w-paid").id)).output
    assert "DELIVERY_NOT_FOUND" in cli("deliveries", "show", "999999", code=1).output


def test_replaying_a_processed_delivery_posts_nothing_twice(rt, demo_merchant, client, work, cli):
    post(client, "w-paid")
    work()
    assert (balance(rt), entries(rt)) == (425, 1)
    pk = delivery(rt, "w-paid").id
    [result] = json.loads(cli("deliveries", "replay", str(pk), "--json").output)
    assert result == {"id": pk, "before": "processed", "status": "processed", "posted": []}
    assert (balance(rt), entries(rt)) == (425, 1)
    assert [e["points"] for e in json.loads(cli("deliveries", "show", str(pk), "--json").output)["posted"]] == [425]


def test_replaying_failed_deliveries_posts_what_they_missed_once(rt, demo_merchant, client, work, cli):
    post(client, "w-paid")
    give_up(rt, "w-paid")  # its job never settled the order
    post(client, "w-again", updated_at="2026-06-01T11:00:00-04:00")  # a later state of the same order
    give_up(rt, "w-again")
    assert (balance(rt), entries(rt)) == (None, 0)
    replayed = json.loads(cli("deliveries", "replay", "--failed", "--json").output)
    assert [(r["before"], r["status"]) for r in replayed] == [("failed", "processed"), ("failed", "processed")]
    assert [len(r["posted"]) for r in replayed] == [1, 0]  # the order earns once, whichever delivery settles it
    assert (balance(rt), entries(rt)) == (425, 1)
    again = cli("deliveries", "replay", str(delivery(rt, "w-paid").id), str(delivery(rt, "w-again").id))
    assert again.output.rstrip().endswith("replayed 2 deliveries, 0 new entries, 0 error(s)")
    assert (balance(rt), entries(rt)) == (425, 1)
    assert delivery(rt, "w-paid").attempts == 1  # each replay starts a fresh attempt budget
    assert json.loads(cli("deliveries", "replay", "--failed", "--json").output) == []


def test_a_replay_can_be_handed_to_the_workers(rt, demo_merchant, client, work, cli):
    post(client, "w-paid")
    give_up(rt, "w-paid")
    [result] = json.loads(cli("deliveries", "replay", "--failed", "--enqueue", "--json").output)
    assert (result["before"], result["status"]) == ("failed", "received")
    work()
    assert (delivery(rt, "w-paid").status, balance(rt)) == ("processed", 425)


def test_replay_needs_ids_or_failed_and_names_an_unknown_delivery(rt, demo_merchant, cli):
    assert "give delivery ids or --failed" in cli("deliveries", "replay", code=2).output
    assert "DELIVERY_NOT_FOUND" in cli("deliveries", "replay", "424242", code=1).output


def old_and_new_deliveries(rt, clock) -> dict[str, int]:
    """One delivery per (status, age): 40 days old and 5 days old."""
    made = {}
    with rt.db.transaction() as session:
        merchant_id = session.scalar(select(Delivery.merchant_id).limit(1)) or _merchant_id(session)
        for status in ("processed", "ignored", "failed", "received"):
            for age in (40, 5):
                row = store(
                    session,
                    merchant_id=merchant_id,
                    provider="shopify",
                    topic="orders/paid",
                    delivery_id=f"{status}-{age}",
                    body=b"{}",
                    received_at=clock.now - timedelta(days=age),
                    error="bad" if status == "failed" else None,
                )
                row.status = status
                made[f"{status}-{age}"] = row.id
    return made


def _merchant_id(session) -> int:
    from models import Merchant

    return session.scalar(select(Merchant.id).where(Merchant.slug == "demo-cafe"))


def kept(rt) -> set[str]:
    with rt.db.reader() as session:
        return set(session.scalars(select(Delivery.delivery_id)))


def test_prune_deletes_only_processed_and_ignored_deliveries_past_retention(rt, demo_merchant, clock, cli):
    old_and_new_deliveries(rt, clock)
    result = json.loads(cli("deliveries", "prune", "--older-than", "30d", "--json").output)
    assert result == {"deleted": 2, "older_than_days": 30.0, "include_failed": False}
    assert kept(rt) == {"processed-5", "ignored-5", "failed-40", "failed-5", "received-40", "received-5"}
    assert "deleted 1 deliveries" in cli("deliveries", "prune", "--older-than", "30d", "--include-failed").output
    assert kept(rt) == {"processed-5", "ignored-5", "failed-5", "received-40", "received-5"}


def test_the_daily_job_prunes_with_the_configured_retention(rt, demo_merchant, clock):
    old_and_new_deliveries(rt, clock)
    rt.delivery_retention = timedelta(days=4)
    assert jobs.prune_deliveries() == 2 + 2  # processed and ignored, 40 and 5 days old
    assert kept(rt) == {"failed-40", "failed-5", "received-40", "received-5"}


def test_idempotency_prune_deletes_stored_answers_past_retention(rt, demo_merchant, clock, cli):
    with rt.db.transaction() as session:
        merchant_id = _merchant_id(session)
        for key, age in (("old", 31), ("new", 2)):
            session.add(
                IdempotentRequest(
                    merchant_id=merchant_id,
                    key=key,
                    request_hash="h",
                    response={},
                    created_at=clock.now - timedelta(days=age),
                )
            )
    assert json.loads(cli("idempotency", "prune", "--json").output)["deleted"] == 1  # 30 days by default
    with rt.db.reader() as session:
        assert set(session.scalars(select(IdempotentRequest.key))) == {"new"}
    assert jobs.prune_idempotent_requests() == 0


def fail_the_job(rt, work, pk: int) -> None:
    """RQ gives up on the delivery's job: it runs once (no retry) while the database is unreachable."""
    dead = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    rt.dispatcher.queue("webhooks").enqueue(jobs.process_delivery, pk, job_id=f"process_delivery-{pk}")
    runtime.install(Runtime(db=dead, dispatcher=rt.dispatcher, clock=rt.clock))
    try:
        work()
    finally:
        runtime.install(rt)
        dead.dispose()


def test_jobs_failed_lists_what_rq_gave_up_on_and_requeue_processes_the_delivery_again(
    rt, demo_merchant, client, work, cli
):
    post(client, "w-paid")
    pk = delivery(rt, "w-paid").id
    rt.dispatcher.queue("webhooks").empty()
    fail_the_job(rt, work, pk)
    give_up(rt, "w-paid")
    [failed] = json.loads(cli("jobs", "failed", "--json").output)
    assert (failed["id"], failed["queue"]) == (f"process_delivery-{pk}", "webhooks")
    assert failed["error"].startswith("sqlalchemy.exc.OperationalError: "), failed["error"]
    assert json.loads(cli("jobs", "requeue", f"process_delivery-{pk}", "--json").output)["requeued"] == [
        f"process_delivery-{pk}"
    ]
    work()
    assert (delivery(rt, "w-paid").status, balance(rt)) == ("processed", 425)
    assert json.loads(cli("jobs", "failed", "--json").output) == []
    assert "not a failed job: nope" in cli("jobs", "requeue", "nope", code=1).output
    assert "give job ids or --all" in cli("jobs", "requeue", code=2).output


def test_merchants_list_shows_channels_engine_keys_and_status(rt, two_merchants, cli):
    listed = {m["slug"]: m for m in json.loads(cli("merchants", "list", "--json").output)}
    assert listed["demo-cafe"] == {
        "slug": "demo-cafe",
        "name": "Demo Cafe",
        "channels": ["shopify", "toast"],
        "provider": "punchcard",
        "api_keys": 1,
        "status": "active",
    }
    assert listed["other-bakery"]["channels"] == ["shopify"]
    assert cli("merchants", "list").output.rstrip().endswith("2 merchant(s)")


def test_ledger_export_writes_the_merchants_entries_as_csv(rt, demo_merchant, client, work, cli):
    post(client, "w-paid")
    work()
    output = cli("ledger", "export", "--merchant", "demo-cafe").stdout
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [(r["type"], r["points"], r["business_key"]) for r in rows] == [
        ("ACCRUAL", "425", f"shopify:order:{ORDER}:r1")
    ]
    assert rows[0]["created_at"].startswith("2026-06-01T12:00:00")
    later = cli("ledger", "export", "--merchant", "demo-cafe", "--since", "2026-06-02").stdout
    assert later.splitlines() == [output.splitlines()[0]]  # the header only
    assert "MERCHANT_NOT_FOUND" in cli("ledger", "export", "--merchant", "nobody", code=1).output


def test_ledger_rebuild_checks_one_merchant_and_reports_in_json(rt, two_merchants, client, work, cli):
    post(client, "w-paid")
    work()
    with rt.db.transaction() as session:
        session.execute(update(Member).values(points=1))
    found = json.loads(cli("ledger", "rebuild", "--merchant", "demo-cafe", "--json", code=1).output)
    assert found["differences"][0]["balance"] == "points" and found["differences"][0]["rebuilt"] == 425
    assert json.loads(cli("ledger", "rebuild", "--merchant", "other-bakery", "--json").output)["differences"] == []
    assert "fixed" in cli("ledger", "rebuild", "--merchant", "demo-cafe", "--fix").output
    assert balance(rt) == 425
