"""Fixtures of the faults tier: services we can stop and restart, and the system as real processes.

- ``fault_redis``: a Redis server of the test's own, persistent (AOF), that the
  test can stop and start again on the same port without losing the queue.
- ``fault_postgres``: a PostgreSQL cluster of the tier's own (not the one the
  rest of the suite shares), that a test can stop and start again.
- ``make_system``: the release commands, gunicorn and ``flask --app app worker``
  started the way the Procfile starts them, each in its own session.

Every process a test starts carries a marker in its environment. Teardown
kills every process that carries it, RQ work horses included: a horse leaves
its parent's process group (``os.setpgrp``) and outlives a SIGKILLed parent,
so killing process groups alone would leave it running.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest
import requests
from redis import Redis
from sqlalchemy import func, select

from devtools.services import TempPostgres, free_port, postgres_bindir, start_redis
from factories import encode, shopify_headers
from support import ROOT, TEST_ENV, wait_for

BIN = Path(sys.executable).parent
MARK = "PUNCHCARD_FAULTS_RUN"

# One tier only, so what an order earns never depends on the order in which
# parallel workers happen to settle a member's orders (a tier multiplier is
# fixed when an order first earns). 10 points per 1.00 of subtotal, floored.
MERCHANTS = """
merchants:
  - slug: demo-cafe
    name: Demo Cafe
    currency: USD
    timezone: America/New_York
    api_keys: ["${DEMO_CAFE_API_KEY}"]
    program:
      points_per_currency_unit: 10
      rounding: floor
      tiers: [{name: Member, min_lifetime_points: 0}]
    shopify:
      shop_domain: demo-cafe.myshopify.com
      webhook_secret: ${DEMO_CAFE_SHOPIFY_SECRET}
"""


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session", autouse=True)
def sigterm_runs_the_teardowns():
    """SIGTERM to pytest (a CI time-out, ``kill``) interrupts it like Ctrl-C, so the teardowns still stop
    what the tier started: Python's default SIGTERM ends pytest on the spot and leaves the processes behind."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


# --- services we can stop and restart ------------------------------------------------------------


class RestartableRedis:
    """A redis-server with append-only persistence, stoppable and restartable on the same port and files."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._client: Redis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RestartableRedis:
        self.proc = start_redis(self.port, self.workdir, persist=True)
        return self

    def stop(self) -> None:
        """Shut the server down the way an operator does (SIGTERM: it writes its files, then exits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def client(self) -> Redis:
        """The test's own client (it reconnects by itself after a restart)."""
        if self._client is None:
            self._client = Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)
        return self._client


