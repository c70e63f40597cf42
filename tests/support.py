"""Constants and helpers shared by the tiers of the suite."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

from settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "merchants.example.yaml"
TEST_ENV = {
    "DEMO_CAFE_API_KEY": "test-demo-key",
    "DEMO_CAFE_SHOPIFY_SECRET": "test-shopify-secret",
    "DEMO_CAFE_SHOPIFY_TOKEN": "shpat_test_token",
    "DEMO_CAFE_TOAST_WEBHOOK_SECRET": "test-toast-secret",
    "DEMO_CAFE_TOAST_LOYALTY_KEY": "test-toast-loyalty-key",
}
SHOP = "demo-cafe.myshopify.com"


def create_database(kind: str, request, revision: str = "head") -> str:
    """A fresh database of ``kind`` (sqlite | postgresql) migrated to ``revision``; returns its SQLAlchemy URL."""
    name = f"punchcard_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='punchcard-db-')}/{name}.db"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = normalize_database_url(admin.rsplit("/", 1)[0] + f"/{name}")
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
    return url


def upgrade_database(url: str) -> None:
    """Migrate the database at ``url`` to the newest revision."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


# A second merchant, for tenancy: its key must never see the demo merchant's data, nor the reverse.
OTHER_MERCHANT = """
merchants:
  - slug: other-bakery
    name: Other Bakery
    currency: USD
    timezone: America/Chicago
    api_keys: [other-bakery-key]
    program: {points_per_currency_unit: 1}
    shopify: {shop_domain: other-bakery.myshopify.com, webhook_secret: other-secret}
"""


def wait_for(predicate, timeout: float = 20, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:.0f}s")
        time.sleep(interval)
