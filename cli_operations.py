"""The operator's ``flask`` commands (operations.md): deliveries, jobs, merchants list, ledger export, idempotency.

Every command that walks many rows shows a progress bar on a terminal (click's, on
stderr, so stdout stays the data) and ends with a one-line summary; ``--json``
prints machine-readable output instead.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup

from services import metrics, runtime
from services.errors import ServiceError

deliveries = AppGroup("deliveries", help="Stored webhook deliveries: list, show, replay, prune.")
jobs = AppGroup("jobs", help="RQ's failed jobs.")
idempotency = AppGroup("idempotency", help="Stored partner API answers (idempotency keys).")
_DURATION = re.compile(r"^(\d+)\s*([dhms]?)$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "": "days"}
as_json = click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")


def register(app, merchants: AppGroup, ledger: AppGroup) -> None:
    """Attach the operator commands (``merchants list`` and ``ledger export`` join the existing groups)."""
    for group in (deliveries, jobs, idempotency):
        app.cli.add_command(group)
    merchants.add_command(list_merchants)
    ledger.add_command(export_ledger)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``45m``, ``90s`` or a number of days."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration such as 30d, 12h or 45m")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def parse_since(text: str | None) -> datetime | None:
    """An ISO date or instant (UTC unless it says otherwise), or a duration ago (``7d``)."""
    if not text:
        return None
    if _DURATION.match(text.strip().lower()):
        return datetime.now(UTC) - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date, an ISO instant or a duration such as 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def progress(length: int, label: str, *, quiet: bool = False):
    """A progress bar on stderr when it is a terminal (nothing otherwise); yields ``advance(n)``."""
    if quiet or not sys.stderr.isatty():
        yield lambda n=1: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@contextmanager
def _worker_side_metrics(rt):
    """What this command processes counts where the workers' numbers go (Redis), then the process's sink is back."""
    previous = metrics.current_sink()
    metrics.install(metrics.RedisSink(rt.dispatcher.connection))
    try:
        yield
    finally:
        metrics.install(previous)  # flushes the Redis sink first


def _emit(data, json_output: bool, lines: Callable[[], list[str]]) -> None:
    if json_output:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines():
            click.echo(line)


def _fail(exc: ServiceError) -> None:
    click.echo(f"{exc.code}: {exc.message}", err=True)
    sys.exit(1)


@deliveries.command("list")
@click.option("--status", type=click.Choice(["received", "processed", "failed", "ignored"]))
@click.option("--merchant", help="The merchant's slug.")
@click.option("--since", help="Received at or after: an ISO date or instant, or a duration ago (7d).")
@click.option("--limit", type=int, default=100, show_default=True)
@as_json
def list_deliveries(status, merchant, since, limit, json_output) -> None:
    """The stored deliveries, newest first."""
    from services.inbox import operator

    rows = operator.find(runtime.current(), status=status, merchant=merchant, since=parse_since(since), limit=limit)
    _emit(
        [asdict(row) for row in rows],
        json_output,
        lambda: (
            [
                f"{r.id}\t{r.received_at:%Y-%m-%dT%H:%M:%SZ}\t{r.merchant}\t{r.provider}\t{r.topic}\t{r.status}"
                f"\tattempts={r.attempts}" + (f"\t{r.error}" if r.error else "")
                for r in rows
            ]
            + [f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}"]
        ),
    )


@deliveries.command("show")
@click.argument("delivery_pk", type=int, metavar="ID")
@as_json
def show_delivery(delivery_pk: int, json_output: bool) -> None:
    """One delivery: headers kept, body, status, error, attempts, and what it posted."""
    from services.inbox import operator

    try:
        found = operator.detail(runtime.current(), delivery_pk)
    except ServiceError as exc:
        _fail(exc)
    _emit(found, json_output, lambda: _detail_lines(found))


def _detail_lines(found: dict) -> list[str]:
    lines = [f"{key}: {found[key]}" for key in ("id", "merchant", "provider", "topic", "delivery_id", "status")]
    lines += [f"{key}: {found[key]}" for key in ("attempts", "error", "received_at", "processed_at")]
    lines += ["headers:"] + [f"  {k}: {v}" for k, v in found["headers"].items()]
    lines += ["posted:"] + [f"  {e['id']} {e['type']} {e['points']:+d} ({e['business_key']})" for e in found["posted"]]
    return [*lines, "body:", found["body"]]


@deliveries.command("replay")
@click.argument("delivery_pks", type=int, nargs=-1, metavar="ID...")
@click.option("--failed", is_flag=True, help="Every failed delivery (with --since, those received since).")
@click.option("--since", help="With --failed: received at or after (ISO, or a duration ago such as 7d).")
@click.option("--enqueue", is_flag=True, help="Hand them to the workers instead of processing them here.")
@as_json
def replay_deliveries(delivery_pks, failed, since, enqueue, json_output) -> None:
    """Process deliveries again; idempotent by business keys, so a replay never double-counts."""
    from services.inbox import operator

    rt = runtime.current()
    if bool(delivery_pks) == failed:
        raise click.UsageError("give delivery ids or --failed")
    targets = list(delivery_pks) or operator.ids(rt, status="failed", since=parse_since(since))
    results = []
    with _worker_side_metrics(rt), progress(len(targets), "replaying", quiet=json_output) as advance:
        for pk in targets:
            results.append(_replay_one(operator, rt, pk, enqueue))
            advance(1)
    _emit(results, json_output, lambda: [_replay_line(r) for r in results] + [_replay_summary(results)])
    if any(r.get("error") for r in results):
        sys.exit(1)


def _replay_one(operator, rt, pk: int, enqueue: bool) -> dict:
    try:
        return asdict(operator.replay(rt, pk, enqueue=enqueue))
    except ServiceError as exc:
        return {"id": pk, "error": f"{exc.code}: {exc.message}"}
    except Exception as exc:  # the delivery keeps the attempt and its error; the sweeper retries it
        return {"id": pk, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}


def _replay_line(result: dict) -> str:
    if result.get("error"):
        return f"{result['id']}: {result['error']}"
    return f"{result['id']}: {result['before']} -> {result['status']}, posted {len(result['posted'])} entr" + (
        "y" if len(result["posted"]) == 1 else "ies"
    )


def _replay_summary(results: list[dict]) -> str:
    posted = sum(len(r.get("posted") or []) for r in results)
    errors = sum(1 for r in results if r.get("error"))
    done = len(results) - errors
    return f"replayed {done} deliver{'y' if done == 1 else 'ies'}, {posted} new entries, {errors} error(s)"


@deliveries.command("prune")
@click.option("--older-than", "older_than", default=None, help="e.g. 30d; default DELIVERY_RETENTION_DAYS.")
@click.option("--include-failed", is_flag=True, help="Delete failed deliveries past retention too.")
@as_json
def prune_deliveries(older_than, include_failed, json_output) -> None:
    """Delete processed and ignored deliveries past retention; failed ones are kept unless --include-failed."""
    from services.inbox import operator

    rt = runtime.current()
    age = parse_duration(older_than) if older_than else rt.delivery_retention
    with progress(
        operator.count_prunable(rt, age, include_failed=include_failed), "pruning", quiet=json_output
    ) as step:
        deleted = operator.prune(rt, age, include_failed=include_failed, on_batch=step)
    _emit(
        {"deleted": deleted, "older_than_days": age / timedelta(days=1), "include_failed": include_failed},
        json_output,
        lambda: [f"deleted {deleted} deliveries received more than {_days(age)} ago"],
    )


@idempotency.command("prune")
@click.option(
    "--older-than", "older_than", default=None, help="Retention, e.g. 30d (default IDEMPOTENCY_RETENTION_DAYS)."
)
@as_json
def prune_idempotency(older_than, json_output) -> None:
    """Delete stored partner API answers past retention (a retry with an old key then runs as new)."""
    from services.partner_api import idempotency as stored

    rt = runtime.current()
    age = parse_duration(older_than) if older_than else rt.idempotency_retention
    with progress(stored.count_prunable(rt, age), "pruning", quiet=json_output) as step:
        deleted = stored.prune(rt, age, on_batch=step)
    _emit(
        {"deleted": deleted, "older_than_days": age / timedelta(days=1)},
        json_output,
        lambda: [f"deleted {deleted} stored answers older than {_days(age)}"],
    )


def _days(age: timedelta) -> str:
    return f"{age / timedelta(days=1):g} days"


@jobs.command("failed")
@as_json
def failed_jobs(json_output) -> None:
    """RQ's failed jobs (kept a week), newest first."""
    from workers.failed import failed_jobs as find

    found = find(runtime.current().dispatcher.connection)
    _emit(
        [asdict(job) for job in found],
        json_output,
        lambda: (
            [f"{j.id}\t{j.queue}\t{j.failed_at:%Y-%m-%dT%H:%M:%SZ}\t{j.error}" for j in found if j.failed_at]
            + [f"{len(found)} failed job(s)"]
        ),
    )


