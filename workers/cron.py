"""Periodic jobs for ``rq cron`` (the scheduler process)."""
from rq import cron

from workers import jobs
from workers.queues import JOBS, MAINTENANCE

# Stored-but-unqueued deliveries (Redis was down after the commit, a worker died).
cron.register(jobs.sweep_deliveries, queue_name=MAINTENANCE, interval=60)
# Toast retries a webhook only twice: poll for what an outage made us miss.
cron.register(jobs.reconcile_toast, queue_name=MAINTENANCE, interval=300)
# Pending points become spendable, and holds past their time to live come back, within a minute.
cron.register(jobs.activate_points, queue_name=MAINTENANCE, interval=60,
              job_timeout=JOBS["activate_points"].timeout)
cron.register(jobs.expire_holds, queue_name=MAINTENANCE, interval=60, job_timeout=JOBS["expire_holds"].timeout)
# Points expire at the end of a day; one entry per member and day, so hourly runs are harmless.
cron.register(jobs.expire_points, queue_name=MAINTENANCE, interval=3600, job_timeout=JOBS["expire_points"].timeout)
