"""Toast Orders API client: fetch one order, page through ``ordersBulk``.

Toast asks integrations to reuse an authentication token until it expires
(it returns the same token to every login during its validity and rate-limits
logins), so the token lives in a ``TokenCache`` shared by every restaurant and,
with a Redis-backed cache, by every process. The client never sleeps or
retries beyond one re-login on 401: failures become retryable/permanent
errors with a machine ``reason`` (and a ``retry_after`` hint) and the RQ job
decides. JSON is parsed with ``parse_float=Decimal`` so prices stay exact.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

import requests

from integrations.common import ApiError, PermanentError, RetryableError, parse_retry_after  # noqa: F401

LOGIN_PATH = "/authentication/v1/authentication/login"
ORDER_PATH = "/orders/v2/orders/{guid}"
BULK_PATH = "/orders/v2/ordersBulk"
MAX_PAGE_SIZE = 100  # the Orders API's documented maximum
# Toast only issues a new token during the last minute of the old one; renewing
# inside that minute gets a fresh token instead of the same one again.
_EXPIRY_MARGIN = 30.0
_PERMANENT_STATUS_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


class ToastApiError(ApiError):
    """A Toast API call failed; ``reason`` is a stable machine code."""


class ToastRetryableError(ToastApiError, RetryableError):
    """Transient failure (429, 5xx, timeout, network); retry after ``retry_after`` s if known."""


class ToastPermanentError(ToastApiError, PermanentError):
    """Failure that repeating the same call will not fix (credentials, access, bad request, bad body)."""


class ToastApi(Protocol):
    """What services need from the Toast Orders API (fakes in tests follow this shape)."""

    def get_order(self, *, restaurant_guid: str, order_guid: str) -> dict:
        """Return the Order with ``order_guid`` at ``restaurant_guid``."""
        ...

    def orders_bulk(
        self, *, restaurant_guid: str, start: datetime, end: datetime, page: int = 1, page_size: int = 100
    ) -> list[dict]:
        """Return one page of the orders modified in ``[start, end)``."""
        ...


class TokenCache(Protocol):
    """Where access tokens are kept between calls (in memory, or Redis to share across processes)."""

    def get(self, key: str) -> str | None:
        """The token stored under ``key``, or None when absent or expired."""
        ...

    def set(self, key: str, value: str, *, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        ...


class MemoryTokenCache:
    """A per-process ``TokenCache`` whose entries expire by ``clock``."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Build an empty cache reading time from ``clock`` (seconds)."""
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenCache(entries={len(self._entries)})"  # never the tokens

    def get(self, key: str) -> str | None:
        """The token under ``key`` unless its time is up."""
        entry = self._entries.get(key)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    def set(self, key: str, value: str, *, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds from now."""
        self._entries[key] = (value, self._clock() + ttl)


class ToastClient:
    """``ToastApi`` over HTTP for one Toast API client (one client id, many restaurants)."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        token_cache: TokenCache | None = None,
    ) -> None:
        """Build a client for ``base_url`` (e.g. ``https://ws-api.toasttab.com``)."""
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session or requests.Session()
        self._timeout = timeout
        self._cache = token_cache if token_cache is not None else MemoryTokenCache(clock=clock)
        self._last_token: str | None = None  # only to scrub it from error messages
        # One token per API client and environment, shared by all restaurants (Toast's advice).
        self._cache_key = "toast:token:" + hashlib.sha256(f"{self._base_url}|{client_id}".encode()).hexdigest()[:32]

    def __repr__(self) -> str:
        # Never the secret or the token: reprs end up in tracebacks and RQ job logs.
        return f"ToastClient(base_url={self._base_url!r}, client_id={self._client_id!r})"

    def get_order(self, *, restaurant_guid: str, order_guid: str) -> dict:
        """``GET /orders/v2/orders/{guid}``: the full Order (phone and names included)."""
        if not order_guid.strip():
            raise ValueError("order_guid must not be blank")
        body = self._get(ORDER_PATH.format(guid=quote(order_guid, safe="")), restaurant_guid=restaurant_guid)
        if not isinstance(body, dict):
            raise ToastPermanentError("order response is not a JSON object", code="malformed_response")
        return body

    def orders_bulk(
        self, *, restaurant_guid: str, start: datetime, end: datetime, page: int = 1, page_size: int = 100
    ) -> list[dict]:
        """``GET /orders/v2/ordersBulk``: one page of the orders modified in ``[start, end)``."""
        _check_window(start, end, page, page_size)
        params = {
            "startDate": toast_time(start),
            "endDate": toast_time(end, round_up=True),
            "page": page,
            "pageSize": page_size,
        }
        body = self._get(BULK_PATH, restaurant_guid=restaurant_guid, params=params)
        if not isinstance(body, list):
            raise ToastPermanentError("ordersBulk response is not a JSON array", code="malformed_response")
        return body

    def _get(self, path: str, *, restaurant_guid: str, params: dict | None = None) -> Any:
        """One authenticated GET; a 401 means the token is dead: get another, try once more."""
        token = self._token()
        response = self._send(path, token, restaurant_guid, params)
        if response.status_code == 401:
            response = self._send(path, self._token(stale=token), restaurant_guid, params)
        return self._result(response)

    def _token(self, *, stale: str | None = None) -> str:
        cached = self._cache.get(self._cache_key)
        # Another process may already have replaced a token that just failed.
        if cached and cached != stale:
            return cached
        token, expires_in = self._login()
        ttl = _token_ttl(expires_in)
        if ttl > 0:
            self._cache.set(self._cache_key, token, ttl=ttl)
        return token

    def _login(self) -> tuple[str, float]:
        """``POST /authentication/v1/authentication/login`` as a machine client."""
        payload = {
            "clientId": self._client_id,
            "clientSecret": self._client_secret,
            "userAccessType": "TOAST_MACHINE_CLIENT",
        }
        response = self._call("POST", LOGIN_PATH, json=payload, headers={"Accept": "application/json"})
        if response.status_code in (400, 401, 403):
            raise ToastPermanentError(f"Toast login refused (HTTP {response.status_code})", code="login_failed")
        token = _dig(self._result(response), "token")
        access, expires_in = _dig(token, "accessToken"), _dig(token, "expiresIn")
        if not isinstance(access, str) or not access:
            raise ToastPermanentError("login response has no accessToken", code="malformed_response")
        return access, _seconds(expires_in)

    def _send(self, path: str, token: str, restaurant_guid: str, params: dict | None) -> requests.Response:
        # Headers go on the request, not the session: a shared session must not
        # carry the token to other hosts.
        self._last_token = token
        headers = {
            "Authorization": f"Bearer {token}",
            "Toast-Restaurant-External-ID": restaurant_guid,
            "Accept": "application/json",
        }
        return self._call("GET", path, params=params, headers=headers)

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return self._session.request(method, self._base_url + path, timeout=self._timeout, **kwargs)
        except requests.Timeout as exc:
            raise ToastRetryableError("Toast request timed out", code="timeout") from exc
        except requests.RequestException as exc:
            # Only the class name: some requests errors embed request details.
            raise ToastRetryableError(f"network error: {type(exc).__name__}", code="network_error") from exc

    def _result(self, response: requests.Response) -> Any:
        if response.status_code >= 300:
            raise self._http_error(response)
        try:
            return json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ToastPermanentError("response is not JSON", code="malformed_response") from exc

    def _http_error(self, response: requests.Response) -> ToastApiError:
        status = response.status_code
        message = f"HTTP {status} from Toast{self._detail(response)}"
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return ToastRetryableError(message, code="rate_limited", retry_after=wait)
        if status >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return ToastRetryableError(message, code="server_error", retry_after=wait)
        return ToastPermanentError(message, code=_PERMANENT_STATUS_REASONS.get(status, f"http_{status}"))

    def _detail(self, response: requests.Response) -> str:
        """Toast's ErrorMessage ``message`` and ``requestId``, scrubbed of our secrets."""
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return ""
        parts = [str(body.get(k))[:200] for k in ("message", "requestId") if isinstance(body, dict) and body.get(k)]
        return self._scrub(": " + "; ".join(parts)) if parts else ""

    def _scrub(self, text: str) -> str:
        for secret in (self._client_secret, self._last_token):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


