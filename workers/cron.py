"""Periodic jobs, and the scheduler process that enqueues them (``flask --app app scheduler``).

The process runs RQ's ``CronScheduler`` on the connection the wiring built, so ``REDIS_URL`` and
``REDIS_SSL_VERIFY`` mean the same for it as for web and worker: ``rq cron --url`` builds a client of
its own, which verifies Heroku Redis's self-signed certificate and fails. Importing this module also
registers the jobs for ``rq cron workers/cron.py``, which keeps working where verification is wanted.
"""

from __future__ import annotations

from redis import Redis
from rq import cron
from rq.cron import CronScheduler

from services.runtime import Job
from workers import jobs
from workers.queues import JOBS, MAINTENANCE

PERIODIC = (
    # Stored-but-unqueued deliveries (Redis was down after the commit, a worker died).
    (jobs.sweep_deliveries, {"interval": 60}),
    # Toast retries a webhook only twice: poll for what an outage made us miss.
    (jobs.reconcile_toast, {"interval": 300}),
    # Pending points become spendable, and holds past their time to live come back, within a minute.
    (jobs.activate_points, {"interval": 60, "job_timeout": JOBS[Job.ACTIVATE_POINTS].timeout}),
    (jobs.expire_holds, {"interval": 60, "job_timeout": JOBS[Job.EXPIRE_HOLDS].timeout}),
    # Metafield writes queued after a commit are normally on their way; this catches the ones Redis lost.
    (jobs.sweep_shopify_metafields, {"interval": 60}),
    # Points expire at the end of a day; one entry per member and day, so hourly runs are harmless.
    (jobs.expire_points, {"interval": 3600, "job_timeout": JOBS[Job.EXPIRE_POINTS].timeout}),
)


def build_scheduler(connection: Redis, *, logging_level: str = "INFO") -> CronScheduler:
    """RQ's cron scheduler with Punchcard's periodic jobs, enqueueing on ``connection``."""
    scheduler = CronScheduler(connection=connection, logging_level=logging_level)
    for func, options in PERIODIC:
        scheduler.register(func, queue_name=MAINTENANCE, **options)
    return scheduler


for _func, _options in PERIODIC:
    cron.register(_func, queue_name=MAINTENANCE, **_options)
