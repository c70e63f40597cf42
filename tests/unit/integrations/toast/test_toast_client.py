"""ToastClient against a faked Toast speaking its documented auth and Orders API shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from integrations.toast.client import (
    MemoryTokenCache,
    ToastApi,
    ToastClient,
    ToastPermanentError,
    ToastRetryableError,
    iter_orders_bulk,
    toast_time,
)
from toast_factories import RESTAURANT_GUID, toast_body, toast_check, toast_order, toast_selection

BASE = "https://ws-sandbox-api.eng.toasttab.com"
LOGIN = f"{BASE}/authentication/v1/authentication/login"
BULK = f"{BASE}/orders/v2/ordersBulk"
ORDER_GUID = "0a1b2c3d-0000-4000-8000-00000000abcd"
ORDER_URL = f"{BASE}/orders/v2/orders/{ORDER_GUID}"
CLIENT_ID = "VKuhk4NaLedOcjZpJM8grvdrsFi3MlcM"
SECRET = "eS960aiKdvgbSDcLUCk68HR2CJKwwHNO2HKfgxjCWxoj27KIp6jFAi2XOOc_oCuv"
START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
END = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_response(token: str, expires_in: int = 86400) -> dict:
    """Toast's AuthenticationResponse."""
    return {
        "status": "SUCCESS",
        "token": {
            "tokenType": "Bearer",
            "scope": None,
            "expiresIn": expires_in,
            "accessToken": token,
            "idToken": None,
            "refreshToken": None,
        },
    }


def order_body(guid: str = ORDER_GUID) -> bytes:
    return toast_body(toast_order(guid, checks=[toast_check(selections=[toast_selection(price="12345678.91")])]))


@pytest.fixture
def toast():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(clock) -> ToastClient:
    return ToastClient(
        base_url=BASE + "/",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        session=requests.Session(),
        timeout=3.0,
        clock=clock,
    )


def logins(toast) -> list:
    return [c for c in toast.calls if c.request.url == LOGIN]


def test_the_client_satisfies_the_toast_api_protocol(client):
    api: ToastApi = client
    assert callable(api.get_order) and callable(api.orders_bulk)


def test_it_logs_in_as_a_machine_client_then_fetches_the_order_with_the_bearer_token(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, body=order_body(), content_type="application/json")

    order = client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert order["guid"] == ORDER_GUID
    assert order["checks"][0]["selections"][0]["price"] == Decimal("12345678.91")
    assert json.loads(toast.calls[0].request.body) == {
        "clientId": CLIENT_ID,
        "clientSecret": SECRET,
        "userAccessType": "TOAST_MACHINE_CLIENT",
    }
    headers = toast.calls[1].request.headers
    assert headers["Authorization"] == "Bearer tok-1"
    assert headers["Toast-Restaurant-External-ID"] == RESTAURANT_GUID


def test_the_token_is_reused_across_calls_and_restaurants_until_shortly_before_it_expires(toast, client, clock):
    toast.post(LOGIN, json=token_response("tok-1", expires_in=3600))
    toast.post(LOGIN, json=token_response("tok-2", expires_in=3600))
    toast.get(ORDER_URL, body=order_body())

    client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    clock.now += 3500
    client.get_order(restaurant_guid="another-restaurant", order_guid=ORDER_GUID)
    assert len(logins(toast)) == 1

    clock.now += 90  # inside the last minute of the token
    client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert len(logins(toast)) == 2
    assert toast.calls[-1].request.headers["Authorization"] == "Bearer tok-2"


def test_a_shared_token_cache_spares_a_second_process_the_login(toast, clock):
    cache = MemoryTokenCache(clock=clock)
    first, second = (
        ToastClient(base_url=BASE, client_id=CLIENT_ID, client_secret=SECRET, token_cache=cache) for _ in range(2)
    )
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, body=order_body())

    first.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    second.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert len(logins(toast)) == 1


def test_a_401_logs_in_again_once_and_retries_the_call(toast, client):
    toast.post(LOGIN, json=token_response("tok-old"))
    toast.post(LOGIN, json=token_response("tok-new"))
    toast.get(ORDER_URL, status=401, json={"status": "401", "message": "Token expired"})
    toast.get(ORDER_URL, body=order_body())

    assert client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)["guid"] == ORDER_GUID
    assert [c.request.headers.get("Authorization") for c in toast.calls if c.request.url == ORDER_URL] == [
        "Bearer tok-old",
        "Bearer tok-new",
    ]
    assert len(logins(toast)) == 2


