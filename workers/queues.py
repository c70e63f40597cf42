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
from rq import Queue, Retry
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
}


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

    def dispatch(self, job: str, *args: Any, delay: float | None = None) -> None:
        """Enqueue ``job`` on its queue with its retry policy; ``delay`` seconds from now when given."""
        spec = JOBS[job]
        queue = self._queues[spec.queue]
        options = dict(
            job_id=job_id(job, args), retry=spec.retry, job_timeout=spec.timeout, result_ttl=600, failure_ttl=7 * 86400
        )
        try:
            if delay:
                queue.enqueue_in(timedelta(seconds=delay), spec.func, *args, **options)
            else:
                queue.enqueue(spec.func, *args, **options)
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

    def ping(self) -> None:
        """Raise ``QueueUnavailable`` when Redis does not answer."""
        try:
            self.connection.ping()
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None
