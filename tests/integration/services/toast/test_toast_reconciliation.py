"""The Toast reconciliation poll over a watermark per restaurant (toast-loyalty.md), against a fake ordersBulk.

The fake answers ``GET /orders/v2/ordersBulk`` as the Orders API documents it: orders whose ``modifiedDate`` is
in ``[startDate, endDate)``, ``pageSize`` at a time, page ``page`` (1-based); a 503 with Toast's ErrorMessage
body while it is down. The runtime is real (database on both backends, Redis, RQ worker).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from sqlalchemy import select

from models import Delivery, Member, ToastRestaurant
from services.merchants.config import parse_config
from services.merchants.sync import sync
from services.toast.reconciliation import reconcile
from support import EXAMPLE_CONFIG, TEST_ENV
from toast_factories import toast_body, toast_check, toast_customer, toast_order

RESTAURANT = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
SECOND_RESTAURANT = "5b8e2f1a-9c3d-4e7f-a0b1-c2d3e4f5a6b7"
API = "https://toast.test"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def toast_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_toast_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class FakeOrdersBulk:
    """Toast's ordersBulk over ``orders`` (restaurant GUID -> list of Order dicts)."""

    def __init__(self) -> None:
        self.orders: dict[str, list[dict]] = {}
        self.down: set[str] = set()  # restaurants whose requests fail with 503
        self.fail_from: datetime | None = None  # windows starting at or after this fail with 429
        self.requests: list[tuple[str, datetime, datetime, int]] = []

    def add(self, modified: datetime, *, email: str, restaurant: str = RESTAURANT) -> dict:
        phone = f"415-555-01{sum(map(len, self.orders.values())) % 100:02d}"  # the webhook's identity, complete
        order = toast_order(
            modified_date=toast_time(modified),
            checks=[toast_check(customer=toast_customer(email=email, phone=phone), modified_date=toast_time(modified))],
        )
        self.orders.setdefault(restaurant, []).append(order)
        return order

    def __call__(self, request):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        restaurant = request.headers["Toast-Restaurant-External-ID"]
        start, end = parse_toast_time(query["startDate"]), parse_toast_time(query["endDate"])
        page, size = int(query["page"]), int(query["pageSize"])
        self.requests.append((restaurant, start, end, page))
        if restaurant in self.down:
            return (
                503,
                {},
                json.dumps({"status": 503, "code": 0, "message": "Service Unavailable", "requestId": "req-1"}),
            )
        if self.fail_from is not None and start >= self.fail_from:
            return 429, {"Retry-After": "1"}, json.dumps({"status": 429, "message": "Too Many Requests"})
        hits = sorted(
            (o for o in self.orders.get(restaurant, []) if start <= parse_toast_time(o["modifiedDate"]) < end),
            key=lambda o: o["modifiedDate"],
        )
        body = b"[" + b",".join(toast_body(o) for o in hits[(page - 1) * size : page * size]) + b"]"
        return 200, {"Content-Type": "application/json"}, body

    def windows(self, restaurant: str = RESTAURANT) -> list[tuple[datetime, datetime]]:
        """The (start, end) of every first-page request for ``restaurant``, in order."""
        return [(s, e) for r, s, e, page in self.requests if r == restaurant and page == 1]


@pytest.fixture
def toast(rt, clock, client):
    """The demo merchant with ``toast.api`` synced, and Toast faked; yields the fake.

    ``client`` builds the app as the worker process does, which registers the topic handlers."""
    clock.now = T0
    text = (
        EXAMPLE_CONFIG.read_text()
        .replace("      # api:", "      api:")
        .replace("      #   base_url: https://ws-api.toasttab.com", f"        base_url: {API}")
        .replace("      #   client_id: ${DEMO_CAFE_TOAST_CLIENT_ID}", "        client_id: punchcard-client")
        .replace(
            "      #   client_secret: ${DEMO_CAFE_TOAST_CLIENT_SECRET}", "        client_secret: toast-client-secret"
        )
    )
    sync(rt, parse_config(text, TEST_ENV))
    fake = FakeOrdersBulk()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            f"{API}/authentication/v1/authentication/login",
            json={
                "@class": ".SuccessfulResponse",
                "status": "SUCCESS",
                "token": {
                    "tokenType": "Bearer",
                    "accessToken": "toast-token",
                    "expiresIn": 86400,
                    "scope": "orders:read",
                },
            },
        )
        mock.add_callback(responses.GET, f"{API}/orders/v2/ordersBulk", callback=fake)
        yield fake


def emails(rt) -> list[str]:
    with rt.db.reader() as s:
        return sorted(s.execute(select(Member.email)).scalars())


def watermark(rt, guid: str = RESTAURANT) -> datetime | None:
    with rt.db.reader() as s:
        return s.execute(select(ToastRestaurant.polled_until).where(ToastRestaurant.guid == guid)).scalar_one()


def test_the_first_poll_of_a_restaurant_covers_the_last_hour(rt, toast, work):
    toast.add(T0 - timedelta(minutes=30), email="recent@x.co")
    toast.add(T0 - timedelta(hours=2), email="before-we-polled@x.co")
    assert reconcile(rt) == 1
    work()
    assert emails(rt) == ["recent@x.co"]
    assert toast.windows() == [(T0 - timedelta(minutes=61), T0 - timedelta(minutes=1))]
    assert watermark(rt) == T0 - timedelta(minutes=1)


