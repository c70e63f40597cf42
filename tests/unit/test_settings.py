"""Production mode refuses to run on development settings, naming each one; rotation and retention settings parse."""

from __future__ import annotations

import pytest

import settings
from support import EXAMPLE_CONFIG, TEST_ENV

STRICT_CONFIG = """
merchants:
  - slug: prod-cafe
    name: Prod Cafe
    currency: USD
    api_keys: ["${PROD_API_KEY}"]
    program: {points_per_currency_unit: 1}
    shopify: {shop_domain: prod-cafe.myshopify.com, webhook_secret: ["${PROD_SHOPIFY_SECRET}", "${PROD_OLD_SECRET}"]}
"""
GOOD = {
    "PUNCHCARD_ENV": "production",
    "DATABASE_URL": "postgres://punchcard:pw@db.internal:5432/punchcard",
    "PUBLIC_BASE_URL": "https://my-punchcard.herokuapp.com",
    "SECRET_KEY": "0123456789abcdef" * 4,
    "PROD_API_KEY": "prod-key",
    "PROD_SHOPIFY_SECRET": "prod-shopify-secret",
    "PROD_OLD_SECRET": "prod-old-secret",
}


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "merchants.yaml"
    path.write_text(STRICT_CONFIG)
    return {**GOOD, "MERCHANTS_CONFIG": str(path)}


def problems(env: dict) -> list[str]:
    return settings.production_problems(settings.load(env), env)


def test_good_production_settings_have_no_problem(good):
    assert problems(good) == []
    settings.check_production(settings.load(good), good)


def test_outside_production_mode_nothing_is_refused():
    assert problems({"DATABASE_URL": "sqlite:///x.db"}) == []


def test_sqlite_is_refused_in_production(good):
    found = problems({**good, "DATABASE_URL": "sqlite:///instance/punchcard.db"})
    assert len(found) == 1 and found[0].startswith("DATABASE_URL is SQLite")


@pytest.mark.parametrize(
    "url",
    ["http://localhost:5000", "http://127.0.0.1:8000", "https://[::1]/", "http://0.0.0.0", "http://app.localhost"],
)
def test_a_public_base_url_on_localhost_is_refused(good, url):
    found = problems({**good, "PUBLIC_BASE_URL": url})
    assert len(found) == 1 and found[0].startswith("PUBLIC_BASE_URL is") and url in found[0]


def test_an_unset_public_base_url_defaults_to_localhost_and_is_refused(good):
    env = {k: v for k, v in good.items() if k != "PUBLIC_BASE_URL"}
    assert [p for p in problems(env) if p.startswith("PUBLIC_BASE_URL")]


@pytest.mark.parametrize("key", [None, settings.DEV_SECRET_KEY])
def test_the_development_secret_key_is_refused(good, key):
    env = {k: v for k, v in good.items() if k != "SECRET_KEY"}
    if key:
        env["SECRET_KEY"] = key
    found = problems(env)
    assert len(found) == 1 and found[0].startswith("SECRET_KEY is unset or the development value")


def test_a_merchant_secret_from_a_fallback_is_refused_by_its_path(good):
    # The example config takes every secret from ${VAR:-dev-...} fallbacks when the variables are unset.
    found = problems({**good, "MERCHANTS_CONFIG": str(EXAMPLE_CONFIG)})
    named = sorted(p.split(": ", 1)[1].split(" came from")[0] for p in found)
    assert named == [
        "merchants[0].api_keys[0]",
        "merchants[0].shopify.admin_api.access_token",
        "merchants[0].shopify.webhook_secret",
        "merchants[0].toast.loyalty_api_key",
        "merchants[0].toast.webhook_secret",
    ]
    assert all("${VAR:-default} fallback" in p for p in found)


def test_a_fallback_is_no_problem_once_its_variable_is_set(good):
    assert problems({**good, **TEST_ENV, "MERCHANTS_CONFIG": str(EXAMPLE_CONFIG)}) == []


def test_a_secret_list_item_from_a_fallback_is_named_with_its_index(good, tmp_path):
    path = tmp_path / "rotating.yaml"
    path.write_text(STRICT_CONFIG.replace("${PROD_OLD_SECRET}", "${PROD_OLD_SECRET:-dev-old}"))
    found = problems({**good, "MERCHANTS_CONFIG": str(path), "PROD_OLD_SECRET": ""})
    assert len(found) == 1 and "merchants[0].shopify.webhook_secret[1] came from a ${VAR:-default}" in found[0]


def test_every_problem_is_named_at_once(good):
    env = {"PUNCHCARD_ENV": "production", "MERCHANTS_CONFIG": str(EXAMPLE_CONFIG)}
    with pytest.raises(settings.ProductionRefused) as refused:
        settings.check_production(settings.load(env), env)
    text = str(refused.value)
    for word in ("DATABASE_URL", "PUBLIC_BASE_URL", "SECRET_KEY", "merchants[0].toast.webhook_secret"):
        assert word in text
    assert len(refused.value.problems) == 8


def test_a_merchants_file_that_does_not_load_is_a_problem_in_production(good):
    found = problems({k: v for k, v in good.items() if k != "PROD_API_KEY"})
    expected = "merchants[0].api_keys[0]: environment variable PROD_API_KEY is not set"
    assert found == [f"MERCHANTS_CONFIG {good['MERCHANTS_CONFIG']}: {expected}"]


def test_secret_key_fallbacks_are_a_comma_separated_list():
    cfg = settings.load({"SECRET_KEY": "new", "SECRET_KEY_FALLBACKS": "old-1, old-2,,"})
    assert cfg.secret_key_fallbacks == ("old-1", "old-2")


def test_retention_and_rate_limit_settings_have_defaults_and_refuse_typos():
    cfg = settings.load({})
    assert (cfg.delivery_retention_days, cfg.idempotency_retention_days, cfg.api_rate_limit_per_minute) == (30, 30, 600)
    assert settings.load({"DELIVERY_RETENTION_DAYS": "45"}).delivery_retention_days == 45
    with pytest.raises(RuntimeError, match="DELIVERY_RETENTION_DAYS"):
        settings.load({"DELIVERY_RETENTION_DAYS": "30d"})
