"""``make demo``'s script against the running system: both orders settle, and a second run changes no balance."""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT, TEST_ENV


def run_demo(stack) -> subprocess.CompletedProcess:
    env = {**os.environ, **TEST_ENV, "PUBLIC_BASE_URL": stack.base_url}
    return subprocess.run(
        [sys.executable, "-m", "devtools.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_demo_sends_a_signed_shopify_order_and_toast_check_and_prints_the_members(stack):
    first = run_demo(stack)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count('HTTP 200 {"status":"accepted"') == 2
    assert "Jon Snow <jon@example.com>" in first.stdout
    assert "shopify:order:820982911946154508: ACCRUAL +425" in first.stdout
    assert "Arya Stark <arya@example.com>" in first.stdout
    assert "toast:check:b7e4c2a1-9d3f-4e58-8a6b-2c1d0e9f8a7b: ACCRUAL +85" in first.stdout

    again = run_demo(stack)
    assert again.returncode == 0, again.stdout + again.stderr
    members = lambda out: out.split("waiting for the worker to settle them ...", 1)[1]  # noqa: E731
    assert members(again.stdout) == members(first.stdout)


def test_the_demo_says_so_when_no_server_answers(tmp_path):
    from devtools.services import free_port

    env = {**os.environ, "PUBLIC_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "No server answers" in done.stderr
