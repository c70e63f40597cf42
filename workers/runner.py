"""The worker process: which RQ worker class runs Punchcard's jobs, and how it stops on Heroku.

Heroku stops a dyno by sending SIGTERM to every one of its processes, then SIGKILL 30 s later.
Both classes here shut down warm: the job in flight gets ``IMMINENT_SHUTDOWN_DELAY`` seconds to
finish, then it is failed cleanly (``ShutDownImminentException``) and RQ retries it, before the
SIGKILL. The queued backlog stays queued for the next worker.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable

from rq import Queue
from rq.exceptions import ShutDownImminentException
from rq.worker import BaseWorker, HerokuWorker, SimpleWorker, WorkerStatus

IMMINENT_SHUTDOWN_DELAY = 20  # seconds; inside Heroku's 30, with room for RQ's own bookkeeping
# An idle worker reports in every WORKER_TTL - 15 s (RQ's dequeue timeout): inside the two minutes
# /healthz?deep=1 allows. RQ's default (420 s) would report a healthy idle worker as gone.
WORKER_TTL = 90


class InProcessWorker(SimpleWorker):
    """Runs each job in the worker process itself: no fork, no cold process per job.

    A forked work horse starts cold for every job: a new database connection, SQLAlchemy's
    statement cache empty, copy-on-write faults over the whole process. That cost 80-100 ms per
    settled order against 14 ms in a warm process (BENCHMARKS.md). The price is isolation: a job
    that crashes the interpreter takes the worker with it, and its delivery is then recovered as
    any killed worker's is (RQ's abandoned-job clean-up, or the delivery sweeper).
    """

    imminent_shutdown_delay = IMMINENT_SHUTDOWN_DELAY

    def handle_warm_shutdown_request(self) -> None:
        """On the first SIGTERM or SIGINT: let the job in flight finish, but not past the delay."""
        if self.get_state() != WorkerStatus.BUSY:
            self.log.info("Worker %s: warm shut down requested, no job in flight", self.name)
            return
        self.log.info(
            "Worker %s: warm shut down requested; the job in flight has %d s to finish",
            self.name,
            self.imminent_shutdown_delay,
        )
        # SIGALRM is the job timeout's (RQ's death penalty), so the deadline is a timer thread
        # that signals the main thread, where the job runs; a blocking system call there is
        # interrupted and Python raises at the next bytecode.
        signal.signal(signal.SIGRTMIN, self._cancel_job_in_flight)
        timer = threading.Timer(
            self.imminent_shutdown_delay, signal.pthread_kill, (threading.main_thread().ident, signal.SIGRTMIN)
        )
        timer.daemon = True
        timer.start()

    def _cancel_job_in_flight(self, signum, frame) -> None:
        if self.get_state() == WorkerStatus.BUSY:
            self.log.warning("Worker %s: shut down imminent, failing the job in flight so it is retried", self.name)
            raise ShutDownImminentException("shut down imminent (warm shutdown deadline passed)", {})


class ForkingWorker(HerokuWorker):
    """RQ's HerokuWorker (a forked work horse per job), for operators who want each job isolated."""

    imminent_shutdown_delay = IMMINENT_SHUTDOWN_DELAY


def build_worker(queues: Iterable[Queue], connection, *, name: str | None, fork: bool) -> BaseWorker:
    """The worker ``flask worker`` runs: in-process by default, one horse per job with ``fork``."""
    worker_class = ForkingWorker if fork else InProcessWorker
    return worker_class(list(queues), connection=connection, name=name, worker_ttl=WORKER_TTL)
