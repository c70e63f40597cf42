"""Periodic jobs for ``rq cron`` (the scheduler process)."""
from rq import cron

from workers import jobs
from workers.queues import MAINTENANCE

# Stored-but-unqueued deliveries (Redis was down after the commit, a worker died).
cron.register(jobs.sweep_deliveries, queue_name=MAINTENANCE, interval=60)
# Toast retries a webhook only twice: poll for what an outage made us miss.
cron.register(jobs.reconcile_toast, queue_name=MAINTENANCE, interval=300)
