"""The merchants file's loyalty block for Voucherify: the application keys, a Loyalty v2 program, the API root."""

from __future__ import annotations

import pytest

from services.merchants.config import ConfigError, parse_config

BLOCK = (
    '{provider: voucherify, base_url: "https://api.voucherify.io/", app_id: "vf-app",'
    ' app_token: "vf-s3cr3t", program_id: lprg_128f58429f4c4bf7b2%s}'
)


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


def test_a_voucherify_block_is_read_with_both_keys_kept_secret():
    loyalty = parse_config(merchant_with(BLOCK % ""), {}).merchants[0].loyalty
    assert (loyalty.provider, loyalty.base_url, loyalty.program_id) == (
        "voucherify",
        "https://api.voucherify.io",
        "lprg_128f58429f4c4bf7b2",
    )
    assert loyalty.app_token.get_secret_value() == "vf-s3cr3t" and "vf-s3cr3t" not in repr(loyalty)
    assert loyalty.app_id.get_secret_value() == "vf-app"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (", activity_type_id: a", "merchants[0].loyalty.activity_type_id: unknown key"),
        (", api_key: k", "merchants[0].loyalty.api_key: unknown key"),
        (", credit_rate: 0.05", "merchants[0].loyalty.credit_rate: unknown key"),
    ],
)
def test_another_provider_s_key_is_an_error(extra, expected):
    found = problems(BLOCK % extra)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            '{provider: voucherify, base_url: "https://api.voucherify.io", app_token: t, program_id: lprg_1}',
            "merchants[0].loyalty.app_id: is required",
        ),
        (
            '{provider: voucherify, base_url: "https://api.voucherify.io", app_id: i, program_id: lprg_1}',
            "merchants[0].loyalty.app_token: is required",
        ),
        (
            '{provider: voucherify, base_url: "https://api.voucherify.io", app_id: i, app_token: t}',
            "merchants[0].loyalty.program_id: is required",
        ),
        (
            '{provider: voucherify, base_url: "https://v.test", app_id: i, app_token: t, program_id: camp_1}',
            "merchants[0].loyalty.program_id:",
        ),
        (
            '{provider: voucherify, base_url: "https://v.test/v1", app_id: i, app_token: t, program_id: lprg_1}',
            "merchants[0].loyalty.base_url: must be Voucherify's API root",
        ),
        (
            "{provider: voucherify, app_id: i, app_token: t, program_id: lprg_1}",
            "merchants[0].loyalty.base_url: is required",
        ),
    ],
    ids=["no-app-id", "no-app-token", "no-program", "a-v1-campaign", "versioned-base", "no-base"],
)
def test_a_mistake_in_the_block_is_named_by_its_path(block, expected):
    found = problems(block)
    assert any(p.startswith(expected) for p in found), found


def test_a_problem_never_quotes_the_token():
    found = problems(BLOCK.replace("program_id: lprg_128f58429f4c4bf7b2", "program_id: nope") % "")
    assert found and all("vf-s3cr3t" not in p for p in found)
