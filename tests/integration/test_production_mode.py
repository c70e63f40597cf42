"""PUNCHCARD_ENV=production with a bad setting: web, worker, scheduler and release each refuse to start, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.services import free_port
from support import EXAMPLE_CONFIG, ROOT, TEST_ENV

BIN = Path(sys.executable).parent
PROCESSES = {
    "web": [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{port}", "--workers", "1", "app:create_app()"],
    "worker": [str(BIN / "flask"), "--app", "app", "worker", "--burst"],
    "scheduler": [str(BIN / "flask"), "--app", "app", "scheduler"],
    "release (migrations)": [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
    "release (merchants)": [str(BIN / "flask"), "--app", "app", "merchants", "sync"],
}


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PUNCHCARD", "DATABASE", "SECRET", "PUBLIC"))}
    args = [a.format(port=free_port()) for a in args]
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_every_process_refuses_development_settings_in_production_naming_each(process, tmp_path):
    env = {
        "PUNCHCARD_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path}/punchcard.db",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "MERCHANTS_CONFIG": str(EXAMPLE_CONFIG),
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = run(PROCESSES[process], env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for named in (
        "DATABASE_URL is SQLite",
        "PUBLIC_BASE_URL is http://localhost:5000, on localhost",
        "SECRET_KEY is unset or the development value",
        "merchants[0].shopify.webhook_secret came from a ${VAR:-default} fallback",
    ):
        assert named in output, f"{process} did not name {named!r}:\n{output[-3000:]}"
    assert not (tmp_path / "punchcard.db").exists()  # refused before touching anything


@pytest.mark.postgres
def test_the_release_runs_in_production_with_good_settings(postgres_admin_url, tmp_path):
    import psycopg

    name = f"punchcard_prod_{os.getpid()}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **TEST_ENV,
        "PUNCHCARD_ENV": "production",
        "DATABASE_URL": postgres_admin_url.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgres") + f"/{name}",
        "PUBLIC_BASE_URL": "https://punchcard.example.com",
        "SECRET_KEY": os.urandom(32).hex(),
        "MERCHANTS_CONFIG": str(EXAMPLE_CONFIG),
    }
    for step in ("release (migrations)", "release (merchants)"):
        result = run(PROCESSES[step], env)
        assert result.returncode == 0, result.stderr[-3000:]
    assert "created ['demo-cafe']" in result.stdout
