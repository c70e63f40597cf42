"""Identifiers moving between merchants in the real database (SQLite and PostgreSQL): never a raw database error.

A restaurant GUID or shop domain routes webhooks to one merchant; when the file gives it to another merchant
and its old owner no longer lists it (the old owner left the file, or dropped it), the new owner takes it over.
A partner API key or a reward uuid is another merchant's for good: reusing one is a validation error naming
both merchants, and nothing is written.
"""

from __future__ import annotations

import threading

import pytest
import yaml
from sqlalchemy import select, text

from models import ApiKey, Merchant, Reward, Tier, ToastRestaurant
from services.merchants.config import ConfigError, parse_config
from services.merchants.keys import hash_key
from services.merchants.sync import sync
from support import EXAMPLE_CONFIG, TEST_ENV, wait_for

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
SHOP = "demo-cafe.myshopify.com"
COLD_BREW = "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"


def example() -> dict:
    """The example file as YAML data, to edit as an operator would edit the file."""
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


def parsed(tree: dict):
    return parse_config(yaml.safe_dump(tree, sort_keys=False), TEST_ENV)


def renamed(tree: dict, slug: str = "demo-coffee", *, new_keys: bool = True, new_rewards: bool = True) -> dict:
    """The demo merchant under a new slug (a new merchant), optionally with fresh keys and reward uuids."""
    cafe = tree["merchants"][0]
    cafe["slug"] = slug
    if new_keys:
        cafe["api_keys"] = [f"{slug}-key"]
    if new_rewards:
        for n, reward in enumerate(cafe["rewards"]):
            reward["uuid"] = f"00000000-0000-4000-8000-{n:012d}"
    return tree


def bakery(**blocks) -> dict:
    return {
        "slug": "bakery",
        "name": "Bakery",
        "currency": "USD",
        "program": {"points_per_currency_unit": 1},
        "api_keys": ["bakery-key"],
        **blocks,
    }


def toast_block(*guids: str) -> dict:
    return {"restaurant_guids": list(guids), "webhook_secret": "bakery-toast", "loyalty_api_key": "bakery-loyalty"}


def owners(rt) -> dict:
    """Who holds each routing identifier: restaurant GUID -> (slug, active), shop domain -> slug."""
    with rt.db.reader() as s:
        restaurants = s.execute(
            select(ToastRestaurant.guid, Merchant.slug, ToastRestaurant.active).join(
                Merchant, Merchant.id == ToastRestaurant.merchant_id
            )
        ).all()
        domains = s.execute(
            select(Merchant.shopify_shop_domain, Merchant.slug).where(Merchant.shopify_shop_domain.is_not(None))
        ).all()
    return {"restaurants": {g: (slug, active) for g, slug, active in restaurants}, "domains": dict(domains)}


def snapshot(rt) -> list:
    with rt.db.reader() as s:
        return [
            sorted(
                repr(tuple(getattr(row, c.key) for c in model.__table__.columns))
                for row in s.execute(select(model)).scalars()
            )
            for model in (Merchant, ApiKey, ToastRestaurant, Tier, Reward)
        ]


def refused(rt, tree: dict) -> list[str]:
    before = snapshot(rt)
    with pytest.raises(ConfigError) as caught:
        sync(rt, parsed(tree))
    assert snapshot(rt) == before  # nothing was written
    return caught.value.problems


def test_a_renamed_merchant_takes_over_the_restaurant_and_shop_domain_its_old_slug_held(rt):
    sync(rt, parsed(example()))
    report = sync(rt, parsed(renamed(example())))
    assert (report.created, report.deactivated) == (["demo-coffee"], ["demo-cafe"])
    assert owners(rt) == {"restaurants": {RESTAURANT: ("demo-coffee", True)}, "domains": {SHOP: "demo-coffee"}}
    assert report.moved == [
        f"shop domain {SHOP}: demo-cafe -> demo-coffee",
        f"toast restaurant {RESTAURANT}: demo-cafe -> demo-coffee",
    ]


def test_a_restaurant_and_shop_domain_move_to_a_merchant_listed_before_their_old_owner(rt):
    tree = example()
    tree["merchants"].append(bakery())
    sync(rt, parsed(tree))
    cafe = tree["merchants"][0]
    moved = bakery(toast=toast_block(RESTAURANT), shopify={"shop_domain": SHOP, "webhook_secret": "bakery-shop"})
    del cafe["toast"], cafe["shopify"]
    sync(rt, parsed({"merchants": [moved, cafe]}))
    assert owners(rt) == {"restaurants": {RESTAURANT: ("bakery", True)}, "domains": {SHOP: "bakery"}}


