"""``rediss://`` against a real redis-server speaking only TLS with a self-signed certificate, as Heroku Redis does.

Verification is on by default and then refuses the certificate; ``REDIS_SSL_VERIFY=false`` or
``?ssl_cert_reqs=none`` in the URL turns it off for the web's runtime, the worker (with the RQ scheduler
that runs its retries) and the cron scheduler alike, each started by its Procfile line. Naming the
certificate as a CA keeps verification on and succeeds, so the refusal is about trust, not about TLS.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import JobStatus

from app import create_app
from devtools.services import TlsFiles, free_port, start_redis
from settings import load
from support import ROOT, TEST_ENV, wait_for

REFUSED = "CERTIFICATE_VERIFY_FAILED"


@pytest.fixture(scope="module")
def tls_redis():
    """A redis-server whose only port is TLS, with a certificate made here and signed by itself."""
    workdir = tempfile.mkdtemp(prefix="punchcard-tls-redis-")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = start_redis(port, workdir, tls=TlsFiles(cert_file=cert, key_file=key, ca_file=cert))
    yield f"rediss://127.0.0.1:{port}/0", cert
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def trusted(tls_redis):
    """A client of the test's own that trusts the certificate, on an emptied database."""
    url, cert = tls_redis
    connection = Redis.from_url(f"{url}?ssl_ca_certs={cert}")
    connection.flushdb()
    yield connection
    connection.close()


# (how the process is configured, whether it may connect)
WAYS = {
    "by default the certificate is verified and refused": ("", {}, False),
    "REDIS_SSL_VERIFY=false turns verification off": ("", {"REDIS_SSL_VERIFY": "false"}, True),
    "ssl_cert_reqs=none in the URL turns it off": ("?ssl_cert_reqs=none", {}, True),
    "the certificate named as a CA is verified and trusted": ("?ssl_ca_certs={cert}", {}, True),
}


@pytest.fixture(params=sorted(WAYS))
def configured(request, tls_redis, tmp_path):
    """(environment of a Punchcard process, whether it can use the TLS Redis)."""
    url, cert = tls_redis
    query, extra, connects = WAYS[request.param]
    env = {k: v for k, v in os.environ.items() if k not in ("MERCHANTS_CONFIG", "FLASK_APP", "REDIS_SSL_VERIFY")}
    env.update(
        TEST_ENV,
        DATABASE_URL=f"sqlite:///{tmp_path}/punchcard.db",
        LOG_LEVEL="INFO",
        REDIS_URL=url + query.format(cert=cert),
        **extra,
    )
    return env, connects


def procfile(env: dict, process: str, *args: str) -> subprocess.Popen:
    """The Procfile's line for ``process`` (with ``args`` appended), run as the platform runs it."""
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    command = " ".join([lines[process].strip(), *args])
    env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    return subprocess.Popen(
        ["sh", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_web_runtime_reaches_a_tls_redis_as_configured(configured, trusted):
    env, connects = configured
    health = create_app(load(env)).test_client().get("/healthz")
    assert health.get_json()["checks"]["redis"] == ("ok" if connects else "unavailable")
    assert health.status_code == (200 if connects else 503)


def test_the_worker_and_its_retry_scheduler_reach_a_tls_redis_as_configured(configured, trusted):
    env, connects = configured
    # A retry due now sits in the scheduled registry: the worker's RQ scheduler must move it to the queue.
    due = Queue("webhooks", connection=trusted).enqueue_at(datetime.now(UTC) - timedelta(seconds=1), "time.sleep", 0)
    worker = procfile(env, "worker", "--burst")
    output, _ = worker.communicate(timeout=120)
    if connects:
        assert worker.returncode == 0, output[-3000:]
        assert due.get_status() == JobStatus.FINISHED
    else:
        assert worker.returncode != 0 and REFUSED in output
        assert due.get_status() == JobStatus.SCHEDULED


def test_the_cron_scheduler_reaches_a_tls_redis_as_configured(configured, trusted):
    env, connects = configured
    scheduler = procfile(env, "scheduler")
    maintenance = Queue("maintenance", connection=trusted)
    try:
        if connects:
            wait_for(
                lambda: "workers.jobs.sweep_deliveries" in {j.func_name for j in maintenance.get_jobs()},
                timeout=60,
                what="the sweeper enqueued by the scheduler",
            )
            scheduler.send_signal(signal.SIGTERM)
            output, _ = scheduler.communicate(timeout=30)
            assert scheduler.returncode == 0, output[-3000:]
        else:
            output, _ = scheduler.communicate(timeout=60)
            assert scheduler.returncode != 0 and REFUSED in output
            assert maintenance.count == 0
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.communicate()


@pytest.mark.parametrize(
    "value, verify",
    [
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
        ("true", True),
        ("1", True),
        ("", True),
        (None, True),
    ],
)
def test_redis_ssl_verify_reads_the_usual_spellings_of_a_boolean(value, verify):
    env = {} if value is None else {"REDIS_SSL_VERIFY": value}
    assert load(env).redis_ssl_verify is verify


def test_a_redis_ssl_verify_that_is_neither_true_nor_false_stops_the_process_naming_it():
    with pytest.raises(RuntimeError, match="REDIS_SSL_VERIFY must be true or false, not 'flase'"):
        load({"REDIS_SSL_VERIFY": "flase"})
