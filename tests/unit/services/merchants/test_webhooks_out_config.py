"""The merchants file's ``webhooks_out``: endpoints with Standard Webhooks secrets, mistakes named by their path."""

from __future__ import annotations

import pytest

from services.merchants.config import ConfigError, parse_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEXT = "whsec_dGhlIG5leHQgc2VjcmV0IGZvciB0ZXN0aW5nIQ=="


def merchant_with(block: str) -> str:
    return f"""
merchants:
  - slug: cafe
    name: Cafe
    currency: USD
    program: {{points_per_currency_unit: 10}}
    webhooks_out: {block}
"""


def problems(block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(merchant_with(block), {})
    return caught.value.problems


def test_an_endpoint_is_read_with_its_secret_from_the_environment_and_every_type_by_default():
    config = parse_config(
        merchant_with("[{url: 'https://hooks.example.com/x', secret: '${EVENTS_SECRET}'}]"), {"EVENTS_SECRET": SECRET}
    )
    [endpoint] = config.merchants[0].webhooks_out
    assert (endpoint.url, endpoint.events) == ("https://hooks.example.com/x", None)
    assert [s.get_secret_value() for s in endpoint.secret] == [SECRET]


def test_two_secrets_are_accepted_while_rotating_and_types_can_be_chosen():
    block = f"[{{url: 'https://h.example.com/', secret: [{SECRET}, {NEXT}], events: [points.earned, tier.changed]}}]"
    [endpoint] = parse_config(merchant_with(block), {}).merchants[0].webhooks_out
    assert (len(endpoint.secret), endpoint.events) == (2, ["points.earned", "tier.changed"])


@pytest.mark.parametrize(
    "block, expected",
    [
        (
            "[{url: 'ftp://h.example.com', secret: " + SECRET + "}]",
            "webhooks_out[0].url: must be an http:// or https://",
        ),
        ("[{url: 'https://h.example.com', secret: not-whsec}]", "webhooks_out[0].secret: must be a Standard Webhooks"),
        ("[{url: 'https://h.example.com', secret: whsec_c2hvcnQ=}]", "at least 24 random bytes"),
        (f"[{{url: 'https://h.example.com', secret: [{SECRET}, {NEXT}, {SECRET}]}}]", "a list of two while rotating"),
        (f"[{{url: 'https://h.example.com', secret: {SECRET}, events: [points.stolen]}}]", "must list event types"),
        (f"[{{url: 'https://h.example.com', secret: {SECRET}, extra: 1}}]", "webhooks_out[0].extra: unknown key"),
    ],
)
def test_a_mistake_is_named_by_its_path(block, expected):
    assert any(expected in problem for problem in problems(block)), problems(block)


def test_a_problem_never_quotes_the_secret():
    found = problems("[{url: 'nope', secret: whsec_c2hvcnQ=}]")
    assert found and not any("c2hvcnQ" in problem for problem in found)