def test_two_merchants_can_swap_their_shop_domains_and_restaurants_in_one_sync(rt):
    other_guid, other_shop = "5b8e2f1a-9c3d-4e7f-a0b1-c2d3e4f5a6b7", "bakery.myshopify.com"
    tree = example()
    tree["merchants"].append(
        bakery(toast=toast_block(other_guid), shopify={"shop_domain": other_shop, "webhook_secret": "bakery-shop"})
    )
    sync(rt, parsed(tree))
    cafe, baker = tree["merchants"]
    cafe["toast"]["restaurant_guids"], baker["toast"]["restaurant_guids"] = [other_guid], [RESTAURANT]
    cafe["shopify"]["shop_domain"], baker["shopify"]["shop_domain"] = other_shop, SHOP
    sync(rt, parsed(tree))
    assert owners(rt) == {
        "restaurants": {RESTAURANT: ("bakery", True), other_guid: ("demo-cafe", True)},
        "domains": {SHOP: "bakery", other_shop: "demo-cafe"},
    }


def test_a_reward_uuid_of_a_deactivated_merchant_is_refused_naming_both_merchants(rt):
    sync(rt, parsed(example()))
    problems = refused(rt, renamed(example(), new_rewards=False))
    assert (
        f"merchants[0].rewards[0].uuid: reward {COLD_BREW} is already merchant demo-cafe's (no longer in the file); "
        "demo-coffee cannot have it too: give the reward a new uuid" in problems
    )
    assert len(problems) == 4  # one line per reward of the example


def test_a_reward_uuid_of_another_listed_merchant_is_refused_naming_both_merchants(rt):
    tree = example()
    tree["merchants"].append(bakery())
    sync(rt, parsed(tree))
    cold_brew = tree["merchants"][0]["rewards"].pop(0)
    tree["merchants"][1]["rewards"] = [cold_brew]
    assert refused(rt, tree) == [
        f"merchants[1].rewards[0].uuid: reward {COLD_BREW} is already merchant "
        "demo-cafe's; bakery cannot have it too: give the reward a new uuid"
    ]


def test_a_partner_api_key_of_a_deactivated_merchant_is_refused_naming_both_merchants(rt):
    sync(rt, parsed(example()))
    problems = refused(rt, renamed(example(), new_keys=False))
    assert problems == [
        "merchants[0].api_keys[0]: this API key is already merchant demo-cafe's (no longer in the file); "
        "demo-coffee cannot have it too: generate a new key"
    ]
    assert TEST_ENV["DEMO_CAFE_API_KEY"] not in "".join(problems)


def test_a_partner_api_key_rotated_out_of_one_merchant_is_refused_for_another(rt):
    tree = example()
    tree["merchants"].append(bakery())
    sync(rt, parsed(tree))
    tree["merchants"][0]["api_keys"] = ["demo-cafe-next-key"]
    tree["merchants"][1]["api_keys"] = ["${DEMO_CAFE_API_KEY}"]
    assert refused(rt, tree) == [
        "merchants[1].api_keys[0]: this API key is already merchant demo-cafe's; "
        "bakery cannot have it too: generate a new key"
    ]


def test_a_sync_that_loses_a_race_for_an_api_key_is_refused_not_crashed(rt):
    """Another transaction takes the key between the sync's check and its insert (PostgreSQL: real row locks)."""
    if rt.db.is_sqlite:
        pytest.skip("SQLite syncs take the write lock first: no other writer can interleave")
    tree = example()
    tree["merchants"].append(bakery())
    sync(rt, parsed(tree))
    tree["merchants"][0]["api_keys"].append("contested-key")
    with rt.db.reader() as s:
        bakery_id = s.execute(select(Merchant.id).where(Merchant.slug == "bakery")).scalar_one()
    rival = rt.db.engine.connect()
    rival.execute(
        ApiKey.__table__.insert().values(merchant_id=bakery_id, key_hash=hash_key("contested-key"), active=True)
    )  # not committed yet
    outcome = {}
    syncing = threading.Thread(target=lambda: outcome.update(result=_sync_catching(rt, parsed(tree))))
    syncing.start()
    wait_for(lambda: _waiting_on_a_lock(rt), what="the sync waiting for the rival's key")
    rival.commit()
    rival.close()
    syncing.join(timeout=30)
    assert isinstance(outcome.get("result"), ConfigError)
    assert outcome["result"].problems[0].startswith("(database): the database refused the sync")
    with rt.db.reader() as s:
        assert s.execute(
            select(ApiKey.merchant_id).where(ApiKey.key_hash == hash_key("contested-key"))
        ).scalars().all() == [bakery_id]


def _sync_catching(rt, config):
    try:
        return sync(rt, config)
    except ConfigError as exc:
        return exc


def _waiting_on_a_lock(rt) -> bool:
    with rt.db.engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
        )
