"""Engine and session factory, created by the wiring (never at import time)."""

from __future__ import annotations

import functools
import os
import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
AFTER_COMMIT = "punchcard.after_commit"
# The ids of the ledger entries posted in a session, oldest first: a delivery's processing records them.
POSTED_ENTRIES = "punchcard.posted_entries"


def after_commit(session: Session, callback) -> None:
    """Run ``callback`` once the transaction of ``session`` (a ``Database.transaction``) has committed.

    For what must count only what was kept: a rolled-back transaction runs nothing.
    """
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


class Database:
    """One engine and its session factory for a process."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self.engine = _make_engine(url, pool_size)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite (no row locks: writes are serialised)."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        session = self.sessionmaker()
        try:
            if self.is_sqlite:
                # Take the write lock up front so read-then-write cannot interleave.
                session.execute(text("BEGIN IMMEDIATE"))
            yield session
            session.commit()
            for callback in session.info.pop(AFTER_COMMIT, ()):
                callback()
        except BaseException:
            session.info.pop(AFTER_COMMIT, None)
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session; its objects stay readable (detached, not expired) afterwards."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()

    def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _make_engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=10, connect_args={"connect_timeout": 5})
        event.listen(engine, "checkout", _closed_by_the_server)
    _guard_against_fork(engine)
    return engine


def _closed_by_the_server(dbapi_connection, _record, _proxy) -> None:
    """Replace a pooled connection the server has closed (a restart, a failover) before it is used.

    An idle connection has nothing to read; once the server has gone, its socket reads as
    ready (end of file). Polling it costs no round trip, where ``pool_pre_ping`` sent a
    ``SELECT 1`` before every transaction. Raising ``DisconnectionError`` makes the pool open
    a fresh connection instead. A connection that is readable for another reason (a notice)
    is replaced too: harmless, and rare on a pool that never LISTENs.
    """
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # the socket is gone already
        readable = [True]
    if readable:
        raise exc.DisconnectionError("the server closed this pooled connection")


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # isolation_level=None hands transaction control to us (BEGIN IMMEDIATE above);
    # WAL lets the web process read while a worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _guard_against_fork(engine: Engine) -> None:
    """A pooled connection must never cross a fork (``flask worker --fork``, RQ's scheduler process).

    This is SQLAlchemy's documented recipe for pools and os.fork().
    """

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection, record):
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _refuse_foreign(_dbapi_connection, record, proxy):
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection belongs to another process")


def insert_unless_exists(session: Session, entity: type[T], values: dict, key: Sequence[str]) -> T | None:
    """Insert one row; None, and nothing written, when a row with the same unique ``key`` exists.

    ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING``: one round trip where a savepoint, an
    insert and its release took three, and no failed statement to roll back. The row comes back
    as a persistent ORM object. A conflict on any other unique column still raises.
    """
    statement = _insert_unless_exists(session.get_bind().dialect.name, entity, tuple(key))
    # The values go as parameters of one statement built once: building it with .values() cost
    # about 0.4 ms of CPU per row (coercing and keying every value), more than executing it.
    return session.scalars(statement, [values]).one_or_none()


@functools.lru_cache(maxsize=64)
def _insert_unless_exists(dialect: str, entity: type, key: tuple[str, ...]):
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(entity).on_conflict_do_nothing(index_elements=list(key)).returning(entity)