@jobs.command("requeue")
@click.argument("job_ids", nargs=-1, metavar="ID...")
@click.option("--all", "everything", is_flag=True, help="Every failed job.")
@as_json
def requeue_jobs(job_ids, everything, json_output) -> None:
    """Put failed jobs back on their queues; a delivery's job also gets its delivery processed again."""
    from services.inbox import operator
    from workers.failed import failed_jobs as find
    from workers.failed import requeue

    rt = runtime.current()
    if bool(job_ids) == everything:
        raise click.UsageError("give job ids or --all")
    ids = [job.id for job in find(rt.dispatcher.connection)] if everything else list(job_ids)
    for job_id in ids:
        if job_id.startswith("process_delivery-") and job_id.rsplit("-", 1)[1].isdigit():
            # A failed delivery ignores its job: it is final. Reset it, or the requeued job does nothing.
            try:
                operator.reset(rt, int(job_id.rsplit("-", 1)[1]))
            except ServiceError:
                pass  # pruned since; the job finds nothing
    done = requeue(rt.dispatcher.connection, ids)
    missing = sorted(set(ids) - set(done))
    _emit(
        {"requeued": done, "not_found": missing},
        json_output,
        lambda: [f"requeued {len(done)} job(s)"] + [f"not a failed job: {job_id}" for job_id in missing],
    )
    if missing:
        sys.exit(1)


