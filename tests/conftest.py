"""Real services for the suite: a Redis server, SQLite files and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from redis import Redis

from devtools.services import TempPostgres, postgres_bindir, start_redis_on_free_port
from models import Database, metadata
from services import runtime
from services.merchants.config import parse_config
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV, create_database
from workers.queues import RedisCache, RQDispatcher

# Property tests are deterministic (the same examples every run) and never timed: on two shared cores
# a slow example is load, not a defect, and a CI run must not fail on it.
settings.register_profile(
    "punchcard", derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("punchcard")


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server for the whole session."""
    workdir = tempfile.mkdtemp(prefix="punchcard-redis-")
    proc, port = start_redis_on_free_port(workdir)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url():
    """A PostgreSQL server: ``TEST_POSTGRES_URL`` when given, else a throwaway cluster we start."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    if postgres_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not installed")
    cluster = TempPostgres().start()
    yield cluster.url
    cluster.stop()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request):
    """A migrated database per backend, shared by the session's tests of that backend."""
    return create_database(request.param, request)


@pytest.fixture
def database(database_url):
    """The database, emptied before the test."""
    db = Database(database_url)
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield db
    db.dispose()


@pytest.fixture
def redis_conn(redis_url):
    """A client on the session's Redis, flushed before the test."""
    conn = Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.close()


class FrozenClock:
    """A clock tests can move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def rt(database, redis_conn, clock):
    """A runtime on the real database and Redis, installed for jobs run in this process."""
    from app import wire

    return wire(
        runtime.Runtime(db=database, dispatcher=RQDispatcher(redis_conn), clock=clock, cache=RedisCache(redis_conn))
    )


@pytest.fixture
def demo_config():
    """The shipped example config with the test secrets."""
    return parse_config(EXAMPLE_CONFIG.read_text(), TEST_ENV)


@pytest.fixture
def demo_merchant(rt, demo_config):
    """The demo merchant synced into the database; returns its slug."""
    sync(rt, demo_config)
    return "demo-cafe"


@pytest.fixture
def work(rt):
    """Run a real RQ worker (SimpleWorker, in this process) until the queues are empty."""
    from rq import SimpleWorker

    from workers.queues import QUEUES

    def run() -> None:
        queues = [rt.dispatcher.queue(name) for name in QUEUES]
        SimpleWorker(queues, connection=rt.dispatcher.connection).work(burst=True, logging_level="WARNING")

    return run


@pytest.fixture
def client(rt):
    """A Flask test client of the app on the test runtime."""
    from app import create_app
    from settings import load

    app = create_app(load({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING"}), rt)
    return app.test_client()


@pytest.fixture
def two_merchants(rt, demo_config):
    """The demo merchant and Other Bakery (key ``other-bakery-key``), synced together."""
    from support import OTHER_MERCHANT

    demo_config.merchants.extend(parse_config(OTHER_MERCHANT, {}).merchants)
    sync(rt, demo_config)
