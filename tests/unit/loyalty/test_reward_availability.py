"""When a member may redeem a reward (rewards.md, "Available to a member")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from loyalty.rewards import MemberUsage, RewardRule, availability

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEVER = MemberUsage()


def rule(**fields) -> RewardRule:
    fields.setdefault("points_price", 500)
    return RewardRule(
        uuid="7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11", name="Free Cold Brew", reward_type="redemption", **fields
    )


def test_an_open_reward_is_available_to_a_member_with_enough_points():
    assert availability(rule(), NEVER, 500, NOW) == (True, None)


def test_an_inactive_reward_is_not_available():
    assert availability(rule(active=False), NEVER, 500, NOW) == (False, "INACTIVE")


def test_a_reward_before_its_start_has_not_started():
    assert availability(rule(start=NOW + timedelta(seconds=1)), NEVER, 500, NOW) == (False, "NOT_STARTED")


def test_a_reward_is_available_from_the_instant_it_starts():
    assert availability(rule(start=NOW), NEVER, 500, NOW).available


def test_a_reward_has_ended_at_the_instant_of_its_end():
    assert availability(rule(end=NOW), NEVER, 500, NOW) == (False, "ENDED")
    assert availability(rule(end=NOW + timedelta(microseconds=1)), NEVER, 500, NOW).available


def test_a_member_who_used_up_the_limit_has_reached_it():
    assert availability(rule(limit=2), MemberUsage(redemption_count=2), 500, NOW) == (False, "LIMIT_REACHED")
    assert availability(rule(limit=2), MemberUsage(redemption_count=1), 500, NOW).available


def test_a_limit_of_zero_means_unlimited():
    assert availability(rule(limit=0), MemberUsage(redemption_count=10_000), 500, NOW).available


def test_a_redemption_within_the_interval_blocks_the_next_one():
    usage = MemberUsage(redemption_count=1, last_redeemed_at=NOW - timedelta(days=7) + timedelta(seconds=1))
    assert availability(rule(interval=7), usage, 500, NOW) == (False, "INTERVAL")


def test_a_reward_is_available_again_once_the_interval_has_exactly_elapsed():
    usage = MemberUsage(redemption_count=1, last_redeemed_at=NOW - timedelta(days=7))
    assert availability(rule(interval=7), usage, 500, NOW).available


def test_an_interval_of_zero_allows_redeeming_again_at_once():
    assert availability(rule(interval=0), MemberUsage(1, NOW), 500, NOW).available


def test_a_member_who_never_redeemed_is_not_held_back_by_the_interval():
    assert availability(rule(interval=30), NEVER, 500, NOW).available


def test_a_price_above_the_spendable_balance_means_insufficient_points():
    assert availability(rule(points_price=501), NEVER, 500, NOW) == (False, "INSUFFICIENT_POINTS")


def test_a_free_reward_is_available_with_no_points():
    assert availability(rule(points_price=0), NEVER, 0, NOW).available


def test_the_first_failing_rule_gives_the_reason():
    ended_and_too_dear = rule(end=NOW, points_price=10_000)
    assert availability(ended_and_too_dear, NEVER, 0, NOW).reason == "ENDED"


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError):
        availability(rule(), NEVER, 500, datetime(2026, 3, 1, 12, 0))


def test_an_instant_in_another_offset_is_compared_as_the_same_moment():
    start = datetime(2026, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))  # 12:00 UTC
    assert availability(rule(start=start), NEVER, 500, NOW).available
    assert availability(rule(start=start), NEVER, 500, NOW - timedelta(seconds=1)).reason == "NOT_STARTED"


def test_the_available_rules_of_a_catalogue_are_exactly_those_availability_allows_in_order():
    from hypothesis import given
    from hypothesis import strategies as st

    from loyalty.rewards import available_rules

    @given(
        st.lists(st.tuples(st.booleans(), st.integers(0, 900), st.integers(0, 3), st.integers(0, 2)), max_size=12),
        st.integers(0, 900),
    )
    def check(shapes, points):
        rules = [
            RewardRule(
                uuid=f"r{n}", name=f"R{n}", reward_type="redemption", active=active, points_price=price, limit=limit
            )
            for n, (active, price, limit, _) in enumerate(shapes)
        ]
        usage = {f"r{n}": MemberUsage(redemption_count=used) for n, (*_, used) in enumerate(shapes) if used}
        expected = [r for r in rules if availability(r, usage.get(r.uuid, NEVER), points, NOW).available]
        assert available_rules(rules, usage, points, NOW) == expected

    check()