class RestartablePostgres(TempPostgres):
    """``TempPostgres`` that can also be stopped and started again (same port, same data)."""

    def start(self) -> RestartablePostgres:
        super().start()
        # postmaster.opts records how the server was started: the restart reuses it exactly.
        recorded = shlex.split(Path(self.datadir, "postmaster.opts").read_text())[1:]
        at = recorded.index("-D")
        del recorded[at : at + 2]  # pg_ctl passes the data directory itself
        self._options = " ".join(shlex.quote(arg) for arg in recorded)
        return self

    def stop_server(self) -> None:
        """``pg_ctl stop -m fast``: sessions are cut off, open transactions rolled back."""
        self._run("pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", self.datadir, "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def start_server(self) -> None:
        self._run(
            "pg_ctl", "-D", self.datadir, "-o", self._options, "-l", os.path.join(self.root, "log"), "-w", "start"
        )

    def create_database(self) -> str:
        """A new empty database; returns its libpq URL (the release phase migrates it)."""
        name = f"faults_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def fault_redis():
    """A persistent Redis of this test's own; stopped (if still running) and removed afterwards."""
    workdir = tempfile.mkdtemp(prefix="punchcard-faults-redis-")
    server = RestartableRedis(workdir).start()
    yield server
    if server._client is not None:
        server._client.close()
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_postgres():
    """The tier's own PostgreSQL cluster, which a test may stop and start."""
    if postgres_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not installed")
    cluster = RestartablePostgres().start()
    yield cluster
    if not cluster.running():
        cluster.start_server()  # a test failed while the server was down: TempPostgres.stop expects it up
    cluster.stop()


@pytest.fixture
def postgres_url(fault_postgres):
    """A fresh database on the tier's cluster (libpq URL)."""
    if not fault_postgres.running():
        fault_postgres.start_server()  # an earlier test failed while it was stopped
    return fault_postgres.create_database()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/punchcard.db"


# --- the system as processes ----------------------------------------------------------------------


class Proc:
    """One process the test started (web or worker), in its own session, logging to a file."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path) -> None:
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def horse(self) -> psutil.Process | None:
        """The RQ work horse running a job: the child that made itself a process group leader."""
        for child in self.descendants():
            try:
                if os.getpgid(child.pid) == child.pid:
                    return child
            except ProcessLookupError:
                continue
        return None

    def signal_every_process(self, sig: int) -> list[int]:
        """Send ``sig`` to this process and all of its descendants at once, as Heroku does to a dyno."""
        targets = [self.pid, *(p.pid for p in self.descendants())]
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return targets

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, count: int = 1, timeout: float = 30) -> int:
        """How often ``text`` is in the log, once it is there ``count`` times.

        A worker logs "Job OK" after the job's transaction committed: a test that saw the commit
        must wait for the line rather than read the log at once.
        """
        wait_for(lambda: self.output().count(text) >= count, timeout=timeout, what=f"{count} x {text!r} in {self.name}")
        return self.output().count(text)


class System:
    """Punchcard's processes on one database and one Redis, started as the Procfile starts them."""

    def __init__(self, database_url: str, redis: RestartableRedis, workdir: Path, merchants: str = MERCHANTS) -> None:
        from models import Database
        from settings import normalize_database_url

        self.database_url = database_url
        self.redis = redis
        self.workdir = workdir
        self.marker = uuid.uuid4().hex
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = workdir / "merchants.yaml"
        config.write_text(merchants)
        self.env = {
            **os.environ,
            **TEST_ENV,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "MERCHANTS_CONFIG": str(config),
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            MARK: self.marker,
        }
        self.procs: list[Proc] = []
        self.wait_for = wait_for
        self.db = Database(normalize_database_url(database_url))
        self.http = requests.Session()

    # processes

    def release(self) -> None:
        """The Procfile's release phase: migrations, then the merchant config sync."""
        flask = [str(BIN / "flask"), "--app", "app"]
        for args in (["db", "upgrade"], ["merchants", "sync"]):
            done = subprocess.run([*flask, *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
            assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}"

    def start_web(self, workers: int = 2) -> Proc:
        """``web``: gunicorn serving the app factory, as the Procfile runs it (bound to loopback)."""
        web = self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--graceful-timeout",
                "25",
                "app:create_app()",
            ],
        )
        wait_for(lambda: self._healthy() or not web.alive(), timeout=30, what="web healthy")
        assert web.alive(), web.output()
        return web

    def start_worker(self, name: str, *, fork: bool = False) -> Proc:
        """``worker``: ``flask --app app worker`` (RQ worker with its scheduler); returns once it listens.

        ``fork`` runs it with ``--fork``: a work horse per job instead of jobs in the worker process.
        """
        worker = self._spawn(
            name,
            [
                str(BIN / "flask"),
                "--app",
                "app",
                "worker",
                "--name",
                f"{name}-{self.marker[:8]}",
                *(["--fork"] if fork else []),
            ],
        )
        wait_for(lambda: "Listening on" in worker.output() or not worker.alive(), timeout=30, what=f"{name} listening")
        assert worker.alive(), worker.output()
        return worker

    def _spawn(self, name: str, args: list[str]) -> Proc:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _healthy(self) -> bool:
        try:
            return self.http.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """SIGTERM what still runs, then SIGKILL every process carrying this system's marker."""
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.marked_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.http.close()
        self.db.dispose()

    def marked_pids(self) -> list[int]:
        """Every process (orphaned work horses included) started by this system."""
        found = []
        for process in psutil.process_iter(["pid"]):
            try:
                if process.environ().get(MARK) == self.marker:
                    found.append(process.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    # traffic

    def post(
        self, topic: str, payload: dict, webhook_id: str, session: requests.Session | None = None, timeout: float = 10
    ) -> requests.Response:
        """A delivery signed exactly as Shopify signs it."""
        body = encode(payload)
        return (session or self.http).post(
            f"{self.base_url}/webhooks/shopify",
            data=body,
            headers=shopify_headers(body, topic, webhook_id),
            timeout=timeout,
        )

    def healthz(self) -> requests.Response:
        return self.http.get(f"{self.base_url}/healthz", timeout=10)

    # what the database holds

    def deliveries(self) -> dict[str, tuple[str, int]]:
        """Webhook id -> (status, attempts) of every stored delivery."""
        from models import Delivery

        with self.db.reader() as session:
            rows = session.execute(select(Delivery.delivery_id, Delivery.status, Delivery.attempts)).all()
        return {r.delivery_id: (r.status, r.attempts) for r in rows}

    def all_processed(self, webhook_ids) -> bool:
        stored = self.deliveries()
        return all(stored.get(w, ("missing",))[0] == "processed" for w in webhook_ids)

    def balances(self) -> dict[str, dict]:
        """Email -> the member's stored balance, the sum and count of its ledger entries, per order."""
        from models import LedgerEntry, Member

        with self.db.reader() as session:
            members = {m.id: m for m in session.execute(select(Member)).scalars()}
            sums = session.execute(
                select(
                    LedgerEntry.member_id, LedgerEntry.reference, func.sum(LedgerEntry.points), func.count()
                ).group_by(LedgerEntry.member_id, LedgerEntry.reference)
            ).all()
        out = {m.email: {"points": m.points, "ledger": 0, "entries": 0, "orders": {}} for m in members.values()}
        for member_id, reference, points, count in sums:
            row = out[members[member_id].email]
            row["ledger"] += int(points)
            row["entries"] += count
            row["orders"][reference] = int(points)
        return out

    # faults helpers

    @contextmanager
    def member_locked(self, email: str):
        """Hold the member's row lock (PostgreSQL) until the block ends: a job settling its order waits."""
        conn = psycopg.connect(self.database_url)
        try:
            row = conn.execute("SELECT id FROM members WHERE email_normalized = %s FOR UPDATE", (email,)).fetchone()
            assert row is not None, f"no member {email}"
            yield conn
        finally:
            try:
                conn.rollback()
                conn.close()
            except psycopg.Error:
                pass  # the server went away with the lock

    def waiting_on_a_lock(self) -> int:
        """How many sessions of this database wait for a lock (a job blocked mid-transaction)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]

    def rq_job(self, webhook_id: str):
        """The RQ job processing the delivery ``webhook_id`` (RQ's own view of it)."""
        from rq.job import Job

        from models import Delivery
        from workers.queues import job_id

        with self.db.reader() as session:
            pk = session.execute(select(Delivery.id).where(Delivery.delivery_id == webhook_id)).scalar_one()
        return Job.fetch(job_id("process_delivery", (pk,)), connection=self.redis.client())

    def sweep(self, *, later: timedelta = timedelta(0), older_than: timedelta | None = None) -> int:
        """Run the sweeper job's service as the scheduler would run it ``later`` from now."""
        from models import Database
        from services.inbox.sweeper import sweep
        from services.runtime import Runtime
        from workers.queues import RQDispatcher, connect

        def clock() -> datetime:
            return datetime.now(UTC) + later

        db = Database(self.db.url)
        dispatcher = RQDispatcher(connect(self.redis.url), clock=clock)
        try:
            rt = Runtime(db=db, dispatcher=dispatcher, clock=clock)
            return sweep(rt) if older_than is None else sweep(rt, older_than=older_than)
        finally:
            dispatcher.connection.close()
            db.dispose()


@pytest.fixture
def make_system(fault_redis, tmp_path):
    """``make_system(database_url[, merchants])``: a released system (nothing running yet).

    Every process is gone afterwards.
    """
    systems: list[System] = []

    def make(database_url: str, merchants: str = MERCHANTS) -> System:
        system = System(database_url, fault_redis, tmp_path, merchants)
        systems.append(system)
        system.release()
        return system

    try:
        yield make
    finally:
        for system in systems:
            system.stop()
    for system in systems:
        leftover = system.marked_pids()
        assert leftover == [], f"processes left running: {leftover}"
