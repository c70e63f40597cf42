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
    # Provider postings whose retry came due, or whose sender died, go out again.
    (jobs.send_due_postings, {"interval": 60}),
    (jobs.expire_provider_redemptions, {"interval": 300}),
    # Event deliveries whose retry came due (when the scheduled job was lost), or whose worker died.
    (jobs.deliver_due_events, {"interval": 60}),
    # Points expire at the end of a day; one entry per member and day, so hourly runs are harmless.
    (jobs.expire_points, {"interval": 3600, "job_timeout": JOBS[Job.EXPIRE_POINTS].timeout}),
    # Retention, once a day at a quiet hour (UTC). A cron time, not a 24 h interval: Heroku restarts
    # every dyno about daily, and an interval counted from each start might never come round.
    (jobs.prune_deliveries, {"cron": "15 4 * * *", "job_timeout": JOBS[Job.PRUNE_DELIVERIES].timeout}),
    (
        jobs.prune_idempotent_requests,
        {"cron": "45 4 * * *", "job_timeout": JOBS[Job.PRUNE_IDEMPOTENT_REQUESTS].timeout},
    ),
)


def build_scheduler(connection: Redis, *, logging_level: str = "INFO") -> CronScheduler:
    """RQ's cron scheduler with Punchcard's periodic jobs, enqueueing on ``connection``."""
    scheduler = CronScheduler(connection=connection, logging_level=logging_level)
    for func, options in PERIODIC:
        scheduler.register(func, queue_name=MAINTENANCE, **options)
    return scheduler


for _func, _options in PERIODIC:
    cron.register(_func, queue_name=MAINTENANCE, **_options)
