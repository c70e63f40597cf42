"""``flask`` commands: merchants validate/sync, db upgrade, worker, scheduler, members export, ledger rebuild."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

import cli_events
import cli_operations
import settings as settings_module
from services import runtime
from services.merchants.config import ConfigError, load_config_file
from workers.queues import QUEUES

merchants = AppGroup("merchants", help="Merchant onboarding from the config file.")
db = AppGroup("db", help="Database migrations.")
members = AppGroup("members", help="Members' personal data (privacy requests).")
ledger = AppGroup("ledger", help="The points ledger: checks and repairs of stored balances.")


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(merchants)
    app.cli.add_command(db)
    app.cli.add_command(members)
    app.cli.add_command(ledger)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler)
    cli_operations.register(app, merchants, ledger)
    cli_events.register(app)


def _count_into_redis(rt) -> None:
    """This process's metrics go to Redis, where the web's ``/metrics`` reads them (another machine on Heroku)."""
    from services import metrics

    metrics.install(metrics.RedisSink(rt.dispatcher.connection))


def _load(path: str):
    try:
        return load_config_file(path, os.environ)
    except ConfigError as exc:
        _refuse(path, exc)


def _refuse(path: str, exc: ConfigError) -> None:
    """Print every problem, then exit 1: a refused file blocks the release phase."""
    for problem in exc.problems:
        click.echo(problem, err=True)
    click.echo(f"{path}: {len(exc.problems)} problem(s); nothing was written", err=True)
    sys.exit(1)


@merchants.command("validate")
@click.argument("path", required=False)
def validate_merchants(path: str | None) -> None:
    """Check the merchants file; print every problem with its path."""
    path = path or settings_module.load().merchants_config
    config = _load(path)
    click.echo(f"{path}: OK ({len(config.merchants)} merchant(s))")


@merchants.command("sync")
@click.argument("path", required=False)
def sync_merchants(path: str | None) -> None:
    """Validate, then upsert merchants, tiers and rewards (idempotent)."""
    from services.merchants.sync import sync

    path = path or settings_module.load().merchants_config
    config = _load(path)
    try:
        report = sync(runtime.current(), config)  # also refuses keys and rewards of other merchants
    except ConfigError as exc:
        _refuse(path, exc)
    for move in report.moved:
        click.echo(f"moved {move}")
    click.echo(
        f"{path}: created {report.created or '-'}, updated {report.updated or '-'}, "
        f"deactivated {report.deactivated or '-'}"
    )


@db.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply Alembic migrations up to ``revision``."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(Path(__file__).with_name("alembic.ini")))
    config.set_main_option("sqlalchemy.url", settings_module.load().database_url)
    command.upgrade(config, revision)


@members.command("export")
@click.option("--merchant", "merchant_slug", required=True, help="The merchant's slug.")
@click.option("--customer-id", default=None, help="The member's Shopify customer id.")
@click.option("--member-id", default=None, help="Our member id.")
def export_member(merchant_slug: str, customer_id: str | None, member_id: str | None) -> None:
    """Print a member's personal data, balances and ledger as JSON (a customers/data_request answer)."""
    from services.errors import ServiceError
    from services.members.privacy import export_member as export

    if (customer_id is None) == (member_id is None):
        raise click.UsageError("give exactly one of --customer-id or --member-id")
    try:
        data = export(runtime.current(), merchant_slug=merchant_slug, customer_id=customer_id, member_id=member_id)
    except ServiceError as exc:
        click.echo(f"{exc.code}: {exc.message}", err=True)
        sys.exit(1)
    click.echo(json.dumps(data, indent=2))


@ledger.command("rebuild")
@click.option("--fix", is_flag=True, help="Correct the stored balances that differ.")
@click.option("--merchant", "slug", default=None, help="Only this merchant's members.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
def rebuild_ledger(fix: bool, slug: str | None, json_output: bool) -> None:
    """Recompute every member's balances from the ledger and print the differences.

    Exits 1 when there are differences and --fix was not given.
    """
    from dataclasses import asdict

    from services.errors import ServiceError
    from services.ledger.export import merchant_id
    from services.ledger.rebuild import member_count, rebuild

    rt = runtime.current()
    try:
        merchant = merchant_id(rt, slug) if slug else None
    except ServiceError as exc:
        click.echo(f"{exc.code}: {exc.message}", err=True)
        sys.exit(1)
    with cli_operations.progress(member_count(rt, merchant), "checking members", quiet=json_output) as advance:
        found = rebuild(rt, fix=fix, merchant_id=merchant, on_member=advance)
    members_count = len({d.member_id for d in found})
    if json_output:
        click.echo(json.dumps({"differences": [asdict(d) for d in found], "fixed": fix and bool(found)}, indent=2))
    else:
        for d in found:
            click.echo(f"{d.member_id} {d.balance}: stored {d.stored}, rebuilt {d.rebuilt}{' (fixed)' if fix else ''}")
        click.echo(f"{len(found)} difference(s) in {members_count} member(s)" + ("; fixed" if fix and found else ""))
    if found and not fix:
        sys.exit(1)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", default=None)
@click.option("--fork", is_flag=True, help="Run each job in a forked work horse (RQ's HerokuWorker) for isolation.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="Listen only on this queue (repeatable); default: all three, in priority order.",
)
def worker(burst: bool, name: str | None, fork: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker on every Punchcard queue, with RQ's scheduler for retries.

    Jobs run in the worker process unless ``--fork``. SIGTERM shuts it down warm: the job in
    flight gets up to 20 s to finish, inside Heroku's 30 s (workers/runner.py).
    """
    from workers.runner import build_worker

    rt = runtime.current()
    _count_into_redis(rt)
    if fork:
        # Each horse would otherwise initialise the dialect on its first connect (-17% per job).
        rt.db.engine.connect().close()
        rt.db.engine.dispose()
    dispatcher = rt.dispatcher
    listened = [q for q in QUEUES if not queues or q in queues]  # always in priority order
    rq_worker = build_worker([dispatcher.queue(q) for q in listened], dispatcher.connection, name=name, fork=fork)
    rq_worker.work(burst=burst, with_scheduler=True, logging_level=settings_module.load().log_level)


@click.command("scheduler")
def scheduler() -> None:
    """Enqueue the periodic jobs (sweeper, reconciliation, points and holds) on time, until SIGTERM.

    RQ's cron scheduler on the same Redis connection as web and worker, so ``REDIS_SSL_VERIFY`` holds
    for it too. Run exactly one.
    """
    from workers.cron import build_scheduler

    _count_into_redis(runtime.current())
    connection = runtime.current().dispatcher.connection
    build_scheduler(connection, logging_level=settings_module.load().log_level).start()
