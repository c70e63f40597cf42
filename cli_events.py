"""``flask events list`` and ``flask events replay`` (operations.md): the deliveries of events to merchants."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click
from flask.cli import AppGroup

from cli_operations import _emit, _fail, _worker_side_metrics, as_json, parse_since, progress
from services import runtime
from services.errors import ServiceError

events = AppGroup("events", help="Signed events to the merchants' endpoints: list and replay their deliveries.")


def register(app) -> None:
    """Attach the ``events`` group."""
    app.cli.add_command(events)


@events.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "delivered", "failed"]))
@click.option("--merchant", help="The merchant's slug.")
@click.option("--since", help="Created at or after: an ISO date or instant, or a duration ago (7d).")
@click.option("--limit", type=int, default=100, show_default=True)
@as_json
def list_events(status, merchant, since, limit, json_output) -> None:
    """Event deliveries, newest first: event, type, endpoint, status, attempts, last error."""
    from services.outbox import event_operator

    try:
        rows = event_operator.list_deliveries(
            runtime.current(), status=status, merchant=merchant, since=parse_since(since), limit=limit
        )
    except ServiceError as exc:
        _fail(exc)
    _emit(
        [asdict(row) for row in rows],
        json_output,
        lambda: (
            [
                f"{r.id}\t{r.created_at}\t{r.merchant}\t{r.event_id}\t{r.type}\t{r.url}\t{r.status}"
                f"\tattempts={r.attempts}" + (f"\t{r.error}" if r.error else "")
                for r in rows
            ]
            + [f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}"]
        ),
    )


@events.command("replay")
@click.argument("delivery_ids", type=int, nargs=-1, metavar="ID...")
@click.option("--failed", is_flag=True, help="Every failed delivery (with --merchant, that merchant's).")
@click.option("--merchant", help="With --failed: the merchant's slug.")
@click.option("--enqueue", is_flag=True, help="Hand them to the workers instead of attempting them here.")
@as_json
def replay_events(delivery_ids, failed, merchant, enqueue, json_output) -> None:
    """Attempt deliveries again with a fresh retry budget; receivers dedupe on the unchanged webhook-id."""
    from services.outbox import event_operator

    rt = runtime.current()
    if bool(delivery_ids) == failed:
        raise click.UsageError("give delivery ids or --failed")
    targets = list(delivery_ids) or event_operator.failed_ids(rt, merchant)
    results = []
    with _worker_side_metrics(rt), progress(len(targets), "replaying", quiet=json_output) as advance:
        for delivery_id in targets:
            try:
                results.append({"id": delivery_id, "status": event_operator.replay(rt, delivery_id, enqueue=enqueue)})
            except ServiceError as exc:
                results.append({"id": delivery_id, "error": f"{exc.code}: {exc.message}"})
            advance(1)
    errors = sum(1 for r in results if "error" in r)
    summary = f"replayed {len(results) - errors}, {errors} error(s)"
    _emit(results, json_output, lambda: [f"{r['id']}: {r.get('error') or r['status']}" for r in results] + [summary])
    if errors:
        sys.exit(1)
