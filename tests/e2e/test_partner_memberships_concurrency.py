"""Fifty partners racing to get-or-create one guest, through the running app: one member comes out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from support import TEST_ENV

KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
CALLS = 50


def test_fifty_concurrent_get_or_create_calls_for_one_phone_create_exactly_one_member(stack):
    phone = "+16465550150"  # no other test of the session's database uses it: the first call creates the guest
    url = f"{stack.base_url}/partner-api/v2/program-memberships"

    def call(n: int) -> requests.Response:
        # Different formats of the same number, each with a name and the same email: one guest all the same.
        body = {
            "phone": phone if n % 2 else f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}",
            "first_name": f"Guest {n}",
            "email": f"{phone[1:]}@example.com",
        }
        return requests.post(url, json=body, headers=KEY, timeout=60)

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        responses = list(pool.map(call, range(CALLS)))
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code >= 300]
    assert [r.json()["created"] for r in responses].count(True) == 1
    ids = {r.json()["membership"]["id"] for r in responses}
    assert len(ids) == 1
    found = requests.get(f"{url}/search", params={"phone": phone}, headers=KEY, timeout=10).json()["membership"]
    assert found["id"] == ids.pop() and found["first_name"].startswith("Guest ")