def test_a_second_401_is_a_permanent_error(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, status=401)

    with pytest.raises(ToastPermanentError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert error.value.code == "unauthorized"
    assert len(logins(toast)) == 2 and len(toast.calls) == 4


def test_refused_credentials_are_a_permanent_login_error(toast, client):
    toast.post(LOGIN, status=401, json={"status": "401", "message": "Bad credentials"})
    with pytest.raises(ToastPermanentError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    assert error.value.code == "login_failed"


def test_429_is_retryable_after_the_retry_after_seconds_and_the_client_never_sleeps(toast, client, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: pytest.fail("the client must not sleep"))
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, status=429, headers={"Retry-After": "7"}, json={"status": "429"})

    with pytest.raises(ToastRetryableError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert (error.value.code, error.value.retry_after) == ("rate_limited", 7.0)


def test_a_rate_limited_login_is_retryable_too(toast, client):
    toast.post(LOGIN, status=429, headers={"Retry-After": "60"})
    with pytest.raises(ToastRetryableError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    assert error.value.retry_after == 60.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(toast, client, status):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, status=status, json={"message": "There was a problem", "requestId": "req-42"})

    with pytest.raises(ToastRetryableError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    assert error.value.code == "server_error" and error.value.retry_after is None
    assert "req-42" in str(error.value)


@pytest.mark.parametrize(
    "failure, reason",
    [(requests.ConnectTimeout("slow"), "timeout"), (requests.ConnectionError("refused"), "network_error")],
)
def test_timeouts_and_connection_errors_are_retryable(toast, client, failure, reason):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, body=failure)
    with pytest.raises(ToastRetryableError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    assert error.value.code == reason


@pytest.mark.parametrize("status, reason", [(400, "bad_request"), (403, "forbidden"), (404, "not_found")])
def test_client_errors_are_permanent(toast, client, status, reason):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, status=status)
    with pytest.raises(ToastPermanentError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    assert error.value.code == reason


def test_secrets_and_tokens_never_show_in_errors_or_reprs(toast, client):
    toast.post(LOGIN, json=token_response("tok-very-secret"))
    toast.get(ORDER_URL, status=403, json={"message": f"bad token tok-very-secret for {SECRET}"})

    with pytest.raises(ToastPermanentError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)

    shown = " ".join([str(error.value), repr(error.value), repr(client), repr(client._cache)])
    assert SECRET not in shown and "tok-very-secret" not in shown
    assert "[redacted]" in str(error.value)


def test_a_body_that_is_not_json_is_a_permanent_error(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(ORDER_URL, body="<html>oops</html>")
    with pytest.raises(ToastPermanentError) as error:
        client.get_order(restaurant_guid=RESTAURANT_GUID, order_guid=ORDER_GUID)
    assert error.value.code == "malformed_response"


def test_orders_bulk_sends_the_window_in_toasts_iso_format_with_milliseconds_and_offset(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(BULK, json=[])
    start = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    assert client.orders_bulk(restaurant_guid=RESTAURANT_GUID, start=start, end=END, page=3, page_size=50) == []

    request = toast.calls[1].request
    assert "startDate=2026-06-01T10%3A00%3A00.000%2B0000" in request.url
    query = parse_qs(urlsplit(request.url).query)
    assert query == {
        "startDate": ["2026-06-01T10:00:00.000+0000"],
        "endDate": ["2026-06-01T11:00:00.000+0000"],
        "page": ["3"],
        "pageSize": ["50"],
    }
    assert request.headers["Toast-Restaurant-External-ID"] == RESTAURANT_GUID


def test_toast_time_keeps_milliseconds_and_rounds_an_exclusive_end_up():
    moment = datetime(2026, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert toast_time(moment) == "2026-06-01T10:00:00.123+0000"
    assert toast_time(moment, round_up=True) == "2026-06-01T10:00:00.124+0000"
    with pytest.raises(ValueError):
        toast_time(datetime(2026, 6, 1))


@pytest.mark.parametrize(
    "kwargs", [dict(start=END, end=START), dict(page=0), dict(page_size=101), dict(start=datetime(2026, 6, 1))]
)
def test_orders_bulk_refuses_windows_and_pages_toast_would_reject(client, kwargs):
    arguments = dict(restaurant_guid=RESTAURANT_GUID, start=START, end=END) | kwargs
    with pytest.raises(ValueError):
        client.orders_bulk(**arguments)


def test_paging_stops_on_a_short_page(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    pages = [[toast_order() for _ in range(2)], [toast_order() for _ in range(2)], [toast_order()]]
    for page in pages:
        toast.get(BULK, body=toast_body(page))

    got = list(iter_orders_bulk(client, restaurant_guid=RESTAURANT_GUID, start=START, end=END, page_size=2))

    assert [o["guid"] for o in got] == [o["guid"] for page in pages for o in page]
    bulk_calls = [c for c in toast.calls if c.request.url.startswith(BULK)]
    assert [parse_qs(urlsplit(c.request.url).query)["page"] for c in bulk_calls] == [["1"], ["2"], ["3"]]
    assert len(logins(toast)) == 1


def test_paging_stops_on_an_empty_page_after_full_ones(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(BULK, body=toast_body([toast_order(), toast_order()]))
    toast.get(BULK, json=[])

    assert len(list(iter_orders_bulk(client, restaurant_guid=RESTAURANT_GUID, start=START, end=END, page_size=2))) == 2


def test_paging_gives_up_when_pages_never_end(toast, client):
    toast.post(LOGIN, json=token_response("tok-1"))
    toast.get(BULK, body=toast_body([toast_order()]))
    with pytest.raises(ToastPermanentError) as error:
        list(iter_orders_bulk(client, restaurant_guid=RESTAURANT_GUID, start=START, end=END, page_size=1, max_pages=3))
    assert error.value.code == "too_many_pages"
