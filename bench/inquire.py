"""Toast INQUIRE latency through the running app: 1,000 rewards, a 50-selection check.

Starts its own Redis, a fresh SQLite database (or ``BENCH_DATABASE_URL``), the
release commands and gunicorn as the Procfile runs it, then sends INQUIRE
requests one after another and reports p50/p99 of the round trip.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.stack import wait_until_up
from devtools.services import free_port, start_redis
from settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
KEY = "bench-loyalty-key"
ITEMS = [str(100000000437000000 + i) for i in range(200)]
GROUPS = [str(100000000171000000 + i) for i in range(20)]


def merchants_yaml(rewards: int, rng: random.Random) -> str:
    """A merchant with ``rewards`` rewards of every type over a 200-item, 20-group menu."""
    lines = [
        "merchants:",
        "  - slug: bench-cafe",
        "    name: Bench Cafe",
        "    currency: USD",
        "    timezone: America/New_York",
        "    program: {points_per_currency_unit: 10}",
        "    toast:",
        f"      restaurant_guids: [{RESTAURANT}]",
        "      webhook_secret: bench-secret",
        f"      loyalty_api_key: {KEY}",
        "    rewards:",
    ]
    kinds = ["redemption", "discount_percent_based", "discount_value_based", "access"]
    for n in range(rewards):
        kind = kinds[n % 4]
        value = {"redemption": 0, "discount_percent_based": 10, "discount_value_based": 2, "access": 0}[kind]
        items = json.dumps(rng.sample(ITEMS, 3)) if n % 3 else "[]"
        groups = json.dumps(rng.sample(GROUPS, 1)) if n % 5 == 0 else "[]"
        lines += [
            f"      - uuid: {uuid.UUID(int=rng.getrandbits(128), version=4)}",
            f"        name: Reward {n}",
            f"        priority: {n % 10}",
            f"        reward_type: {kind}",
            f"        reward_value: {value}",
            f"        points_price: {(n % 7) * 100}",
            f"        minimum_quantity: {1 + n % 2}",
            f"        can_be_combined_with_other_rewards: {'false' if n % 11 == 0 else 'true'}",
            f"        applicable_menu_item_multi_location_ids: {items}",
            f"        applicable_menu_group_multi_location_ids: {groups}",
        ]
    return "\n".join(lines) + "\n"


def check(selections: int, rng: random.Random) -> dict:
    """An open Toast check with ``selections`` selections."""

    def selection():
        price = f"{rng.randint(200, 2000) / 100:.2f}"
        return {
            "guid": str(uuid.uuid4()),
            "entityType": "MenuItemSelection",
            "quantity": 1,
            "price": float(price),
            "item": {"guid": str(uuid.uuid4()), "multiLocationId": rng.choice(ITEMS)},
            "itemGroup": {"guid": str(uuid.uuid4()), "multiLocationId": rng.choice(GROUPS)},
            "voided": False,
            "deferred": False,
        }

    return {
        "guid": str(uuid.uuid4()),
        "entityType": "Check",
        "paymentStatus": "OPEN",
        "selections": [selection() for _ in range(selections)],
    }


def run(requests_count: int = 2000, rewards: int = 1000, selections: int = 50) -> dict:
    """Measure; returns the figures."""
    rng = random.Random(42)
    work = Path(tempfile.mkdtemp(prefix="punchcard-bench-"))
    (work / "merchants.yaml").write_text(merchants_yaml(rewards, rng))
    redis_port, port = free_port(), free_port()
    redis = start_redis(redis_port, str(work / "redis"))
    database_url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{work}/bench.db")
    os.environ["PUNCHCARD_BENCH_DB"] = normalize_database_url(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MERCHANTS_CONFIG": str(work / "merchants.yaml"),
        "LOG_LEVEL": "WARNING",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    web = None
    try:
        for args in (["db", "upgrade"], ["merchants", "sync"]):
            subprocess.run(
                [str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, check=True, capture_output=True
            )
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "app:create_app()"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"http://127.0.0.1:{port}", web, "/healthz")
        return _measure(f"http://127.0.0.1:{port}", requests_count, check(selections, rng), rewards, selections)
    finally:
        if web:
            web.terminate()
            web.wait(timeout=30)
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _measure(base: str, count: int, open_check: dict, rewards: int, selections: int) -> dict:
    session = requests.Session()
    member = _post(session, base, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550134"}})
    member_id = member.json()["signupResponse"]["loyaltyIdentifier"]
    _grant(member_id)  # enough points that every reward of the catalogue is available: the worst case
    body = {"checkTransactionInformation": {"loyaltyIdentifier": member_id, "check": open_check, "redemptions": []}}
    for _ in range(50):  # warm both gunicorn workers' reward caches
        _post(session, base, "LOYALTY_INQUIRE", body)
    timings, offers = [], 0
    for _ in range(count):
        started = time.perf_counter()
        response = _post(session, base, "LOYALTY_INQUIRE", body)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        offers = len(response.json()["checkResponse"]["offers"])
    timings.sort()
    return {
        "case": "toast_inquire",
        "requests": count,
        "rewards": rewards,
        "selections": selections,
        "offers_per_response": offers,
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "max_ms": round(timings[-1], 2),
    }


def _grant(member_id: str) -> None:
    from models import Database
    from services import ledger, members

    db = Database(os.environ["PUNCHCARD_BENCH_DB"])
    with db.transaction() as s:
        ledger.post(
            s,
            members.lock(s, member_id),
            ledger.Posting(key="bench-grant", points=10**7, type="ADDITION", channel="admin"),
            datetime.now(UTC),
        )
    db.dispose()


def _post(session, base, kind, body):
    headers = {
        "Authorization": KEY,
        "Toast-Restaurant-External-ID": RESTAURANT,
        "Toast-Transaction-Type": kind,
        "Toast-Transaction-GUID": str(uuid.uuid4()),
    }
    return session.post(f"{base}/webhooks/toast/loyalty", json=body, headers=headers, timeout=10)
