"""The worker process on a real Redis: its shutdown contract, and ``flask worker --queue``.

SIGTERM lets the job in flight finish; past the deadline the job fails cleanly and RQ retries it;
an idle worker stops at once. (tests/faults drives the same contract through ``flask worker``.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.job import JobStatus

from support import ROOT, TEST_ENV, wait_for

QUEUE = "shutdown-test"
WORKER = """
import sys
from redis import Redis
from rq import Queue
from workers.runner import InProcessWorker


def wait_for_release(key, timeout):
    # A job that runs until the test lets it go: how long it runs never depends on the machine's speed.
    return Redis.from_url(sys.argv[1]).blpop([key], timeout=timeout) is not None

InProcessWorker.imminent_shutdown_delay = float(sys.argv[2])
connection = Redis.from_url(sys.argv[1])
worker = InProcessWorker([Queue(sys.argv[3], connection=connection)], connection=connection)
worker.work(logging_level="INFO")
"""


@pytest.fixture
def start_worker(redis_conn, redis_url, tmp_path):
    procs = []

    def start(delay: float) -> tuple[subprocess.Popen, object]:
        log = open(tmp_path / f"worker-{len(procs)}.log", "w+")
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, str(delay), QUEUE], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        procs.append(proc)
        return proc, log

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def started(job, timeout: float = 20) -> None:
    wait_for(lambda: job.get_status() == JobStatus.STARTED, timeout=timeout, interval=0.02, what="the job started")


def enqueue_sleep(redis_conn: Redis, seconds: float):
    return Queue(QUEUE, connection=redis_conn).enqueue("time.sleep", seconds, retry=Retry(max=1), job_timeout=120)


def test_sigterm_lets_the_job_in_flight_finish_then_the_worker_exits_cleanly(redis_conn, start_worker):
    job = Queue(QUEUE, connection=redis_conn).enqueue("__main__.wait_for_release", "release", 60, job_timeout=120)
    proc, log = start_worker(delay=30)
    started(job)
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "warm shut down requested" in open(log.name).read(), what="the worker told to stop")
    assert proc.poll() is None  # still finishing its job
    redis_conn.rpush("release", "go")
    assert proc.wait(timeout=15) == 0
    assert job.get_status() == JobStatus.FINISHED and job.return_value() is True


def test_a_job_still_running_at_the_deadline_fails_cleanly_and_is_queued_for_its_retry(redis_conn, start_worker):
    job = enqueue_sleep(redis_conn, 60)
    waiting = enqueue_sleep(redis_conn, 0)
    proc, log = start_worker(delay=1)
    started(job)
    stopped_at = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert time.monotonic() - stopped_at < 10
    job.refresh()
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 0  # failed once, queued again
    assert waiting.get_status() == JobStatus.QUEUED  # the backlog stays for the next worker
    log.seek(0)
    output = log.read()
    assert "warm shut down requested" in output and "ShutDownImminentException" in output


def test_an_idle_worker_stops_at_once_on_sigterm(redis_conn, start_worker):
    proc, log = start_worker(delay=10)
    wait_for(lambda: "Listening on" in open(log.name).read() or proc.poll() is not None, what="the worker listening")
    assert proc.poll() is None, open(log.name).read()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0


def flask_worker(redis_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MERCHANTS_CONFIG", "DATABASE_URL", "FLASK_APP")}
    env.update(TEST_ENV, DATABASE_URL=f"sqlite:///{tmp_path}/punchcard.db", REDIS_URL=redis_url, LOG_LEVEL="INFO")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_started_with_queue_listens_only_on_that_queue(redis_conn, redis_url, tmp_path):
    tagging = Queue("integrations", connection=redis_conn).enqueue("time.sleep", 0)
    settling = Queue("webhooks", connection=redis_conn).enqueue("time.sleep", 0)
    done = flask_worker(redis_url, tmp_path, "--queue", "integrations")
    assert done.returncode == 0, done.stderr[-2000:]
    assert tagging.get_status() == JobStatus.FINISHED
    assert settling.get_status() == JobStatus.QUEUED


def test_an_unknown_queue_is_refused_before_the_worker_starts(redis_url, tmp_path):
    done = flask_worker(redis_url, tmp_path, "--queue", "webhook")
    assert done.returncode == 2
    assert "'webhook' is not one of 'webhooks', 'integrations', 'maintenance'" in done.stderr
