"""``insert_unless_exists``: the one-statement insert that ingest and the ledger rely on for idempotency."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Merchant, insert_unless_exists


def merchant(slug: str, shop: str) -> dict:
    return dict(slug=slug, name=slug.title(), currency="USD", timezone="UTC", shopify_shop_domain=shop)


def test_the_first_insert_returns_the_stored_row_with_its_defaults(database):
    with database.transaction() as session:
        row = insert_unless_exists(session, Merchant, merchant("cafe", "cafe.myshopify.com"), ("slug",))
        assert isinstance(row, Merchant) and row.id is not None
        assert row.active is True and row.program == {}  # column defaults applied
        assert session.get(Merchant, row.id) is row  # a persistent object of this session


def test_a_repeat_of_the_key_returns_none_and_changes_nothing(database):
    with database.transaction() as session:
        insert_unless_exists(session, Merchant, merchant("cafe", "cafe.myshopify.com"), ("slug",))
    with database.transaction() as session:
        assert (
            insert_unless_exists(
                session, Merchant, {**merchant("cafe", "other.myshopify.com"), "name": "New"}, ("slug",)
            )
            is None
        )
    with database.reader() as session:
        assert session.execute(select(Merchant.name, Merchant.shopify_shop_domain)).all() == [
            ("Cafe", "cafe.myshopify.com")
        ]


def test_a_conflict_on_another_unique_column_still_raises(database):
    with database.transaction() as session:
        insert_unless_exists(session, Merchant, merchant("cafe", "cafe.myshopify.com"), ("slug",))
    with pytest.raises(IntegrityError):
        with database.transaction() as session:
            insert_unless_exists(session, Merchant, merchant("bistro", "cafe.myshopify.com"), ("slug",))
    with database.reader() as session:
        assert session.execute(select(func.count()).select_from(Merchant)).scalar_one() == 1
