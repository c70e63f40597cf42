"""Tiers never go down; phones become E.164; emails compare case-insensitively."""

from __future__ import annotations

from decimal import Decimal

from loyalty.identity import normalize_email, normalize_phone, region_for_currency
from loyalty.tiers import TierRule, next_tier, tier_for

TIERS = [
    TierRule("Bronze", 0, Decimal(1)),
    TierRule("Silver", 1000, Decimal("1.1")),
    TierRule("Gold", 4000, Decimal("1.25")),
]


def test_the_tier_is_the_highest_reached_by_lifetime_points():
    assert tier_for(0, TIERS).name == "Bronze"
    assert tier_for(1000, TIERS).name == "Silver"
    assert tier_for(9999, TIERS).name == "Gold"


def test_a_member_never_moves_down_a_tier():
    assert tier_for(10, TIERS, current="Gold").name == "Gold"


def test_the_next_tier_names_the_points_still_needed():
    tier, needed = next_tier(250, TIERS, "Bronze")
    assert (tier.name, needed) == ("Silver", 750)
    assert next_tier(5000, TIERS, "Gold") is None


def test_phones_are_normalized_to_e164_with_the_currency_region():
    assert normalize_phone("(415) 555-0134", region_for_currency("USD")) == "+14155550134"
    assert normalize_phone("+44 20 7946 0958", None) == "+442079460958"


def test_an_invalid_or_empty_phone_is_dropped():
    assert normalize_phone("12", "US") is None
    assert normalize_phone("", "US") is None
    assert normalize_phone("415 555 0134", None) is None  # no region, no country code


def test_emails_are_trimmed_and_lowercased():
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    assert normalize_email("not-an-email") is None
