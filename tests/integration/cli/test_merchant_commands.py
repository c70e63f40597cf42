"""The merchants commands as an operator runs them: `flask --app app ...` in a subprocess, on a fresh SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
import yaml

from support import EXAMPLE_CONFIG, ROOT, TEST_ENV

SHOP_DOMAIN_PROBLEM = "merchants[0].shopify.shop_domain: must end with .myshopify.com"
REWARD_TYPE_PROBLEM = (
    "merchants[1].rewards[2].reward_type: must be one of redemption, discount_percent_based, "
    "discount_value_based, access"
)
SYNCED_TABLES = ("merchants", "api_keys", "toast_restaurants", "tiers", "rewards")


def flask(db_file, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MERCHANTS_CONFIG", "DATABASE_URL", "FLASK_APP")}
    env.update(TEST_ENV, DATABASE_URL=f"sqlite:///{db_file}", LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(db_file) -> dict[str, int]:
    with sqlite3.connect(db_file) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in SYNCED_TABLES}


@pytest.fixture
def db_file(tmp_path):
    """A fresh SQLite file, migrated with `flask db upgrade`."""
    path = tmp_path / "punchcard.db"
    upgraded = flask(path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return path


@pytest.fixture
def broken_file(tmp_path):
    """The example and a second merchant: a bad shop domain on the first, a bad reward type on the second's."""
    tree = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    tree["merchants"][0]["shopify"]["shop_domain"] = "demo-cafe.example.com"
    rewards = [
        {
            "uuid": f"00000000-0000-4000-8000-00000000000{i}",
            "name": f"Reward {i}",
            "reward_type": "access",
            "points_price": 100,
        }
        for i in range(3)
    ]
    rewards[2]["reward_type"] = "free_coffee"
    tree["merchants"].append(
        {
            "slug": "other-shop",
            "name": "Other Shop",
            "currency": "EUR",
            "timezone": "Europe/Paris",
            "program": {"points_per_currency_unit": 1},
            "rewards": rewards,
        }
    )
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def test_validate_accepts_the_example_file_and_says_ok(tmp_path):
    result = flask(tmp_path / "unused.db", "merchants", "validate", "config/merchants.example.yaml")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_a_broken_file_is_refused_with_every_problem_by_path_and_sync_writes_nothing(db_file, broken_file):
    validated = flask(db_file, "merchants", "validate", str(broken_file))
    assert validated.returncode != 0
    lines = (validated.stdout + validated.stderr).splitlines()
    assert SHOP_DOMAIN_PROBLEM in lines
    assert REWARD_TYPE_PROBLEM in lines
    synced = flask(db_file, "merchants", "sync", str(broken_file))
    assert synced.returncode != 0
    assert SHOP_DOMAIN_PROBLEM in (synced.stdout + synced.stderr).splitlines()
    assert counts(db_file) == dict.fromkeys(SYNCED_TABLES, 0)


def test_sync_of_the_default_file_succeeds_twice_and_the_second_run_adds_nothing(db_file):
    first = flask(db_file, "merchants", "sync")
    assert first.returncode == 0, first.stderr
    after_first = counts(db_file)
    assert after_first == {"merchants": 1, "api_keys": 1, "toast_restaurants": 1, "tiers": 3, "rewards": 4}
    second = flask(db_file, "merchants", "sync")
    assert second.returncode == 0, second.stderr
    assert counts(db_file) == after_first


def renamed_file(tmp_path, *, keep_reward_uuids: bool):
    """The example under a new slug with a new API key, keeping (or not) its reward uuids."""
    tree = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    cafe = tree["merchants"][0]
    cafe["slug"], cafe["api_keys"] = "demo-coffee", ["demo-coffee-key"]
    if not keep_reward_uuids:
        for n, reward in enumerate(cafe["rewards"]):
            reward["uuid"] = f"00000000-0000-4000-8000-{n:012d}"
    path = tmp_path / "renamed.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def test_sync_refuses_reward_uuids_another_merchant_holds_and_writes_nothing(db_file, tmp_path):
    assert flask(db_file, "merchants", "sync").returncode == 0
    before = counts(db_file)
    synced = flask(db_file, "merchants", "sync", str(renamed_file(tmp_path, keep_reward_uuids=True)))
    assert synced.returncode == 1
    lines = synced.stderr.splitlines()
    assert (
        "merchants[0].rewards[0].uuid: reward 7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11 is already merchant "
        "demo-cafe's (no longer in the file); demo-coffee cannot have it too: give the reward a new uuid"
    ) in lines
    assert lines[-1].endswith("4 problem(s); nothing was written")
    assert "Traceback" not in synced.stderr and "IntegrityError" not in synced.stderr
    assert counts(db_file) == before


def test_sync_of_a_renamed_merchant_moves_its_restaurant_and_shop_domain_and_says_so(db_file, tmp_path):
    assert flask(db_file, "merchants", "sync").returncode == 0
    synced = flask(db_file, "merchants", "sync", str(renamed_file(tmp_path, keep_reward_uuids=False)))
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.splitlines()[:2] == [
        "moved shop domain demo-cafe.myshopify.com: demo-cafe -> demo-coffee",
        "moved toast restaurant 0cd990c9-fd74-461d-8468-de2a0919ccbb: demo-cafe -> demo-coffee",
    ]
    with sqlite3.connect(db_file) as conn:
        owner = conn.execute(
            "SELECT m.slug FROM toast_restaurants r JOIN merchants m ON m.id = r.merchant_id"
        ).fetchall()
    assert owner == [("demo-coffee",)]


def test_validate_names_the_path_of_a_timezone_that_is_not_an_iana_zone(tmp_path):
    tree = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    tree["merchants"][0]["timezone"] = "Mars/Olympus_Mons"
    path = tmp_path / "zone.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    validated = flask(tmp_path / "unused.db", "merchants", "validate", str(path))
    assert validated.returncode == 1
    assert "merchants[0].timezone: must be an IANA time zone such as America/New_York" in validated.stderr.splitlines()