def test_an_outage_longer_than_an_hour_is_polled_in_full_once_toast_answers_again(rt, toast, work, clock):
    assert reconcile(rt) == 0  # a first, healthy poll sets the watermark at 11:59
    toast.down.add(RESTAURANT)
    toast.add(T0 + timedelta(minutes=30), email="during-the-outage@x.co")
    toast.add(T0 + timedelta(hours=2, minutes=40), email="late-in-the-outage@x.co")
    for minutes in range(5, 181, 5):  # the scheduler keeps trying every five minutes, three hours long
        clock.now = T0 + timedelta(minutes=minutes)
        assert reconcile(rt) == 0
    assert watermark(rt) == T0 - timedelta(minutes=1)  # failed polls keep it
    toast.down.clear()
    clock.now = T0 + timedelta(hours=3, minutes=5)
    assert reconcile(rt) == 2
    work()
    assert emails(rt) == ["during-the-outage@x.co", "late-in-the-outage@x.co"]
    assert watermark(rt) == clock.now - timedelta(minutes=1)


def test_the_gap_is_requested_in_windows_of_at_most_an_hour_that_tile_it_exactly(rt, toast, clock):
    reconcile(rt)
    clock.now = T0 + timedelta(hours=3, minutes=20)
    reconcile(rt)
    windows = toast.windows()[1:]
    assert windows[0][0] == T0 - timedelta(minutes=1) and windows[-1][1] == clock.now - timedelta(minutes=1)
    assert all(end - start <= timedelta(hours=1) for start, end in windows)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert len(windows) == 4


def test_the_poll_never_looks_back_more_than_seven_days(rt, toast, work, clock):
    reconcile(rt)
    toast.add(T0 + timedelta(days=2), email="eight-days-ago@x.co")
    toast.add(T0 + timedelta(days=5), email="five-days-ago@x.co")
    clock.now = T0 + timedelta(days=10)  # the scheduler was off for ten days
    assert reconcile(rt) == 1
    work()
    assert emails(rt) == ["five-days-ago@x.co"]
    windows = toast.windows()[1:]
    assert windows[0][0] == clock.now - timedelta(minutes=1) - timedelta(days=7)
    assert len(windows) == 7 * 24


def test_a_window_with_more_orders_than_a_page_is_read_page_by_page(rt, toast):
    for n in range(130):
        toast.add(T0 - timedelta(minutes=50) + timedelta(seconds=n), email=f"guest{n}@x.co")
    assert reconcile(rt) == 130
    assert [page for _, _, _, page in toast.requests] == [1, 2]
    with rt.db.reader() as s:
        assert len(s.execute(select(Delivery.id)).all()) == 130


def test_a_poll_that_fails_midway_resumes_after_the_last_window_it_completed(rt, toast, work, clock):
    reconcile(rt)
    toast.add(T0 + timedelta(minutes=20), email="first-hour@x.co")
    toast.add(T0 + timedelta(hours=2, minutes=20), email="third-hour@x.co")
    toast.fail_from = T0 + timedelta(minutes=59)  # Toast throttles from the second window on
    clock.now = T0 + timedelta(hours=3)
    assert reconcile(rt) == 1
    assert watermark(rt) == T0 + timedelta(minutes=59)
    toast.fail_from = None
    assert reconcile(rt) == 1
    work()
    assert emails(rt) == ["first-hour@x.co", "third-hour@x.co"]
    assert toast.windows()[-2][0] == T0 + timedelta(minutes=59)  # resumed where it stopped


def test_a_failing_restaurant_keeps_its_watermark_while_the_others_advance(rt, toast, work, clock):
    tree_text = (
        EXAMPLE_CONFIG.read_text()
        .replace(
            "restaurant_guids: [0cd990c9-fd74-461d-8468-de2a0919ccbb]",
            f"restaurant_guids: [{RESTAURANT}, {SECOND_RESTAURANT}]",
        )
        .replace("      # api:", "      api:")
        .replace("      #   base_url: https://ws-api.toasttab.com", f"        base_url: {API}")
        .replace("      #   client_id: ${DEMO_CAFE_TOAST_CLIENT_ID}", "        client_id: punchcard-client")
        .replace(
            "      #   client_secret: ${DEMO_CAFE_TOAST_CLIENT_SECRET}", "        client_secret: toast-client-secret"
        )
    )
    assert SECOND_RESTAURANT in tree_text
    sync(rt, parse_config(tree_text, TEST_ENV))
    reconcile(rt)
    toast.down.add(RESTAURANT)
    toast.add(T0 + timedelta(minutes=10), email="second@x.co", restaurant=SECOND_RESTAURANT)
    clock.now = T0 + timedelta(minutes=30)
    assert reconcile(rt) == 1
    assert (watermark(rt, RESTAURANT), watermark(rt, SECOND_RESTAURANT)) == (
        T0 - timedelta(minutes=1),
        clock.now - timedelta(minutes=1),
    )
    work()
    assert emails(rt) == ["second@x.co"]


def test_a_restaurant_moved_to_another_merchant_starts_over_with_a_first_poll(rt, toast):
    reconcile(rt)
    assert watermark(rt) is not None
    text = (
        EXAMPLE_CONFIG.read_text()
        .replace("slug: demo-cafe", "slug: demo-coffee")
        .replace("DEMO_CAFE_API_KEY:-demo-cafe-dev-key", "DEMO_COFFEE_API_KEY:-demo-coffee-dev-key")
    )
    renamed = parse_config(text, TEST_ENV)
    for n, reward in enumerate(renamed.merchants[0].rewards):
        reward.uuid = f"00000000-0000-4000-8000-{n:012d}"
    sync(rt, renamed)
    assert watermark(rt) is None
