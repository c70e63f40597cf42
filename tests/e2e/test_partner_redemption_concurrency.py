"""Fifty partners racing to redeem one member's points, through the running app: the balance is spent exactly once."""

from __future__ import annotations

import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from e2e_stack import BIN
from support import ROOT

CALLS = 50
KEY = {"X-API-Key": "e2e-redemption-key"}
REWARD = "0e2e0000-0000-4000-8000-000000000100"
# Onboarding a merchant the way an operator does: add it to the merchants file and sync.
MERCHANT = f"""
  - slug: e2e-redemptions
    name: E2E Redemptions
    currency: USD
    timezone: UTC
    api_keys: [e2e-redemption-key]
    program: {{points_per_currency_unit: 1}}
    rewards:
      - {{uuid: {REWARD}, name: Hundred Point Treat, reward_type: redemption, points_price: 100}}
"""


@pytest.fixture
def merchant(stack):
    config = Path(stack.env["MERCHANTS_CONFIG"])
    if "e2e-redemptions" not in config.read_text():
        config.write_text(config.read_text().rstrip("\n") + "\n" + MERCHANT)
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "merchants", "sync"],
        env=stack.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return f"{stack.base_url}/partner-api/v2"


def test_fifty_concurrent_redemptions_of_a_100_point_reward_against_500_points_succeed_exactly_five_times(merchant):
    created = requests.post(
        f"{merchant}/program-memberships", json={"external_user_id": str(uuid.uuid4())}, headers=KEY, timeout=10
    )
    member = created.json()["membership"]["id"]
    funded = requests.post(
        f"{merchant}/program-memberships/{member}/points", json={"points": 500}, headers=KEY, timeout=10
    )
    assert funded.status_code == 201, funded.text

    def redeem(_: int) -> requests.Response:
        return requests.post(
            f"{merchant}/program-memberships/{member}/redemptions", json={"reward_id": REWARD}, headers=KEY, timeout=60
        )

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        responses = list(pool.map(redeem, range(CALLS)))
    codes = [r.status_code for r in responses]
    unexpected = [r.text for r in responses if r.status_code not in (201, 422)]
    assert (codes.count(201), codes.count(422)) == (5, 45), unexpected
    assert {r.json()["error"] for r in responses if r.status_code == 422} == {
        "INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD"
    }

    redemptions = [r.json()["redemption"]["id"] for r in responses if r.status_code == 201]
    with ThreadPoolExecutor(max_workers=10) as pool:  # each redeemed twice at once: idempotent
        redeemed = list(
            pool.map(
                lambda rid: requests.post(f"{merchant}/redemptions/{rid}/redeem", headers=KEY, timeout=60),
                redemptions * 2,
            )
        )
    assert {(r.status_code, r.json()["redemption"]["state"]) for r in redeemed} == {(200, "redeemed")}

    card = requests.get(f"{merchant}/program-memberships/{member}/points", headers=KEY, timeout=10).json()
    assert card["balance"] == {"points": 0, "pending_points": 0}
    # Every point held was spent: nothing is left held.
    assert (card["lifetime"]["locked"], card["lifetime"]["spent"]) == (500, 500)
    holds = requests.get(
        f"{merchant}/program-memberships/{member}/transactions?type=HOLD", headers=KEY, timeout=10
    ).json()["transactions"]
    assert [h["status"] for h in holds] == ["COMMITTED"] * 5
