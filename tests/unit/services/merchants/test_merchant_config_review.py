"""Merchants-file rules added in review (issue 9): optional timezone, real IANA zones, values the database can hold."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest
import yaml

from services.merchants.config import ConfigError, parse_config


def merchant(slug: str = "demo-cafe", *, timezone_line: str = "timezone: America/New_York", extra: str = "") -> str:
    """One merchant as a YAML list item, with `timezone_line` as given ('' leaves it out)."""
    lines = [f"- slug: {slug}", "  name: Demo Cafe", "  currency: USD"]
    lines += [f"  {timezone_line}"] if timezone_line else []
    lines += ["  program:", "    points_per_currency_unit: 10"]
    return "\n".join(lines) + "\n" + textwrap.indent(textwrap.dedent(extra), "  ")


def document(*merchants: str) -> str:
    return "merchants:\n" + "".join(merchants)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {})
    return caught.value.problems


def test_a_merchant_without_a_timezone_is_in_utc():
    config = parse_config(document(merchant(timezone_line="")), {})

    assert config.merchants[0].timezone == "UTC"


def test_a_null_timezone_is_utc_like_an_omitted_one():
    config = parse_config(document(merchant(timezone_line="timezone: null")), {})

    assert config.merchants[0].timezone == "UTC"


def test_reward_dates_of_a_merchant_without_a_timezone_are_read_in_utc():
    rewards = """\
    rewards:
      - {uuid: 7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11, name: R, reward_type: access, points_price: 0,
         start_date: 2026-01-01, end_date: "2026-02-01T08:30:00"}
    """
    config = parse_config(document(merchant(timezone_line="", extra=rewards)), {})

    reward = config.merchants[0].rewards[0]
    assert reward.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert reward.end_date == datetime(2026, 2, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone",
    [
        "America/Nowhere",
        "america/new_york",
        "localtime",
        "Factory",
        "posix/UTC",
        "right/Europe/Paris",
        "../etc/passwd",
        "",
        "42",
    ],
)
def test_a_timezone_that_is_not_an_iana_zone_is_refused_with_its_path(zone):
    problems = problems_of(document(merchant(), merchant("other", timezone_line=f"timezone: '{zone}'")))

    assert problems == ["merchants[1].timezone: must be an IANA time zone such as America/New_York"]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "US/Eastern"])
def test_iana_zones_including_the_backward_links_are_accepted(zone):
    config = parse_config(document(merchant(timezone_line=f"timezone: {zone}")), {})

    assert config.merchants[0].timezone == zone


def test_an_api_key_given_to_two_merchants_is_refused_naming_both_without_quoting_it():
    extra = "api_keys: [shared-partner-key]\n"
    problems = problems_of(document(merchant(extra=extra), merchant("bakery", extra=extra)))

    assert problems == [
        "merchants[1].api_keys[0]: duplicate of merchants[0].api_keys[0]; "
        "merchants demo-cafe and bakery cannot both have it"
    ]


def test_a_restaurant_guid_listed_twice_by_one_merchant_is_a_plain_duplicate():
    extra = """\
    toast: {restaurant_guids: [0cd990c9-fd74-461d-8468-de2a0919ccbb, 0CD990C9-FD74-461D-8468-DE2A0919CCBB],
            webhook_secret: a, loyalty_api_key: b}
    """
    problems = problems_of(document(merchant(extra=extra)))

    assert problems == ["merchants[0].toast.restaurant_guids[1]: duplicate of merchants[0].toast.restaurant_guids[0]"]


# Values the database columns (or the date arithmetic) cannot hold: a validation error, never a crash later.
TOO_BIG = [
    ("name", "x" * 201, "merchants[0].name: must be at most 200 characters"),
    ("program.tiers[0].name", "x" * 101, "merchants[0].program.tiers[0].name: must be at most 100 characters"),
    ("rewards[0].name", "x" * 201, "merchants[0].rewards[0].name: must be at most 200 characters"),
    ("rewards[0].priority", 2**31, "merchants[0].rewards[0].priority: must be at most 2147483647"),
    ("rewards[0].priority", -(2**31) - 1, "merchants[0].rewards[0].priority: must be at least -2147483648"),
    ("rewards[0].points_price", 2**63, "merchants[0].rewards[0].points_price: must be at most 9223372036854775807"),
    (
        "program.tiers[1].min_lifetime_points",
        2**63,
        "merchants[0].program.tiers[1].min_lifetime_points: must be at most 9223372036854775807",
    ),
    ("program.expiration_days", 36501, "merchants[0].program.expiration_days: must be at most 36500"),
    ("program.pending_days", 36501, "merchants[0].program.pending_days: must be at most 36500"),
    (
        "program.hold_ttl_seconds",
        36500 * 86400 + 1,
        "merchants[0].program.hold_ttl_seconds: must be at most 3153600000",
    ),
    ("rewards[0].interval", 36501, "merchants[0].rewards[0].interval: must be at most 36500"),
    (
        "program.tiers[1].multiplier",
        "1." + "0" * 40 + "1",
        "merchants[0].program.tiers[1].multiplier: must have at most 20 digits",
    ),
    (
        "program.points_per_currency_unit",
        10**7,
        "merchants[0].program.points_per_currency_unit: must be at most 1000000",
    ),
]
SLUG_OF_65 = "s" * 65


def full_merchant() -> dict:
    return {
        "slug": "demo-cafe",
        "name": "Demo Cafe",
        "currency": "USD",
        "program": {
            "points_per_currency_unit": 10,
            "tiers": [
                {"name": "Bronze", "min_lifetime_points": 0},
                {"name": "Silver", "min_lifetime_points": 1000, "multiplier": "1.1"},
            ],
        },
        "rewards": [
            {"uuid": "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11", "name": "R", "reward_type": "access", "points_price": 0}
        ],
    }


def put(tree: dict, path: str, value) -> dict:
    *parents, last = path.replace("]", "").replace("[", ".").split(".")
    node = tree
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    return tree


@pytest.mark.parametrize(("path", "value", "problem"), TOO_BIG, ids=[f"{p}={str(v)[:12]}" for p, v, _ in TOO_BIG])
def test_a_value_the_database_cannot_hold_is_refused_with_its_path(path, value, problem):
    text = yaml.safe_dump({"merchants": [put(full_merchant(), path, value)]})
    assert problems_of(text) == [problem]


def test_a_slug_longer_than_the_column_is_refused():
    assert problems_of(document(merchant(SLUG_OF_65))) == ["merchants[0].slug: must be at most 64 characters"]


@pytest.mark.parametrize("name", ['"Demo\\0Cafe"', '"Demo\\nCafe"', '"Demo\\tCafe"'])
def test_a_name_with_a_control_character_is_refused(name):
    text = document(merchant().replace("name: Demo Cafe", f"name: {name}"))

    assert problems_of(text) == ["merchants[0].name: must be one line of text without control characters"]


def test_the_largest_values_the_database_holds_are_accepted():
    tree = full_merchant()
    for path, value in [
        ("name", "x" * 200),
        ("program.tiers[1].name", "y" * 100),
        ("rewards[0].priority", 2**31 - 1),
        ("rewards[0].points_price", 2**63 - 1),
        ("program.expiration_days", 36500),
        ("program.tiers[1].multiplier", "1." + "0" * 18 + "1"),
    ]:
        put(tree, path, value)

    config = parse_config(yaml.safe_dump({"merchants": [tree]}), {})
    assert config.merchants[0].rewards[0].points_price == 2**63 - 1
