"""The running system as the Procfile runs it: /metrics adds up every gunicorn process and the worker; logs are JSON."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from devtools.services import free_port
from e2e_stack import signed_post
from factories import shopify_order
from support import ROOT, wait_for

BIN = Path(sys.executable).parent


def scrape(stack) -> dict[tuple, float]:
    text = requests.get(f"{stack.base_url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


ACCEPTED = (
    "punchcard_deliveries_received_total",
    (("outcome", "accepted"), ("provider", "shopify"), ("topic", "orders/paid")),
)
JOBS = ("punchcard_jobs_run_total", (("job", "process_delivery"),))
ACCRUALS = ("punchcard_ledger_postings_total", (("type", "ACCRUAL"),))


def test_metrics_count_deliveries_from_every_web_process_and_jobs_from_the_worker(stack):
    before = scrape(stack)
    n = 12
    base = random.randrange(10**9)
    for i in range(n):  # over several connections: gunicorn's two processes share them out
        order = shopify_order(order_id=base + i, email=f"metrics-{base + i}@example.com", customer={})
        assert signed_post(stack, "orders/paid", order).status_code == 200

    def moved():
        found = scrape(stack)
        return found if found.get(JOBS, 0) - before.get(JOBS, 0) >= n else None

    after = wait_for(moved, timeout=60, what="the worker's jobs on /metrics")
    assert after[ACCEPTED] - before.get(ACCEPTED, 0) == n
    assert after[JOBS] - before.get(JOBS, 0) == n
    assert after[ACCRUALS] - before.get(ACCRUALS, 0) == n


def test_gunicorn_writes_json_access_lines_carrying_the_request_id(stack, tmp_path):
    port = free_port()
    env = {**stack.env, "LOG_FORMAT": "json", "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")}
    log = open(tmp_path / "web.log", "wb")
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
            "app:create_app()",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/healthz"), timeout=30, what="gunicorn up")
        answer = requests.get(f"{url}/healthz", headers={"X-Request-ID": "req-0123456789abcdefghij"}, timeout=5)
        assert answer.headers["X-Request-ID"] == "req-0123456789abcdefghij"
        requests.get(f"{url}/m/secret-token-value?email=ada@example.com", timeout=5)

        def access_lines():
            lines = [
                json.loads(line) for line in (tmp_path / "web.log").read_text().splitlines() if line.startswith("{")
            ]
            found = [line for line in lines if line.get("path", "").startswith("/m/")]
            return lines if found else None

        lines = wait_for(access_lines, timeout=10, what="the access lines")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    [health] = [line for line in lines if line.get("request_id") == "req-0123456789abcdefghij"]
    assert (health["method"], health["path"], health["status"]) == ("GET", "/healthz", 200)
    [page] = [line for line in lines if line.get("path", "").startswith("/m/")]
    text = json.dumps(lines)
    assert page["path"] == "/m/[token]" and "secret-token-value" not in text and "ada@example.com" not in text
    assert page["request_id"]  # generated when the caller sent none


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
