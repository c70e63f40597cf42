"""Queue names, job routing and retry policies, declared once; the ``Dispatcher`` services use."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, Worker, cron_scheduler_registry
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job as RQJob
from rq.job import JobStatus

from services.inbox.processing import MAX_ATTEMPTS
from services.runtime import Job, QueueUnavailable
from workers import jobs

# Order matters: a worker drains webhooks before integrations before maintenance.
WEBHOOKS, INTEGRATIONS, MAINTENANCE = "webhooks", "integrations", "maintenance"
QUEUES = (WEBHOOKS, INTEGRATIONS, MAINTENANCE)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# Nobody reads a finished job's result (the delivery row says what happened): keep it a minute, for
# the dashboard, not ten (operations.md's Redis arithmetic). A failed job stays a week for `jobs failed`.
FINISHED_TTL = 60
FAILED_TTL = 7 * 86400


@dataclass(frozen=True)
class JobSpec:
    """Where a job runs and how it is retried."""

    func: Callable[..., Any]
    queue: str
    retry: Retry | None
    timeout: int = 60


JOBS: dict[Job, JobSpec] = {
    # Transient failures (database restarts) back off up to half an hour; after the last
    # retry the delivery is failed with its error (services/deliveries.py).
    Job.PROCESS_DELIVERY: JobSpec(
        jobs.process_delivery, WEBHOOKS, Retry(max=MAX_ATTEMPTS - 1, interval=[2, 10, 30, 120, 600, 1800])
    ),
    Job.TAG_SHOPIFY_CUSTOMER: JobSpec(
        jobs.tag_shopify_customer, INTEGRATIONS, Retry(max=8, interval=[5, 15, 30, 60, 120, 300, 900, 1800])
    ),
    # Deleting an expired or voided reward code, and writing a member's balance to its customer's metafields:
    # throttled like tagging, retried with the same backoff (RetryLater stretches it to what Shopify asks).
    Job.DELETE_SHOPIFY_CODE: JobSpec(
        jobs.delete_shopify_code, INTEGRATIONS, Retry(max=8, interval=[5, 15, 30, 60, 120, 300, 900, 1800])
    ),
    Job.SYNC_SHOPIFY_METAFIELDS: JobSpec(
        jobs.sync_shopify_metafields, INTEGRATIONS, Retry(max=8, interval=[5, 15, 30, 60, 120, 300, 900, 1800])
    ),
    Job.SWEEP_SHOPIFY_METAFIELDS: JobSpec(jobs.sweep_shopify_metafields, MAINTENANCE, None, timeout=300),
    Job.SWEEP_DELIVERIES: JobSpec(jobs.sweep_deliveries, MAINTENANCE, None, timeout=300),
    Job.RECONCILE_TOAST: JobSpec(jobs.reconcile_toast, MAINTENANCE, None, timeout=600),
    # Idempotent and rescheduled by cron: no retries; the next run picks up what one missed.
    Job.ACTIVATE_POINTS: JobSpec(jobs.activate_points, MAINTENANCE, None, timeout=600),
    Job.EXPIRE_POINTS: JobSpec(jobs.expire_points, MAINTENANCE, None, timeout=1800),
    Job.EXPIRE_HOLDS: JobSpec(jobs.expire_holds, MAINTENANCE, None, timeout=600),
    # A member's postings go out in order; the sender keeps each one's backoff, so RQ does not retry.
    Job.SEND_POSTINGS: JobSpec(jobs.send_postings, INTEGRATIONS, None, timeout=600),
    Job.SEND_DUE_POSTINGS: JobSpec(jobs.send_due_postings, MAINTENANCE, None, timeout=300),
    Job.EXPIRE_PROVIDER_REDEMPTIONS: JobSpec(jobs.expire_provider_redemptions, MAINTENANCE, None, timeout=600),
    # One attempt per job: the delivery keeps the Standard Webhooks schedule itself (event_deliveries.py).
    Job.DELIVER_EVENT: JobSpec(jobs.deliver_event, INTEGRATIONS, None, timeout=60),
    Job.DELIVER_DUE_EVENTS: JobSpec(jobs.deliver_due_events, MAINTENANCE, None, timeout=300),
    # Daily, in batches; a run cut short by its timeout is finished by the next day's.
    Job.PRUNE_DELIVERIES: JobSpec(jobs.prune_deliveries, MAINTENANCE, None, timeout=3600),
    Job.PRUNE_IDEMPOTENT_REQUESTS: JobSpec(jobs.prune_idempotent_requests, MAINTENANCE, None, timeout=1800),
}


class RedisCache:
    """``services.runtime.Cache`` on Redis: shared by every process, and silent when Redis is down."""

    def __init__(self, connection: Redis, *, prefix: str = "punchcard:cache:") -> None:
        self.connection, self.prefix = connection, prefix

    def get(self, key: str) -> bytes | None:
        """The cached value, or None on a miss or an outage."""
        try:
            return self.connection.get(self.prefix + key)
        except RedisError:
            return None

    def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Cache ``value`` for ``ttl`` seconds, if Redis answers."""
        try:
            self.connection.set(self.prefix + key, value, px=max(int(ttl * 1000), 1))
        except RedisError:
            pass

    def delete(self, *keys: str) -> None:
        """Forget ``keys``, if Redis answers."""
        try:
            if keys:
                self.connection.delete(*(self.prefix + key for key in keys))
        except RedisError:
            pass


