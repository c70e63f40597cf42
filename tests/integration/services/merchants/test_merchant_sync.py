"""The merchants file synced into the real database (SQLite and PostgreSQL): upserts, deactivation, no deletion."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from sqlalchemy import func, select

from models import ApiKey, LedgerEntry, Member, Merchant, Reward, Tier, ToastRestaurant
from services.merchants.config import ConfigError, RewardConfig, parse_config
from services.merchants.keys import hash_key
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV

COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"
TEN_OFF_DRINKS = "3b6f1c8e-5a27-4d0b-9e4f-2c1a8d7e6b52"
RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
OTHER_MERCHANT = {
    "slug": "other-shop",
    "name": "Other Shop",
    "currency": "EUR",
    "timezone": "Europe/Paris",
    "api_keys": ["other-shop-key"],
    "program": {"points_per_currency_unit": 1},
}


def example_tree() -> dict:
    """The example file as YAML data, to edit as an operator would edit the file."""
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


def parsed(tree: dict):
    return parse_config(yaml.safe_dump(tree, sort_keys=False), TEST_ENV)


def demo(tree: dict) -> dict:
    return next(m for m in tree["merchants"] if m["slug"] == "demo-cafe")


def rows(rt, model, *where) -> list:
    with rt.db.reader() as s:
        return s.execute(select(model).where(*where)).scalars().all()


def count(rt, model) -> int:
    with rt.db.reader() as s:
        return s.scalar(select(func.count()).select_from(model))


def merchant(rt, slug: str = "demo-cafe") -> Merchant:
    return rows(rt, Merchant, Merchant.slug == slug)[0]


def reward(rt, uuid: str) -> Reward:
    return rows(rt, Reward, Reward.uuid == uuid)[0]


def snapshot(rt) -> dict:
    """Every synced row by its key, with its id and the values a sync writes."""
    return {
        "merchants": sorted((m.id, m.slug, m.name, m.active, m.shopify_shop_domain) for m in rows(rt, Merchant)),
        "api_keys": sorted((k.id, k.merchant_id, k.key_hash, k.active) for k in rows(rt, ApiKey)),
        "restaurants": sorted((r.guid, r.merchant_id, r.active) for r in rows(rt, ToastRestaurant)),
        "tiers": sorted((t.id, t.name, t.min_lifetime_points, t.multiplier, t.active) for t in rows(rt, Tier)),
        "rewards": sorted(
            (r.uuid, r.merchant_id, r.name, r.points_price, r.active, repr(r.definition)) for r in rows(rt, Reward)
        ),
    }


def test_syncing_the_example_creates_the_merchant_with_its_program_and_platforms(rt, demo_config):
    report = sync(rt, demo_config)
    assert report.created == ["demo-cafe"]
    m = merchant(rt)
    assert (m.name, m.currency, m.timezone, m.active) == ("Demo Cafe", "USD", "America/New_York", True)
    assert m.shopify_shop_domain == "demo-cafe.myshopify.com"
    assert m.program["points_per_currency_unit"] in ("10", 10)
    assert m.shopify["webhook_secret"] == TEST_ENV["DEMO_CAFE_SHOPIFY_SECRET"]
    assert m.toast["loyalty_api_key"] == TEST_ENV["DEMO_CAFE_TOAST_LOYALTY_KEY"]
    restaurants = rows(rt, ToastRestaurant)
    assert [(r.guid, r.merchant_id, r.active) for r in restaurants] == [(RESTAURANT, m.id, True)]


def test_syncing_stores_api_keys_only_as_hashes_never_the_plain_key(rt, demo_config):
    sync(rt, demo_config)
    keys = rows(rt, ApiKey)
    plain = TEST_ENV["DEMO_CAFE_API_KEY"]
    assert [(k.merchant_id, k.key_hash, k.active) for k in keys] == [(merchant(rt).id, hash_key(plain), True)]
    with rt.db.engine.connect() as conn:
        stored = [str(value) for row in conn.execute(ApiKey.__table__.select()) for value in row]
    assert not any(plain in value for value in stored)


def test_syncing_the_example_creates_its_tiers_sorted_by_threshold(rt, demo_config):
    sync(rt, demo_config)
    tiers = sorted(rows(rt, Tier), key=lambda t: t.min_lifetime_points)
    assert [(t.name, t.min_lifetime_points, t.multiplier, t.active) for t in tiers] == [
        ("Bronze", 0, Decimal("1.0"), True),
        ("Silver", 1000, Decimal("1.1"), True),
        ("Gold", 4000, Decimal("1.25"), True),
    ]
    assert {t.merchant_id for t in tiers} == {merchant(rt).id}


def test_syncing_the_example_creates_its_rewards_with_every_configured_property(rt, demo_config):
    sync(rt, demo_config)
    stored = {r.uuid: r for r in rows(rt, Reward)}
    configured = demo_config.merchants[0].rewards
    assert set(stored) == {r.uuid for r in configured}
    for cfg in configured:
        row = stored[cfg.uuid]
        assert (row.name, row.priority, row.points_price, row.active) == (
            cfg.name,
            cfg.priority,
            cfg.points_price,
            True,
        )
        assert set(row.definition) == set(RewardConfig.model_fields)
        assert row.definition == cfg.model_dump(mode="json")
    cold_brew = stored[COLD_BREW].definition
    assert cold_brew["applicable_menu_item_multi_location_ids"] == ["100000000437569098"]
    assert Decimal(str(cold_brew["maximum_discount_value"])) == Decimal("6.50")
    assert cold_brew["can_be_combined_with_other_rewards"] is False
    assert cold_brew["start_date"].startswith("2026-01-01T05:00:00")  # midnight in New York, stored in UTC
    assert stored["e5c7b9a1-4d3f-4a62-b8e0-1f2d3c4b5a69"].definition["metadata"] == {"perk": "seasonal-preview"}


def test_syncing_the_same_file_twice_changes_no_ids_and_duplicates_nothing(rt, demo_config):
    sync(rt, demo_config)
    first = snapshot(rt)
    report = sync(rt, parse_config(EXAMPLE_CONFIG.read_text(), TEST_ENV))
    assert (report.created, report.deactivated) == ([], [])
    assert snapshot(rt) == first
    assert {len(v) for v in (first["merchants"], first["api_keys"], first["restaurants"])} == {1}
    assert (len(first["tiers"]), len(first["rewards"])) == (3, 4)


def test_a_reward_removed_from_the_file_is_deactivated_not_deleted(rt, demo_config):
    sync(rt, demo_config)
    tree = example_tree()
    demo(tree)["rewards"] = [r for r in demo(tree)["rewards"] if r["uuid"] != TEN_OFF_DRINKS]
    sync(rt, parsed(tree))
    assert count(rt, Reward) == 4
    assert reward(rt, TEN_OFF_DRINKS).active is False
    assert reward(rt, COLD_BREW).active is True


def test_a_reward_put_back_in_the_file_is_reactivated(rt, demo_config):
    tree = example_tree()
    demo(tree)["rewards"] = [r for r in demo(tree)["rewards"] if r["uuid"] != TEN_OFF_DRINKS]
    sync(rt, demo_config)
    sync(rt, parsed(tree))
    sync(rt, demo_config)
    assert reward(rt, TEN_OFF_DRINKS).active is True
    assert count(rt, Reward) == 4


def test_a_merchant_removed_from_the_file_is_deactivated_with_its_api_keys(rt, demo_config):
    sync(rt, demo_config)
    report = sync(rt, parsed({"merchants": [OTHER_MERCHANT]}))
    assert report.deactivated == ["demo-cafe"]
    demo_id = merchant(rt).id
    assert merchant(rt).active is False
    assert [k.active for k in rows(rt, ApiKey, ApiKey.merchant_id == demo_id)] == [False]
    assert merchant(rt, "other-shop").active is True
    assert [k.active for k in rows(rt, ApiKey, ApiKey.merchant_id == merchant(rt, "other-shop").id)] == [True]
    assert count(rt, Reward) == 4 and count(rt, Tier) == 3


def test_members_and_ledger_entries_survive_a_sync_that_drops_their_merchant(rt, demo_config):
    sync(rt, demo_config)
    demo_id = merchant(rt).id
    with rt.db.transaction() as s:
        member = Member(merchant_id=demo_id, phone="+14155550134", points=425, lifetime_earned=425)
        s.add(member)
        s.flush()
        s.add(
            LedgerEntry(
                merchant_id=demo_id,
                member_id=member.id,
                business_key="shopify:order:1",
                type="ACCRUAL",
                status="ACTIVE",
                channel="SHOPIFY",
                points=425,
            )
        )
    before = ([(m.id, m.points) for m in rows(rt, Member)], [(e.id, e.points) for e in rows(rt, LedgerEntry)])
    sync(rt, parsed({"merchants": [OTHER_MERCHANT]}))
    after = ([(m.id, m.points) for m in rows(rt, Member)], [(e.id, e.points) for e in rows(rt, LedgerEntry)])
    assert after == before
    assert len(after[0]) == len(after[1]) == 1


def test_a_changed_tier_multiplier_updates_the_tier_row(rt, demo_config):
    sync(rt, demo_config)
    silver_id = rows(rt, Tier, Tier.name == "Silver")[0].id
    tree = example_tree()
    next(t for t in demo(tree)["program"]["tiers"] if t["name"] == "Silver")["multiplier"] = "1.5"
    sync(rt, parsed(tree))
    silver = rows(rt, Tier, Tier.name == "Silver")[0]
    assert (silver.id, silver.multiplier) == (silver_id, Decimal("1.5"))
    assert count(rt, Tier) == 3


def test_a_changed_reward_points_price_updates_the_reward_row(rt, demo_config):
    sync(rt, demo_config)
    tree = example_tree()
    next(r for r in demo(tree)["rewards"] if r["uuid"] == COLD_BREW)["points_price"] = 650
    sync(rt, parsed(tree))
    row = reward(rt, COLD_BREW)
    assert (row.points_price, row.definition["points_price"], row.active) == (650, 650, True)
    assert count(rt, Reward) == 4


def test_an_api_key_rotated_in_the_file_deactivates_the_old_key(rt, demo_config):
    sync(rt, demo_config)
    rotated = {**TEST_ENV, "DEMO_CAFE_API_KEY": "rotated-demo-key"}
    sync(rt, parse_config(EXAMPLE_CONFIG.read_text(), rotated))
    keys = {k.key_hash: k.active for k in rows(rt, ApiKey)}
    assert keys == {hash_key(TEST_ENV["DEMO_CAFE_API_KEY"]): False, hash_key("rotated-demo-key"): True}


def test_an_invalid_file_is_refused_before_anything_is_written(rt):
    tree = example_tree()
    demo(tree)["shopify"]["shop_domain"] = "demo-cafe.example.com"
    with pytest.raises(ConfigError) as refused:
        sync(rt, parsed(tree))
    assert refused.value.problems == ["merchants[0].shopify.shop_domain: must end with .myshopify.com"]
    for model in (Merchant, ApiKey, ToastRestaurant, Tier, Reward):
        assert count(rt, model) == 0


def test_a_tier_name_longer_than_its_column_is_refused_before_the_sync_writes_anything(rt):
    tree = example_tree()
    demo(tree)["program"]["tiers"][1]["name"] = "Silver " * 15  # 105 characters; the column holds 100
    with pytest.raises(ConfigError) as refused:
        sync(rt, parsed(tree))
    assert refused.value.problems == ["merchants[0].program.tiers[1].name: must be at most 100 characters"]
    assert count(rt, Merchant) == 0


def test_a_merchant_without_a_timezone_is_stored_in_utc(rt):
    sync(rt, parsed({"merchants": [{k: v for k, v in OTHER_MERCHANT.items() if k != "timezone"}]}))
    assert merchant(rt, "other-shop").timezone == "UTC"
