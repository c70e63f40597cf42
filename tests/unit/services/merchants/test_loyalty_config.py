"""The merchants file's loyalty block: one shape per provider, every mistake named by its path."""

from __future__ import annotations

import pytest

from services.merchants.config import ConfigError, parse_config

HANG = {
    "provider": "hang",
    "base_url": "https://loyalty.hang.xyz/partner-api",
    "api_key": "hang-secret-key",
    "activity_type_id": "act_purchase",
}


def merchant_with(block: str) -> str:
    return f"""
merchants:
  - slug: cafe
    name: Cafe
    currency: USD
    program: {{points_per_currency_unit: 10}}
    loyalty: {block}
"""


def problems(block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(merchant_with(block), {})
    return caught.value.problems


def test_a_hang_block_is_read_with_its_secret_kept_secret():
    config = parse_config(merchant_with(str(HANG).replace("'", '"')), {})
    loyalty = config.merchants[0].loyalty
    assert (loyalty.provider, loyalty.base_url, loyalty.activity_type_id) == ("hang", HANG["base_url"], "act_purchase")
    assert loyalty.api_key.get_secret_value() == "hang-secret-key" and "hang-secret-key" not in repr(loyalty)
    assert loyalty.timeout_seconds == 5


def test_no_block_and_the_punchcard_provider_are_the_built_in_ledger():
    assert parse_config(merchant_with("null"), {}).merchants[0].loyalty is None
    assert parse_config(merchant_with("{provider: punchcard}"), {}).merchants[0].loyalty.provider == "punchcard"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            '{provider: hang, base_url: "https://h.test", activity_type_id: a}',
            "merchants[0].loyalty.api_key: is required",
        ),
        (
            '{provider: hang, base_url: "https://h.test", api_key: k}',
            "merchants[0].loyalty.activity_type_id: is required",
        ),
        (
            '{provider: hang, base_url: "ftp://h.test", api_key: k, activity_type_id: a}',
            "merchants[0].loyalty.base_url: must be an http:// or https:// URL without a query",
        ),
        (
            '{provider: hang, base_url: "https://h.test", api_key: k, activity_type_id: a, app_token: t}',
            "merchants[0].loyalty.app_token: unknown key",
        ),
        (
            '{provider: hang, base_url: "https://h.test", api_key: k, activity_type_id: a, timeout_seconds: 0}',
            "merchants[0].loyalty.timeout_seconds: must be greater than 0",
        ),
        (
            "{provider: hangg}",
            "merchants[0].loyalty: provider must be one of punchcard, hang, voucherify, altcraft, inveterate",
        ),
        ("{provider: punchcard, api_key: k}", "merchants[0].loyalty.api_key: unknown key"),
    ],
)
def test_a_mistake_in_the_block_is_named_by_its_path(block, expected):
    found = problems(block)
    assert any(p.startswith(expected) for p in found), found


def test_a_problem_never_quotes_the_secret():
    found = problems('{provider: hang, base_url: "nope", api_key: "s3cr3t-value", activity_type_id: a}')
    assert all("s3cr3t-value" not in p for p in found)
