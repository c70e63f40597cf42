"""RQ's failed jobs, for ``flask jobs failed`` and ``flask jobs requeue``: a job RQ gave up on, kept a week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.registry import FailedJobRegistry

from workers.queues import QUEUES, _exception_line


@dataclass(frozen=True)
class FailedJob:
    """A failed job: its id, queue, function, when it failed, and its error's last line."""

    id: str
    queue: str
    func: str
    failed_at: datetime | None
    error: str


def failed_jobs(connection: Redis) -> list[FailedJob]:
    """Every job in the failed registries of Punchcard's queues, newest failure first."""
    found = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        for job_id in registry.get_job_ids():
            try:
                job = RQJob.fetch(job_id, connection=connection)
            except NoSuchJobError:
                continue  # expired between the two reads
            result = job.latest_result()
            error = _exception_line((result.exc_string if result else None) or "")[:300]
            found.append(FailedJob(job.id, name, job.func_name, job.ended_at, error))
    return sorted(found, key=lambda j: j.failed_at.timestamp() if j.failed_at else 0, reverse=True)


def requeue(connection: Redis, job_ids: list[str]) -> list[str]:
    """Put the failed jobs ``job_ids`` back on their queues; returns the ids requeued (unknown ones are skipped)."""
    queue_of = {job.id: job.queue for job in failed_jobs(connection)}
    done = []
    for job_id in job_ids:
        if job_id in queue_of:
            FailedJobRegistry(queue=Queue(queue_of[job_id], connection=connection)).requeue(job_id)
            done.append(job_id)
    return done