def connect(url: str, *, ssl_verify: bool = True) -> Redis:
    """A Redis client that fails fast: a webhook must get its 503 well inside the sender's budget.

    ``ssl_verify=False`` accepts a ``rediss://`` server's certificate unchecked (Heroku Redis signs its own);
    an ``ssl_cert_reqs`` in the URL itself wins either way.
    """
    tls = {} if ssl_verify or not url.startswith("rediss://") else {"ssl_cert_reqs": "none"}
    return Redis.from_url(
        url,
        socket_connect_timeout=1,
        socket_timeout=5,
        health_check_interval=30,
        retry=RedisRetry(ExponentialBackoff(cap=0.2, base=0.02), 2),
        **tls,
    )


def job_id(name: str, args: tuple) -> str:
    """A stable job id, so a job can be found (and is not piled up) by its name and arguments."""
    return "-".join([name, *(str(a) for a in args)])


def _exception_line(traceback_text: str) -> str:
    """``Class: message`` from a formatted traceback; messages of several lines (SQLAlchemy's) end it otherwise."""
    lines = [line for line in traceback_text.strip().splitlines() if line.strip()]
    found = next((line for line in reversed(lines) if _EXCEPTION_LINE.match(line)), None)
    return found or (lines[-1] if lines else "failed")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RQDispatcher:
    """Enqueues named jobs on RQ."""

    def __init__(self, connection: Redis, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.connection = connection
        self.clock = clock  # judges whether a started job's heartbeat has lapsed
        self._queues = {name: Queue(name, connection=connection) for name in QUEUES}

    def queue(self, name: str) -> Queue:
        """The RQ queue called ``name``."""
        return self._queues[name]

    def dispatch(self, job: str, *args: Any) -> None:
        """Enqueue ``job`` on its queue with its retry policy."""
        spec = JOBS[job]
        try:
            self._queues[spec.queue].enqueue(
                spec.func,
                *args,
                job_id=job_id(job, args),
                retry=spec.retry,
                job_timeout=spec.timeout,
                result_ttl=FINISHED_TTL,
                failure_ttl=FAILED_TTL,
            )
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None

    def dispatch_in(self, seconds: float, job: str, *args: Any) -> None:
        """Schedule ``job`` ``seconds`` from now (the worker's RQ scheduler enqueues it then).

        While no job of its plain id is live, it takes that id, so ``pending`` sees it waiting (the
        metafields' debounce relies on that). Otherwise its id names the time too: the job that
        schedules it is still running under the plain id, and RQ would overwrite that record (and
        expire it with the finished job's result).
        """
        spec = JOBS[job]
        plain = job_id(job, args)
        at = int(self.clock().timestamp() + seconds)
        try:
            self._queues[spec.queue].enqueue_in(
                timedelta(seconds=seconds),
                spec.func,
                *args,
                job_id=f"{plain}-at-{at}" if self.pending(job, *args) else plain,
                retry=spec.retry,
                job_timeout=spec.timeout,
                result_ttl=600,
                failure_ttl=FAILED_TTL,
            )
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None

    def pending(self, job: str, *args: Any) -> bool:
        """True while RQ holds a live job for ``job`` and ``args``.

        A started job is live only while its worker keeps its heartbeat: see ``_abandoned``.
        """
        try:
            rq_job = RQJob.fetch(job_id(job, args), connection=self.connection)
            status = rq_job.get_status(refresh=False)
            if status == JobStatus.STARTED and self._abandoned(rq_job):
                return False
        except NoSuchJobError:
            return False
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None
        return status in _LIVE

    def failure(self, job: str, *args: Any) -> str | None:
        """The last line of the error RQ recorded when it gave up on ``job`` (retries spent), else None."""
        try:
            rq_job = RQJob.fetch(job_id(job, args), connection=self.connection)
            if rq_job.get_status(refresh=False) != JobStatus.FAILED:
                return None
            result = rq_job.latest_result()
        except NoSuchJobError:
            return None
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None
        return _exception_line((result.exc_string if result else None) or "")[:500]

    def _abandoned(self, rq_job: RQJob) -> bool:
        """True when the worker running ``rq_job`` died without a word (SIGKILL, OOM killer, lost dyno).

        Such a job stays STARTED: a worker renews its run's expiry in the started registry every 30 s
        (to 60-90 s ahead), and RQ moves expired runs to retry only during a worker's registry maintenance,
        every 10 minutes. Counting every STARTED job as live, the sweeper left the delivery alone until
        then. A run whose expiry has passed is dead; its record is dropped so that, once the caller has
        enqueued the job again, RQ's own clean-up does not retry it a second time.
        """
        registry = rq_job.started_job_registry
        prefix = f"{rq_job.id}:".encode()
        runs = [
            (key, expiry)
            for key, expiry in self.connection.zrange(registry.key, 0, -1, withscores=True)
            if key.startswith(prefix)
        ]
        if any(expiry > self.clock().timestamp() for _, expiry in runs):
            return False
        if rq_job.get_status(refresh=True) != JobStatus.STARTED:
            return False  # it ended between the two reads
        with self.connection.pipeline() as pipe:
            for key, _ in runs:
                Execution.from_composite_key(key.decode(), self.connection).delete(rq_job, pipe)
            pipe.execute()
        return True

    def depths(self) -> dict[str, int]:
        """How many jobs wait on each queue."""
        try:
            return {name: queue.count for name, queue in self._queues.items()}
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None

    def last_seen(self) -> dict[str, datetime | None]:
        """When a worker and the scheduler last reported in (RQ's heartbeats); None: none is alive."""
        try:
            workers = Worker.all(connection=self.connection)
            newest = self.connection.zrange(cron_scheduler_registry.get_registry_key(), -1, -1, withscores=True)
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None
        beats = [w.last_heartbeat for w in workers if w.last_heartbeat is not None]
        return {
            "worker": max(beats).replace(tzinfo=UTC) if beats else None,
            "scheduler": datetime.fromtimestamp(newest[0][1], UTC) if newest else None,
        }

    def ping(self) -> None:
        """Raise ``QueueUnavailable`` when Redis does not answer."""
        try:
            self.connection.ping()
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None