@click.command("list")
@as_json
def list_merchants(json_output) -> None:
    """The merchants with their channels, program engine, API key count and status."""
    from services.merchants.listing import merchants

    rows = merchants(runtime.current())
    _emit(
        [asdict(row) for row in rows],
        json_output,
        lambda: (
            [
                f"{r.slug}\t{r.name}\t{','.join(r.channels) or '-'}\t{r.provider}\tkeys={r.api_keys}\t{r.status}"
                for r in rows
            ]
            + [f"{len(rows)} merchant(s)"]
        ),
    )


@click.command("export")
@click.option("--merchant", "slug", required=True, help="The merchant's slug.")
@click.option("--since", help="Entries created at or after: ISO date or instant, or a duration ago (30d).")
def export_ledger(slug: str, since: str | None) -> None:
    """The merchant's ledger entries as CSV on stdout, oldest first (``> file.csv``)."""
    from services.ledger import export

    rt = runtime.current()
    try:
        merchant = export.merchant_id(rt, slug)
    except ServiceError as exc:
        _fail(exc)
    start = parse_since(since)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(export.COLUMNS)
    written = 0
    with progress(export.count(rt, merchant, start), "exporting") as advance:
        for row in export.rows(rt, merchant, start):
            writer.writerow(row)
            written += 1
            advance(1)
    click.echo(f"exported {written} entries of {slug}", err=True)
