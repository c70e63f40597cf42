"""``program.toast_hold_ttl_seconds``: how long a Toast REDEEM hold lives when its check is neither paid nor voided."""

from __future__ import annotations

import pytest

from services.merchants.config import ConfigError, parse_config

DOCUMENT = """
merchants:
  - slug: demo-cafe
    name: Demo Cafe
    currency: USD
    timezone: America/New_York
    program:
      points_per_currency_unit: 10
{extra}
"""


def program(extra: str = ""):
    return parse_config(DOCUMENT.format(extra=extra), {}).merchants[0].program


def test_a_toast_hold_lives_a_day_unless_the_program_says_otherwise():
    assert program().toast_hold_ttl_seconds == 86400
    assert program("      toast_hold_ttl_seconds: 3600").toast_hold_ttl_seconds == 3600


def test_the_toast_hold_time_to_live_reaches_the_stored_program():
    assert program().model_dump(mode="json")["toast_hold_ttl_seconds"] == 86400


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_toast_hold_time_to_live_that_is_not_a_positive_number_of_seconds_is_refused(value):
    with pytest.raises(ConfigError) as caught:
        program(f"      toast_hold_ttl_seconds: {value}")
    assert any("toast_hold_ttl_seconds" in problem for problem in caught.value.problems)
