"""Shopify discount codes when Shopify refuses, fails, throttles, or a process dies half-way: the points are safe.

Nothing is held for a code Shopify did not confirm, and no code Shopify holds for a voided redemption
stays usable: it is looked up by its code and deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from shopify_codes_support import API, FIVE_OFF, KEY, TEN_PERCENT, points, redeem, redemption, run_scheduled_now
from workers import jobs


def test_a_deletion_throttled_by_shopify_is_retried_no_sooner_than_it_asks(rt, client, work, guest, fake, clock):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    fake.fail_next("discountCodeDelete", "429", wait=40)
    clock.now += timedelta(days=31)
    jobs.expire_holds()
    before = datetime.now(UTC)
    work()
    assert fake.live_code(made["code"]) is not None
    registry = ScheduledJobRegistry("integrations", connection=rt.dispatcher.connection)
    [job_id] = [j for j in registry.get_job_ids() if j.startswith("delete_shopify_code")]
    assert registry.get_scheduled_time(job_id) >= before + timedelta(seconds=39)
    run_scheduled_now(rt, job_id)
    work()
    assert fake.live_code(made["code"]) is None


def test_a_void_while_shopify_is_down_is_a_503_and_changes_nothing(rt, client, guest, fake):
    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    fake.outage = True
    refused = client.post(f"{API}/redemptions/{made['id']}/void", json={}, headers=KEY)
    assert refused.status_code == 503 and refused.json["error"] == "SHOPIFY_UNAVAILABLE"
    assert refused.headers["Retry-After"]
    assert redemption(client, made["id"])["state"] == "initiated" and points(rt, member_id) == (500, 500)


def test_a_taken_code_is_a_502_with_shopifys_user_errors_and_the_hold_released(rt, client, guest, fake):
    member_id, _ = guest
    fake.fail_next("discountCodeBasicCreate", "taken")
    refused = redeem(client, member_id, idempotency_key="k-taken")
    assert refused.status_code == 502, refused.json
    assert refused.json["error"] == "SHOPIFY_REJECTED"
    assert refused.json["details"][0]["code"] == "TAKEN"
    assert points(rt, member_id) == (1000, 0)
    # The key names nothing now: a retry with it makes a new code.
    again = redeem(client, member_id, idempotency_key="k-taken")
    assert again.status_code == 201 and fake.live_code(again.json["redemption"]["code"])


def test_shopify_down_at_redemption_is_a_503_with_retry_after_and_nothing_is_held(rt, client, work, guest, fake):
    member_id, _ = guest
    fake.outage = True
    refused = redeem(client, member_id)
    assert refused.status_code == 503 and refused.json["error"] == "SHOPIFY_UNAVAILABLE"
    assert int(refused.headers["Retry-After"]) >= 1
    assert points(rt, member_id) == (1000, 0)
    listed = client.get(f"{API}/program-memberships/{member_id}/redemptions?state=initiated", headers=KEY)
    assert listed.json["redemptions"] == []


def test_a_code_made_by_shopify_whose_answer_was_lost_is_found_and_deleted(rt, client, work, guest, fake):
    member_id, _ = guest
    fake.fail_next("discountCodeBasicCreate", "lost")  # Shopify makes the code, the answer never arrives
    assert redeem(client, member_id).status_code == 503
    [made] = fake.discounts.values()
    assert not made["deleted"]
    work()  # the deletion job finds it by its code
    assert made["deleted"] and points(rt, member_id) == (1000, 0)


def test_throttling_is_waited_out_within_a_few_seconds_and_past_them_is_a_503(rt, client, guest, fake, slept):
    member_id, _ = guest
    fake.fail_next("discountCodeBasicCreate", "throttled", wait=2)
    fake.fail_next("discountCodeBasicCreate", "429", wait=1)
    assert redeem(client, member_id, TEN_PERCENT).status_code == 201
    assert slept == [2, 1]
    fake.fail_next("discountCodeBasicCreate", "throttled", wait=30)
    refused = redeem(client, member_id, TEN_PERCENT)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert points(rt, member_id) == (700, 300)


def crash_after_the_hold(rt, member_id: str, code: str, key: str | None = None):
    """What a process that died right after committing the hold leaves: the redemption, its code still creating."""
    from services.partner_api.idempotency import run_once
    from services.partner_api.redemptions import _initiate
    from services.partner_api.views import RedemptionWritten

    request = {"operation": "redemption", "member": member_id, "reward_id": FIVE_OFF}
    merchant_id = _merchant_id(rt)
    return run_once(
        rt,
        merchant_id,
        key,
        request,
        RedemptionWritten,
        lambda session: _initiate(rt, session, merchant_id, member_id, FIVE_OFF, key, code=code),
    ).redemption


def shopify_made(fake, code: str, redemption_id: str) -> dict:
    """The code as Shopify holds it when its creation answer was lost."""
    made = {"code": code, "input": {"title": f"Five Off (500 points, {redemption_id})"}, "deleted": False}
    fake.discounts["gid://shopify/DiscountCodeNode/1"] = made
    return made


def test_a_retry_of_a_redemption_whose_process_died_takes_over_and_adopts_shopifys_code(rt, client, guest, fake):
    member_id, _ = guest
    crashed = crash_after_the_hold(rt, member_id, "PC-CRASHED01", key="k-crash")
    shopify_made(fake, "PC-CRASHED01", crashed.id)
    answer = redeem(client, member_id, idempotency_key="k-crash")
    assert answer.status_code == 200, answer.json  # a replay of the first call, now finished
    assert answer.json["redemption"]["id"] == crashed.id
    assert answer.json["redemption"]["code"] == "PC-CRASHED01"
    assert answer.json["redemption"]["discount_gid"] == "gid://shopify/DiscountCodeNode/1"
    [create] = fake.calls_of("discountCodeBasicCreate")  # refused as TAKEN, then found by its code
    assert fake.calls_of("codeDiscountNodeByCode")
    assert points(rt, member_id) == (500, 500)


def test_an_unconfirmed_code_gives_its_points_back_after_the_hold_ttl_and_is_deleted(rt, work, guest, fake, clock):
    member_id, _ = guest
    crashed = crash_after_the_hold(rt, member_id, "PC-CRASHED02")
    made = shopify_made(fake, "PC-CRASHED02", crashed.id)
    assert points(rt, member_id) == (500, 500)
    clock.now += timedelta(seconds=901)  # program.hold_ttl_seconds: 900
    assert jobs.expire_holds() == 1
    work()
    assert points(rt, member_id) == (1000, 0)
    assert made["deleted"]


def _merchant_id(rt) -> int:
    from models import Merchant

    with rt.db.reader() as session:
        return session.execute(select(Merchant.id).where(Merchant.slug == "online-shop")).scalar_one()


def test_a_code_shopify_refuses_to_delete_is_logged_once_not_queued_again_every_minute(
    rt, client, work, guest, fake, clock, caplog
):
    from services.shopify.codes import queue_deletions

    member_id, _ = guest
    made = redeem(client, member_id).json["redemption"]
    fake.fail_next("discountCodeDelete", "invalid")
    clock.now += timedelta(days=31)
    jobs.expire_holds()
    work()
    assert points(rt, member_id) == (1000, 0)  # the points come back whatever Shopify says
    assert fake.live_code(made["code"]) is not None
    assert any(made["id"] in r.getMessage() and "online-shop" in r.getMessage() for r in caplog.records)
    assert queue_deletions(rt) == 0
