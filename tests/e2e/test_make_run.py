"""``make run``'s foreground process: everything comes up healthy, and one Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from devtools.services import free_port
from support import ROOT, wait_for


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MERCHANTS_CONFIG")}
    env.update(PORT=str(port), PUNCHCARD_REDIS_PORT=str(free_port()), DATABASE_URL=f"sqlite:///{tmp_path}/run.db")
    log = open(tmp_path / "run.log", "wb")
    # Its own process group: a failing test must not leave redis, gunicorn or a worker behind.
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc, f"http://127.0.0.1:{port}", tmp_path / "run.log"
    for survivor in [proc, *_descendants(proc)]:
        try:
            survivor.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    proc.wait()


def _descendants(proc) -> list:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def healthy(base_url):
    try:
        return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_make_run_serves_healthy_and_a_single_interrupt_stops_every_child(make_run):
    proc, base_url, log = make_run
    wait_for(lambda: healthy(base_url), timeout=60)
    children = psutil.Process(proc.pid).children(recursive=True)
    names = " ".join(" ".join(c.cmdline()) for c in children)
    assert "redis-server" in names and "gunicorn" in names and "worker" in names and "app scheduler" in names
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    text = log.read_text()
    assert "warm shut down requested" in text.lower()  # RQ words it differently with and without a job in flight
    assert "Connection refused" not in text