def iter_orders_bulk(
    client: ToastApi,
    *,
    restaurant_guid: str,
    start: datetime,
    end: datetime,
    page_size: int = 100,
    max_pages: int = 1000,
) -> Iterator[dict]:
    """Every order modified in ``[start, end)``, page after page until a short page.

    ``max_pages`` stops a server that keeps sending full pages from looping forever.
    """
    for page in range(1, max_pages + 1):
        orders = client.orders_bulk(
            restaurant_guid=restaurant_guid, start=start, end=end, page=page, page_size=page_size
        )
        yield from orders
        if len(orders) < page_size:
            return
    raise ToastPermanentError(f"ordersBulk still full after {max_pages} pages", code="too_many_pages")


def toast_time(moment: datetime, *, round_up: bool = False) -> str:
    """``2026-06-01T10:00:00.000+0000``: the Orders API's ISO 8601 with milliseconds, in UTC.

    ``round_up`` moves a sub-millisecond instant to the next millisecond, so an
    exclusive end never drops what happened just before it.
    """
    if moment.tzinfo is None:
        raise ValueError("a Toast time must be timezone-aware")
    moment = moment.astimezone(UTC)
    if round_up and moment.microsecond % 1000:
        moment += timedelta(microseconds=1000 - moment.microsecond % 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _token_ttl(expires_in: float) -> float:
    """How long to keep a token: until shortly before it expires (half its life if it is short)."""
    if expires_in > 2 * _EXPIRY_MARGIN:
        return expires_in - _EXPIRY_MARGIN
    return expires_in / 2


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0  # unknown lifetime: use the token for this call only
    return seconds if math.isfinite(seconds) else 0.0


def _check_window(start: datetime, end: datetime, page: int, page_size: int) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise ValueError("end must be later than start")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be >= 1 and page_size within 1..{MAX_PAGE_SIZE}")


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` or None as soon as a level is missing or not a dict."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
