"""The running system as processes (release phase, gunicorn web, RQ worker) and a fake Shopify over HTTP.

The fake Shopify (``FakeShopifyAdmin``) lives in tests/shopify_fake.py, shared with the integration tier.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from fake_receiver import SECRET as EVENTS_SECRET

from devtools.services import free_port
from shopify_fake import FakeShopifyAdmin
from support import ROOT, TEST_ENV, wait_for

BIN = Path(sys.executable).parent


class Stack:
    """Web and worker processes started the way the Procfile starts them."""

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        shopify: FakeShopifyAdmin,
        extra_merchants: str = "",
        events_url: str | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.logdir = tempfile.mkdtemp(prefix="punchcard-e2e-")
        config = (
            (ROOT / "config" / "merchants.example.yaml")
            .read_text()
            .replace("https://demo-cafe.myshopify.com   #", f"{shopify.base_url}   #")
        )
        if events_url:  # the demo merchant's webhooks_out: every event type, to the suite's receiver
            keys = "      - ${DEMO_CAFE_API_KEY:-demo-cafe-dev-key}\n"
            config = config.replace(
                keys, f"{keys}    webhooks_out: [{{url: '{events_url}', secret: {EVENTS_SECRET}}}]\n", 1
            )
        config_path = Path(self.logdir) / "merchants.yaml"
        config_path.write_text(config + extra_merchants)  # more entries of the merchants list
        self.env = {
            **os.environ,
            **TEST_ENV,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "MERCHANTS_CONFIG": str(config_path),
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.procs: list[subprocess.Popen] = []

    def release(self) -> None:
        flask = [str(BIN / "flask"), "--app", "app"]
        for args in (["db", "upgrade"], ["merchants", "sync"]):
            subprocess.run([*flask, *args], env=self.env, cwd=ROOT, check=True, capture_output=True)

    def start(self) -> Stack:
        self.release()
        self._spawn(
            "web", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "app:create_app()"]
        )
        self._spawn("worker", [str(BIN / "flask"), "--app", "app", "worker"])
        try:
            self._wait_healthy()
        except RuntimeError:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(Path(self.logdir) / f"{name}.log", "wb")
        # Its own process group, so that stop() ends the gunicorn workers and RQ's scheduler with it.
        self.procs.append(
            subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def _wait_healthy(self, timeout: float = 30) -> None:
        try:
            wait_for(
                lambda: self._healthy() or any(p.poll() is not None for p in self.procs),
                timeout=timeout,
                what="web healthy",
            )
        except AssertionError:
            raise RuntimeError(f"web did not become healthy; logs in {self.logdir}") from None
        if not self._healthy():
            raise RuntimeError(f"a process of the stack exited; logs in {self.logdir}")

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    def logs(self, name: str) -> str:
        return (Path(self.logdir) / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM every process group, as Heroku stops a dyno; SIGKILL what is left after 30 s."""
        for proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # children that outlived their parent too
            proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def signed_post(stack: Stack, topic: str, payload: dict, webhook_id: str | None = None) -> requests.Response:
    """POST a delivery to the running app exactly as Shopify signs it."""
    from factories import encode, shopify_headers

    body = encode(payload)
    webhook_id = webhook_id or f"wh-{time.monotonic_ns()}"
    return requests.post(
        f"{stack.base_url}/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id), timeout=10
    )
