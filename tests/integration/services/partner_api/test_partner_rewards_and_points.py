"""Partner API rewards, redemptions, points, transactions and tiers, as a Hang client would use them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models import Member
from services import ledger
from services.ledger import schedule as ledger_jobs
from services.merchants.config import parse_config
from services.merchants.sync import sync

V2 = "/partner-api/v2"
CAFE = {"X-API-Key": "corner-key"}
BAKERY = {"X-API-Key": "bakery-key"}
DELI = {"X-API-Key": "deli-key"}
BAGEL, COFFEE, WEEKLY = (
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
)
SUMMER, SPRING, FEAST = (
    "00000000-0000-4000-8000-000000000004",
    "00000000-0000-4000-8000-000000000005",
    "00000000-0000-4000-8000-000000000006",
)
BUN = "00000000-0000-4000-8000-000000000007"
CONFIG = f"""
merchants:
  - slug: corner-cafe
    name: Corner Cafe
    currency: USD
    timezone: America/New_York
    api_keys: [corner-key]
    program:
      points_per_currency_unit: 10
      rounding: floor
      hold_ttl_seconds: 600
      tiers:
        - {{name: Bronze, min_lifetime_points: 0, multiplier: 1}}
        - {{name: Silver, min_lifetime_points: 1000, multiplier: 1.5}}
    rewards:
      - {{uuid: {COFFEE}, name: Coffee, priority: 1, reward_type: redemption, points_price: 100}}
      - {{uuid: {BAGEL}, name: Bagel, priority: 1, reward_type: redemption, points_price: 100, limit: 1}}
      - {{uuid: {WEEKLY}, name: Weekly Treat, priority: 2, reward_type: discount_value_based, reward_value: 2.50,
          points_price: 50, interval: 7}}
      - {{uuid: {SUMMER}, name: Summer Preview, priority: 3, reward_type: access, points_price: 0,
          start_date: 2026-07-01}}
      - {{uuid: {SPRING}, name: Spring Preview, priority: 3, reward_type: access, points_price: 0,
          start_date: 2026-03-01, end_date: 2026-05-01}}
      - uuid: {FEAST}
        name: Feast
        priority: 4
        description: Enjoy 15% off some item
        reward_type: discount_percent_based
        reward_value: 15
        maximum_discount_value: 15.25
        points_price: 5000
        redemption_method: code
        redemption_instruction: Use this code at checkout
        image_url: https://example.com/images/feast.jpg
        video_url: https://example.com/images/feast.mp4
        terms_and_conditions: Only valid on weekdays
        achievement_id: 1
        can_be_combined_with_other_rewards: false
        applicable_menu_item_multi_location_ids: ["100000000437569098"]
        applicable_menu_group_multi_location_ids: ["100000000171239911"]
        minimum_quantity: 2
        metadata: {{internal_info: anything}}
  - slug: late-deli
    name: Late Deli
    currency: USD
    timezone: UTC
    api_keys: [deli-key]
    program: {{points_per_currency_unit: 1, pending_days: 3}}
  - slug: other-bakery
    name: Other Bakery
    currency: USD
    timezone: America/Chicago
    api_keys: [bakery-key]
    program: {{points_per_currency_unit: 1}}
    rewards:
      - {{uuid: {BUN}, name: Bun, reward_type: redemption, points_price: 10}}
