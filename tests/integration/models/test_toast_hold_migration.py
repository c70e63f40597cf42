"""Toast holds taken before they had a time to live get one when the database is migrated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from models import Database, LedgerEntry, Member, Merchant, Redemption
from support import create_database, upgrade_database

BEFORE = "5e1f0a9c2b71"  # the revision before Toast holds expired
TAKEN = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_database(request):
    url = create_database(request.param, request, revision=BEFORE)
    db = Database(url)
    yield url, db
    db.dispose()


def seed(db, program: dict) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            insert(Merchant.__table__).values(
                id=1, slug="m", name="M", currency="USD", timezone="UTC", program=program, config_version=""
            )
        )
        conn.execute(
            insert(Member.__table__).values(
                id="mem_1", merchant_id=1, held_points=500, created_at=TAKEN, updated_at=TAKEN
            )
        )
        for key, channel, status in (
            ("toast", "toast_loyalty", "HELD"),
            ("done", "toast_loyalty", "COMMITTED"),
            ("api", "partner_api", "HELD"),
        ):
            conn.execute(
                insert(LedgerEntry.__table__).values(
                    id=f"txn_{key}",
                    merchant_id=1,
                    member_id="mem_1",
                    business_key=f"{key}:hold",
                    type="HOLD",
                    status=status,
                    channel=channel,
                    points=-500,
                    created_at=TAKEN,
                )
            )
            conn.execute(
                insert(Redemption.__table__).values(
                    id=f"rdm_{key}",
                    merchant_id=1,
                    member_id="mem_1",
                    reward_uuid="r",
                    points=500,
                    hold_entry_id=f"txn_{key}",
                    channel=channel,
                    source_key=key,
                    created_at=TAKEN,
                    state="initiated" if status == "HELD" else "redeemed",
                )
            )


def expiries(db) -> dict[str, tuple[datetime | None, datetime | None]]:
    with db.reader() as s:
        rows = s.execute(
            select(LedgerEntry.id, LedgerEntry.expires_at, Redemption.expires_at).join(
                Redemption, Redemption.hold_entry_id == LedgerEntry.id
            )
        ).all()
    return {entry_id: (entry_expiry, redemption_expiry) for entry_id, entry_expiry, redemption_expiry in rows}


@pytest.mark.parametrize(
    "program, ttl", [({}, timedelta(days=1)), ({"toast_hold_ttl_seconds": 600}, timedelta(seconds=600))]
)
def test_a_toast_hold_still_held_gets_the_programs_time_to_live_from_when_it_was_taken(old_database, program, ttl):
    url, db = old_database
    seed(db, program)
    upgrade_database(url)
    assert expiries(db) == {"txn_toast": (TAKEN + ttl, TAKEN + ttl), "txn_done": (None, None), "txn_api": (None, None)}
