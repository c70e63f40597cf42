"""What every benchmark needs: its own Redis, a database, the release commands, and the Procfile's processes.

Nothing here is a test fixture: the processes are started exactly as the
Procfile starts them (its ``web`` and ``worker`` lines are read, not copied),
on loopback only, and everything a benchmark starts is stopped when it ends.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests

from devtools.services import TempPostgres, free_port, start_redis
from settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SHOP = "demo-cafe.myshopify.com"
SHOPIFY_SECRET = "bench-shopify-secret"
EXAMPLE_CONFIG = ROOT / "config" / "merchants.example.yaml"


def procfile_command(process: str, env: dict) -> list[str]:
    """A Procfile line as argv: ``exec`` dropped, ``${VAR:-default}`` expanded from ``env``."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            command = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m[1]) or (m[2] or ""), command)
            argv = shlex.split(command)
            return argv[1:] if argv[0] == "exec" else argv
    raise RuntimeError(f"Procfile has no {process} line")


def web_command(env: dict, port: int, app_spec: str | None = None) -> list[str]:
    """The Procfile's web line on 127.0.0.1:``port``, optionally serving another app (the bare baseline)."""
    argv = procfile_command("web", {**env, "PORT": str(port)})
    argv = [a.replace("0.0.0.0:", "127.0.0.1:") for a in argv]  # loopback only, same port
    argv[0] = str(BIN / argv[0])
    if app_spec:
        argv[-1] = app_spec  # the app is the last argument: 'app:create_app()'
    return argv


def worker_command(env: dict, name: str) -> list[str]:
    """The Procfile's worker line in burst mode (exits when the queues are empty)."""
    argv = procfile_command("worker", env)
    argv[0] = str(BIN / argv[0])
    return [*argv, "--burst", "--name", name]


_databases = itertools.count(1)


class Stack:
    """A work directory, a Redis server, a database URL and the environment of the app's processes."""

    def __init__(self, backend: str, postgres: TempPostgres | None = None, merchants: str | None = None) -> None:
        self.backend = backend
        self.work = Path(tempfile.mkdtemp(prefix=f"punchcard-bench-{backend}-"))
        self.merchants_config = EXAMPLE_CONFIG
        if merchants is not None:  # another merchants file (a provider's merchant, events on)
            self.merchants_config = self.work / "merchants.yaml"
            self.merchants_config.write_text(merchants)
        self.redis_port = free_port()
        self.redis = start_redis(self.redis_port, str(self.work / "redis"))
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.postgres = postgres
        self.database_url = self._new_database(f"bench_{os.getpid()}_{next(_databases)}")
        self.procs: list[subprocess.Popen] = []

    def _new_database(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.work}/{name}.db"
        import psycopg

        with psycopg.connect(self.postgres.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.postgres.url.rsplit("/", 1)[0] + f"/{name}"

    @property
    def sqlalchemy_url(self) -> str:
        return normalize_database_url(self.database_url)

    def env(self, **extra: str) -> dict:
        """The environment a Procfile process gets here (the example merchants, our secret)."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "MERCHANTS_CONFIG": str(self.merchants_config),
            "DEMO_CAFE_SHOPIFY_SECRET": SHOPIFY_SECRET,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            **extra,
        }

    def release(self) -> None:
        """The Procfile's release line: migrations, then the merchants sync."""
        for args in (["db", "upgrade"], ["merchants", "sync"]):
            subprocess.run(
                [str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env(), check=True, capture_output=True
            )

    def start(self, argv: list[str], log: str, **env: str) -> subprocess.Popen:
        """Start a process of ours, its output in ``log`` under the work directory."""
        with open(self.work / log, "ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env(**env), stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start_web(self, app_spec: str | None = None, log: str = "web.log") -> tuple[subprocess.Popen, str]:
        """gunicorn as the Procfile runs it; returns it and its base URL once it answers."""
        port = free_port()
        proc = self.start(web_command(self.env(), port, app_spec), log)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, proc, "/healthz" if app_spec is None else "/")
        return proc, base

    def runtime(self):
        """A Runtime on this stack's database and Redis, for seeding from the bench process."""
        import settings
        from app import build_runtime

        return build_runtime(settings.load(self.env()))

    def stop(self, proc: subprocess.Popen, timeout: float = 30) -> None:
        """SIGTERM (gunicorn and RQ shut down gracefully), SIGKILL after ``timeout``."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)
        self.redis.terminate()
        self.redis.wait(timeout=10)
        shutil.rmtree(self.work, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[TempPostgres]:
    """A throwaway PostgreSQL cluster (fsync off, as in the test suite)."""
    cluster = TempPostgres().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def stack(backend: str, cluster: TempPostgres | None = None, merchants: str | None = None) -> Iterator[Stack]:
    s = Stack(backend, cluster, merchants)
    try:
        s.release()
        yield s
    finally:
        s.close()


def wait_until_up(base: str, proc: subprocess.Popen, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(proc.args)} exited with {proc.returncode}")
        try:
            if requests.get(base + path, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not answer within {timeout}s")


# --- memory -----------------------------------------------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    """The process and its live descendants."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def peak_rss_mb(proc: psutil.Process) -> float:
    """The process's peak resident set since it started (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory_snapshot(pid: int) -> dict:
    """Per-process peak RSS, current RSS and the tree's total, in MB."""
    procs = tree(pid)
    rows = []
    for p in procs:
        try:
            rows.append(
                {
                    "pid": p.pid,
                    "name": " ".join(p.cmdline()[:3])[-60:],
                    "rss_mb": p.memory_info().rss / 2**20,
                    "peak_rss_mb": peak_rss_mb(p),
                }
            )
        except psutil.NoSuchProcess:
            continue
    return {
        "processes": rows,
        "peak_process_mb": round(max((r["peak_rss_mb"] for r in rows), default=0), 1),
        "tree_rss_mb": round(sum(r["rss_mb"] for r in rows), 1),
    }
