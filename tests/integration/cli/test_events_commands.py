"""``flask events list`` and ``flask events replay``: an operator sees every delivery and sends failed ones again."""

from __future__ import annotations

import json

import pytest
from events_support import adjust, create_member

from app import create_app
from services.outbox import event_deliveries
from settings import load


@pytest.fixture
def cli(rt):
    """``flask …`` against the test runtime, as an operator runs it."""
    runner = create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING"}), rt).test_cli_runner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(args=list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def test_events_list_shows_each_delivery_with_its_status_and_filters_by_them(
    rt, events_cafe, receiver, client, work, cli
):
    member_id = create_member(client)
    work()
    receiver.fail(1, status=500)
    adjust(client, member_id, 20)
    work()
    listed = json.loads(cli("events", "list", "--json").output)
    assert [(d["type"], d["status"], d["attempts"]) for d in listed] == [
        ("points.earned", "pending", 1),
        ("membership.created", "delivered", 1),
    ]
    assert listed[0]["error"] == "HTTP 500" and listed[0]["url"] == receiver.url
    assert listed[0]["event_id"].startswith("evt_") and listed[0]["merchant"] == "events-cafe"
    pending = json.loads(cli("events", "list", "--status", "pending", "--json").output)
    assert [d["type"] for d in pending] == ["points.earned"]
    assert json.loads(cli("events", "list", "--merchant", "nobody", "--json").output) == []
    assert cli("events", "list").output.rstrip().endswith("2 deliveries")


def test_events_replay_of_the_failed_ones_sends_them_again_with_the_same_webhook_id(
    rt, events_cafe, receiver, client, clock, cli
):
    receiver.fail(8, status=500)
    create_member(client)
    [delivery] = json.loads(cli("events", "list", "--json").output)
    for _ in range(8):
        event_deliveries.deliver(rt, delivery["id"])
        clock.now += event_deliveries.LEASE * 1000
    assert json.loads(cli("events", "list", "--json").output)[0]["status"] == "failed"
    replayed = json.loads(cli("events", "replay", "--failed", "--json").output)
    assert replayed == [{"id": delivery["id"], "status": "delivered"}]
    assert receiver.types == ["membership.created"]
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {delivery["event_id"]}
    assert json.loads(cli("events", "replay", "--failed", "--json").output) == []


def test_events_replay_names_what_it_cannot_replay(rt, events_cafe, receiver, client, cli):
    assert "EVENT_DELIVERY_NOT_FOUND" in cli("events", "replay", "999", code=1).output
    assert "give delivery ids or --failed" in cli("events", "replay", code=2).output