"""
SEED_001_PROPERTIES = {
    "uuid",
    "name",
    "priority",
    "description",
    "redemption_instruction",
    "redemption_method",
    "redemption_count",
    "interval",
    "limit",
    "start_date",
    "end_date",
    "reward_type",
    "reward_value",
    "maximum_discount_value",
    "last_redeemed_at",
    "image_url",
    "video_url",
    "terms_and_conditions",
    "achievement_id",
    "can_be_combined_with_other_rewards",
    "applicable_menu_item_multi_location_ids",
    "applicable_menu_group_multi_location_ids",
    "minimum_quantity",
    "metadata",
}


@pytest.fixture
def shops(rt):
    sync(rt, parse_config(CONFIG, {}))


@pytest.fixture
def member(rt, shops, clock):
    """Make a member of ``slug`` holding ``points`` spendable points; returns its id."""

    def make(points: int = 0, slug: str = "corner-cafe") -> str:
        from sqlalchemy import select

        from models import Merchant

        with rt.db.transaction() as session:
            merchant_id = session.execute(select(Merchant.id).where(Merchant.slug == slug)).scalar_one()
            row = Member(
                merchant_id=merchant_id, external_user_id=str(uuid.uuid4()), created_at=clock.now, updated_at=clock.now
            )
            session.add(row)
            session.flush()
            if points:
                ledger.post(
                    session,
                    row,
                    ledger.Posting(
                        key=f"seed:{row.id}", points=points, type="ADDITION", channel="admin", activates_at=clock.now
                    ),
                    clock.now,
                )
            return row.id

    return make


def spendable(client, member_id, headers=CAFE) -> int:
    return client.get(f"{V2}/program-memberships/{member_id}/level", headers=headers).get_json()["spendable_balance"]


def rewards(client, member_id, query="", headers=CAFE) -> list[dict]:
    response = client.get(f"{V2}/program-memberships/{member_id}/rewards{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rewards"]


def redeem_reward(client, member_id, reward_id, headers=CAFE, **body):
    return client.post(
        f"{V2}/program-memberships/{member_id}/redemptions", json={"reward_id": reward_id, **body}, headers=headers
    )


def adjust(client, member_id, headers=CAFE, **body):
    return client.post(f"{V2}/program-memberships/{member_id}/points", json=body, headers=headers)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# --- rewards --------------------------------------------------------------------


def test_a_reward_carries_every_property_of_hangs_document_plus_its_price_and_availability(client, member):
    feast = next(r for r in rewards(client, member(6000)) if r["uuid"] == FEAST)
    assert SEED_001_PROPERTIES | {"points_price", "available", "reason"} == set(feast)
    assert feast == {
        **feast,
        "name": "Feast",
        "priority": 4,
        "reward_value": 15,
        "maximum_discount_value": 15.25,
        "achievement_id": "1",
        "can_be_combined_with_other_rewards": False,
        "minimum_quantity": 2,
        "applicable_menu_item_multi_location_ids": ["100000000437569098"],
        "metadata": {"internal_info": "anything"},
        "redemption_count": 0,
        "last_redeemed_at": None,
        "start_date": None,
        "end_date": None,
        "points_price": 5000,
        "available": True,
        "reason": None,
    }


def test_only_the_available_rewards_are_listed_by_priority_then_name(client, member):
    listed = rewards(client, member(300))
    assert [r["name"] for r in listed] == ["Bagel", "Coffee", "Weekly Treat"]
    assert all(r["available"] for r in listed)


def test_include_all_adds_the_unavailable_rewards_each_with_its_reason(client, member):
    member_id = member(300)
    for reward_id in (BAGEL, WEEKLY):
        redemption = redeem_reward(client, member_id, reward_id).get_json()["redemption"]
        client.post(f"{V2}/redemptions/{redemption['id']}/redeem", headers=CAFE)
    listed = {r["name"]: r for r in rewards(client, member_id, "?include=all")}
    assert {name: r["reason"] for name, r in listed.items()} == {
        "Bagel": "LIMIT_REACHED",
        "Coffee": None,
        "Weekly Treat": "INTERVAL",
        "Spring Preview": "ENDED",
        "Summer Preview": "NOT_STARTED",
        "Feast": "INSUFFICIENT_POINTS",
    }
    assert [r["available"] for r in listed.values()] == [False, True, False, False, False, False]
    assert listed["Summer Preview"]["start_date"] == epoch(datetime(2026, 7, 1, 4, tzinfo=UTC))


# --- redemptions ------------------------------------------------------------------


def test_a_redemption_holds_the_price_until_redeemed_then_the_members_count_moves(client, member, clock):
    member_id = member(300)
    created = redeem_reward(client, member_id, COFFEE)
    assert created.status_code == 201
    redemption = created.get_json()["redemption"]
    assert {k: redemption[k] for k in ("state", "reward_id", "points", "expires_at")} == {
        "state": "initiated",
        "reward_id": COFFEE,
        "points": 100,
        "expires_at": epoch(clock.now) + 600,
    }
    assert redemption["id"].startswith("rdm_") and spendable(client, member_id) == 200
    assert next(r for r in rewards(client, member_id) if r["uuid"] == COFFEE)["redemption_count"] == 0

    clock.now += timedelta(minutes=1)
    redeemed = client.post(f"{V2}/redemptions/{redemption['id']}/redeem", headers=CAFE)
    assert redeemed.status_code == 200 and redeemed.get_json()["redemption"]["state"] == "redeemed"
    again = client.post(f"{V2}/redemptions/{redemption['id']}/redeem", headers=CAFE)
    assert (again.status_code, again.get_json()) == (200, redeemed.get_json())
    coffee = next(r for r in rewards(client, member_id) if r["uuid"] == COFFEE)
    assert (coffee["redemption_count"], coffee["last_redeemed_at"]) == (1, epoch(clock.now))
    assert spendable(client, member_id) == 200


@pytest.mark.parametrize("redeem_first", [False, True])
def test_a_void_gives_the_points_back_whether_held_or_redeemed_and_a_repeat_changes_nothing(
    client, member, redeem_first
):
    member_id = member(300)
    redemption_id = redeem_reward(client, member_id, COFFEE).get_json()["redemption"]["id"]
    if redeem_first:
        client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=CAFE)
    voided = client.post(f"{V2}/redemptions/{redemption_id}/void", headers=CAFE)
    assert voided.status_code == 200 and voided.get_json()["redemption"]["state"] == "voided"
    assert spendable(client, member_id) == 300
    again = client.post(f"{V2}/redemptions/{redemption_id}/void", headers=CAFE)
    assert (again.status_code, again.get_json()) == (200, voided.get_json())
    assert spendable(client, member_id) == 300
    refused = client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=CAFE)
    assert (refused.status_code, refused.get_json()["error"]) == (422, "REDEMPTION_VOIDED")


def test_a_reward_dearer_than_the_spendable_balance_is_refused_with_a_422_and_changes_nothing(client, member):
    member_id = member(4999)
    response = redeem_reward(client, member_id, FEAST)
    body = response.get_json()
    assert response.status_code == 422
    assert (body["error"], body["reason"]) == ("INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD", "INSUFFICIENT_POINTS")
    assert spendable(client, member_id) == 4999


def test_a_reward_at_its_limit_or_inside_its_interval_is_not_available_with_the_reason(client, member, clock):
    member_id = member(1000)
    assert redeem_reward(client, member_id, BAGEL).status_code == 201  # initiated: the one use is reserved
    refused = redeem_reward(client, member_id, BAGEL).get_json()
    assert (refused["error"], refused["reason"]) == ("REWARD_NOT_AVAILABLE", "LIMIT_REACHED")
    weekly = redeem_reward(client, member_id, WEEKLY).get_json()["redemption"]
    client.post(f"{V2}/redemptions/{weekly['id']}/redeem", headers=CAFE)
    clock.now += timedelta(days=6, hours=23)
    assert redeem_reward(client, member_id, WEEKLY).get_json()["reason"] == "INTERVAL"
    clock.now += timedelta(hours=1)
    assert redeem_reward(client, member_id, WEEKLY).status_code == 201


def test_a_reward_not_started_or_ended_is_refused_and_an_unknown_one_is_a_404(client, member):
    member_id = member(100)
    assert redeem_reward(client, member_id, SUMMER).get_json()["reason"] == "NOT_STARTED"
    assert redeem_reward(client, member_id, SPRING).get_json()["reason"] == "ENDED"
    assert redeem_reward(client, member_id, str(uuid.uuid4())).status_code == 404


def test_a_redemption_past_its_time_to_live_cannot_be_redeemed_and_the_hold_job_gives_the_points_back(
    rt, client, member, clock
):
    member_id = member(300)
    redemption_id = redeem_reward(client, member_id, COFFEE).get_json()["redemption"]["id"]
    clock.now += timedelta(seconds=600)
    late = client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=CAFE)
    assert (late.status_code, late.get_json()["error"]) == (422, "REDEMPTION_EXPIRED")
    assert ledger_jobs.expire_holds(rt) == 1
    assert spendable(client, member_id) == 300
    assert (
        client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=CAFE).get_json()["error"] == "REDEMPTION_VOIDED"
    )


def test_a_redemption_replayed_with_its_key_answers_the_first_redemption_and_holds_once(client, member):
    member_id = member(300)
    first = redeem_reward(client, member_id, COFFEE, idempotency_key="pos-42")
    replay = client.post(
        f"{V2}/program-memberships/{member_id}/redemptions",
        json={"reward_id": COFFEE},
        headers={**CAFE, "Idempotency-Key": "pos-42"},
    )
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == first.get_json() and spendable(client, member_id) == 200
    reused = redeem_reward(client, member_id, WEEKLY, idempotency_key="pos-42")
    assert (reused.status_code, reused.get_json()["error"]) == (409, "IDEMPOTENCY_KEY_REUSED")


# --- points -----------------------------------------------------------------------


def test_an_activity_accrues_by_the_rate_with_rounding_and_the_tier_multiplier(client, member, clock):
    member_id = member()
    body = {"idempotency_key": "sale-1", "activity": {"value": 12.349, "transaction_timestamp": epoch(clock.now)}}
    first = client.post(f"{V2}/program-memberships/{member_id}/activities", json=body, headers=CAFE)
    assert first.status_code == 201
    assert {k: first.get_json()["transaction"][k] for k in ("type", "points", "status", "channel")} == {
        "type": "ACCRUAL",
        "points": 123,
        "status": "ACTIVE",
        "channel": "partner_api",
    }
    replay = client.post(f"{V2}/program-memberships/{member_id}/activities", json=body, headers=CAFE)
    assert (replay.status_code, replay.get_json()) == (200, first.get_json())
    adjust(client, member_id, points=900)  # lifetime 1023: Silver, 1.5 points per point
    body = {"idempotency_key": "sale-2", "activity": {"value": "10.01", "transaction_timestamp": epoch(clock.now)}}
    second = client.post(f"{V2}/program-memberships/{member_id}/activities", json=body, headers=CAFE).get_json()
    assert second["transaction"]["points"] == 150  # floor(10.01 * 10 * 1.5)
    assert second["balance"] == {"points": 1173, "pending_points": 0}


@pytest.mark.parametrize("scale", [1, 1000])
def test_an_activitys_timestamp_in_seconds_or_milliseconds_starts_the_same_pending_window(client, member, clock, scale):
    member_id = member(slug="late-deli")
    bought = clock.now - timedelta(days=2)
    body = {
        "idempotency_key": f"deli-{scale}",
        "activity": {"value": "20.00", "transaction_timestamp": epoch(bought) * scale},
    }
    written = client.post(f"{V2}/program-memberships/{member_id}/activities", json=body, headers=DELI).get_json()
    end_of_window = datetime(2026, 6, 2, 23, 59, 59, tzinfo=UTC)  # bought May 30, three days pending
    assert (written["transaction"]["status"], written["transaction"]["activates_at"]) == (
        "PENDING",
        epoch(end_of_window),
    )
    assert written["balance"] == {"points": 0, "pending_points": 20}


def test_an_activity_needs_an_idempotency_key(client, member, clock):
    body = {"activity": {"value": 5, "transaction_timestamp": epoch(clock.now)}}
    response = client.post(f"{V2}/program-memberships/{member()}/activities", json=body, headers=CAFE)
    assert (response.status_code, response.get_json()["error"]) == (400, "MISSING_REQUIRED_PARAMETERS")


def test_adjustments_add_and_remove_points_and_a_removal_beyond_the_balance_is_a_422(client, member, clock):
    member_id = member()
    added = adjust(client, member_id, points=250, reason="welcome gift", expiration_date="2026-12-31")
    assert added.status_code == 201
    entry = added.get_json()["transaction"]
    assert (entry["type"], entry["reference"], entry["status"]) == ("ADDITION", "welcome gift", "ACTIVE")
    assert entry["expires_at"] == epoch(datetime(2027, 1, 1, 5, tzinfo=UTC)) - 1  # end of day, New York
    removed = adjust(client, member_id, points=-100, reason="correction").get_json()
    assert (removed["transaction"]["type"], removed["balance"]) == ("REMOVAL", {"points": 150, "pending_points": 0})
    refused = adjust(client, member_id, points=-151)
    assert (refused.status_code, refused.get_json()["error"]) == (422, "INSUFFICIENT_POINTS")
    assert adjust(client, member_id, points=0).status_code == 400
    assert spendable(client, member_id) == 150


def test_an_addition_with_a_future_activation_date_is_pending_until_then(client, member):
    member_id = member()
    written = adjust(client, member_id, points=40, activation_date="2026-06-10").get_json()
    assert written["transaction"]["status"] == "PENDING"
    assert written["balance"] == {"points": 0, "pending_points": 40}
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=CAFE).get_json()
    assert card["next_activation"] == {"points": 40, "date": "2026-06-10"}


def test_a_temporary_debit_is_a_hold_that_commits_once(client, member, clock):
    member_id = member(300)
    held = adjust(client, member_id, points=-120, is_temp=True, temp_timeout_sec=60).get_json()
    txn = held["transaction"]
    assert (txn["type"], txn["status"], txn["points"]) == ("HOLD", "HELD", -120)
    assert txn["expires_at"] == epoch(clock.now) + 60 and held["balance"]["points"] == 180
    committed = client.post(f"{V2}/transactions/{txn['id']}/commit", headers=CAFE)
    assert committed.status_code == 200 and committed.get_json()["transaction"]["status"] == "COMMITTED"
    again = client.post(f"{V2}/transactions/{txn['id']}/commit", headers=CAFE)
    assert again.get_json() == committed.get_json() and spendable(client, member_id) == 180
    refused = client.post(f"{V2}/transactions/{txn['id']}/rollback", headers=CAFE)
    assert (refused.status_code, refused.get_json()["error"]) == (422, "TRANSACTION_NOT_HELD")


def test_a_temporary_debit_rolled_back_gives_the_points_back_once(client, member):
    member_id = member(300)
    txn = adjust(client, member_id, points=-120, is_temp=True).get_json()["transaction"]
    rolled = client.post(f"{V2}/transactions/{txn['id']}/rollback", headers=CAFE)
    back = rolled.get_json()
    assert rolled.status_code == 201
    assert (back["transaction"]["type"], back["transaction"]["points"], back["transaction"]["reverses_id"]) == (
        "REVERSAL",
        120,
        txn["id"],
    )
    again = client.post(f"{V2}/transactions/{txn['id']}/rollback", headers=CAFE)
    assert (again.status_code, again.get_json()) == (200, back)
    assert spendable(client, member_id) == 300
    assert client.post(f"{V2}/transactions/{txn['id']}/commit", headers=CAFE).status_code == 422


def test_a_temporary_debit_left_alone_is_rolled_back_after_the_programs_hold_ttl(rt, client, member, clock):
    member_id = member(300)
    txn = adjust(client, member_id, points=-120, is_temp=True).get_json()["transaction"]
    assert txn["expires_at"] == epoch(clock.now) + 600
    clock.now += timedelta(seconds=600)
    assert (
        client.post(f"{V2}/transactions/{txn['id']}/commit", headers=CAFE).get_json()["error"] == "TRANSACTION_EXPIRED"
    )
    ledger_jobs.expire_holds(rt)
    assert spendable(client, member_id) == 300


def test_a_temporary_credit_is_refused_and_changes_nothing(client, member):
    member_id = member(10)
    response = adjust(client, member_id, points=50, is_temp=True)
    assert (response.status_code, response.get_json()["details"][0]["field"]) == (400, "is_temp")
    assert spendable(client, member_id) == 10


def test_a_cancel_posts_one_reversing_entry_and_a_second_cancel_is_a_no_op(client, member):
    member_id = member(50)
    txn = adjust(client, member_id, points=200).get_json()["transaction"]
    canceled = client.post(f"{V2}/transactions/{txn['id']}/cancel", headers=CAFE)
    body = canceled.get_json()
    assert canceled.status_code == 201
    assert (body["transaction"]["type"], body["transaction"]["points"], body["balance"]["points"]) == (
        "REVERSAL",
        -200,
        50,
    )
    again = client.post(f"{V2}/transactions/{txn['id']}/cancel", headers=CAFE)
    assert (again.status_code, again.get_json()) == (200, body)
    listed = client.get(f"{V2}/program-memberships/{member_id}/transactions?type=ADDITION", headers=CAFE).get_json()
    assert [t["status"] for t in listed["transactions"]] == ["CANCELED", "ACTIVE"]


def test_a_redemptions_hold_is_not_a_temporary_transaction(client, member):
    member_id = member(300)
    redemption_id = redeem_reward(client, member_id, COFFEE).get_json()["redemption"]["id"]
    hold = client.get(f"{V2}/program-memberships/{member_id}/transactions?type=HOLD", headers=CAFE).get_json()
    assert hold["transactions"][0]["reference"] == redemption_id
    response = client.post(f"{V2}/transactions/{hold['transactions'][0]['id']}/commit", headers=CAFE)
    assert (response.status_code, response.get_json()["error"]) == (422, "TRANSACTION_BELONGS_TO_REDEMPTION")


def test_the_transactions_are_listed_newest_first_page_by_page_and_by_type(client, member, clock):
    member_id = member()
    for points in (10, 20, 30, -5, 40):
        clock.now += timedelta(seconds=1)
        adjust(client, member_id, points=points)
    url = f"{V2}/program-memberships/{member_id}/transactions"
    pages, cursor = [], ""
    while cursor is not None:
        page = client.get(f"{url}?limit=2{cursor and f'&cursor={cursor}'}", headers=CAFE).get_json()
        pages.append([t["points"] for t in page["transactions"]])
        cursor = page["next_cursor"]
    assert pages == [[40, -5], [30, 20], [10]]
    removals = client.get(f"{url}?type=REMOVAL", headers=CAFE).get_json()
    assert [t["points"] for t in removals["transactions"]] == [-5] and removals["next_cursor"] is None
    assert set(removals["transactions"][0]) == {
        "id",
        "type",
        "points",
        "status",
        "channel",
        "reference",
        "created_at",
        "activates_at",
        "expires_at",
        "idempotency_key",
        "reverses_id",
        "shortfall",
    }


def test_the_points_card_shows_balances_and_lifetime_buckets(client, member):
    member_id = member()
    adjust(client, member_id, points=500)
    adjust(client, member_id, points=-100)
    redemption_id = redeem_reward(client, member_id, COFFEE).get_json()["redemption"]["id"]
    client.post(f"{V2}/redemptions/{redemption_id}/redeem", headers=CAFE)
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=CAFE).get_json()
    assert card["balance"] == {"points": 300, "pending_points": 0}
    assert {k: card["lifetime"][k] for k in ("added", "subtracted", "spent", "locked")} == {
        "added": 500,
        "subtracted": 100,
        "spent": 100,
        "locked": 100,
    }
    assert card["next_expiration"] is None


def test_an_adjustment_replayed_answers_the_first_with_200_and_a_changed_body_is_a_409(client, member):
    member_id = member()
    first = adjust(client, member_id, points=70, idempotency_key="grant-9")
    replay = client.post(
        f"{V2}/program-memberships/{member_id}/points",
        json={"points": 70},
        headers={**CAFE, "Idempotency-Key": "grant-9"},
    )
    assert (first.status_code, replay.status_code) == (201, 200) and replay.get_json() == first.get_json()
    assert first.get_json()["transaction"]["idempotency_key"] == "grant-9"
    reused = adjust(client, member_id, points=71, idempotency_key="grant-9")
    assert (reused.status_code, reused.get_json()["error"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert spendable(client, member_id) == 70


def test_the_program_tiers_are_listed_lowest_first(client, shops):
    body = client.get(f"{V2}/program-tiers", headers=CAFE).get_json()
    assert body["tiers"] == [
        {"name": "Bronze", "min_lifetime_points": 0, "multiplier": 1.0},
        {"name": "Silver", "min_lifetime_points": 1000, "multiplier": 1.5},
    ]


# --- tenancy ------------------------------------------------------------------------


def test_another_merchants_key_gets_a_404_for_every_rewards_points_and_transactions_endpoint(client, member, clock):
    member_id = member(100, slug="other-bakery")
    redemption_id = redeem_reward(client, member_id, BUN, headers=BAKERY).get_json()["redemption"]["id"]
    txn_id = adjust(client, member_id, points=-5, is_temp=True, headers=BAKERY).get_json()["transaction"]["id"]
    activity = {"idempotency_key": "x", "activity": {"value": 5, "transaction_timestamp": epoch(clock.now)}}
    calls = [
        ("get", f"/program-memberships/{member_id}/rewards", None),
        ("post", f"/program-memberships/{member_id}/redemptions", {"reward_id": BUN}),
        ("get", f"/program-memberships/{member_id}/points", None),
        ("post", f"/program-memberships/{member_id}/points", {"points": 5}),
        ("get", f"/program-memberships/{member_id}/transactions", None),
        ("post", f"/program-memberships/{member_id}/activities", activity),
        ("get", f"/program-memberships/{member_id}/level", None),
        ("post", f"/redemptions/{redemption_id}/redeem", None),
        ("post", f"/redemptions/{redemption_id}/void", None),
    ]
    calls += [("post", f"/transactions/{txn_id}/{action}", None) for action in ("commit", "rollback", "cancel")]
    for method, path, body in calls:
        response = getattr(client, method)(f"{V2}{path}", json=body, headers=CAFE)
        assert response.status_code == 404, (path, response.get_json())
    assert spendable(client, member_id, BAKERY) == 85  # the bun's hold and the temporary debit, untouched
