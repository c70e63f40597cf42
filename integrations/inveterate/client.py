"""Inveterate's Public API 2.0 (seed 003, reference notes §4): members by Shopify customer id, and their credits.

Every call carries ``X-Inveterate-Api-Key`` and an explicit timeout. Answers
are the envelope ``{message, data}``: 200 is "immediate", 201 "accepted,
applied a little later" (a credit posted now may be missing from the member's
balance and credit list for a while). A 429, a 5xx, a timeout or a broken
connection is :class:`InveterateRetryableError` (with ``Retry-After``); any
other refusal is :class:`InveterateRefusedError`, whose message is the
envelope's ``message`` with our key blanked out. Money goes out and comes back
as exact numbers (Decimal), never through a float.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from integrations.common import PermanentError, RetryableError, parse_retry_after

PAGE_SIZE = 100  # credits per page when looking for a note; Inveterate documents no maximum
MAX_PAGES = 50  # a member with more than 5,000 credit entries is searched no further
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
_MARK = "__inveterate_decimal__"


class InveterateRetryableError(RetryableError):
    """Inveterate throttled us, failed, or did not answer: try again later (``retry_after`` seconds when it said)."""


class InveterateRefusedError(PermanentError):
    """Inveterate refused the call for good; ``code`` names the HTTP status (``bad_request``, ...)."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class InveterateMember:
    """A member of the merchant's Inveterate program: its Shopify customer id and its store credit."""

    customer_id: str
    credit: Decimal  # spendable store credit now
    credits_earned: Decimal  # every credit it ever received
    status: str | None = None


@dataclass(frozen=True)
class CreditEntry:
    """One entry of a member's credit list, as far as Punchcard reads it."""

    amount: Decimal | None
    note: str | None


class InveterateClient:
    """One merchant's Inveterate program, through its private API key."""

    def __init__(self, *, base_url: str, api_key: str, session: requests.Session, timeout: float = 5.0) -> None:
        """A client for ``base_url`` (``https://public.inveterateapi.com``; a trailing ``/v2.0`` is accepted)."""
        self.base_url = re.sub(r"/v2\.0/?$", "", base_url.rstrip("/"))
        self._api_key = api_key
        self._session = session
        self.timeout = timeout

    def member(self, customer_id: str) -> InveterateMember | None:
        """``GET /v2.0/admin/members/{id}``: the member, or None when the Shopify customer is not a member."""
        try:
            data = self._call("GET", f"/v2.0/admin/members/{_seg(customer_id)}")
        except InveterateRefusedError as exc:
            if exc.status == 404:
                return None
            raise
        member = data.get("data")
        if not isinstance(member, dict) or not member:
            return None  # 200 without a member: Inveterate has none for this customer
        return InveterateMember(
            customer_id=str(member.get("customerId") or customer_id),
            credit=_decimal(member.get("credit"), "credit"),
            credits_earned=_decimal(member.get("creditsEarned"), "creditsEarned"),
            status=member.get("status") if isinstance(member.get("status"), str) else None,
        )

    def add_credit(self, customer_id: str, amount: Decimal, *, note: str) -> bool:
        """``POST …/members/{id}/credits`` ``{amount, note}``: ±amount of store credit (never 0).

        True when Inveterate applied it at once (200), False when it accepted it
        to apply a little later (201).
        """
        if amount == 0:
            raise ValueError("Inveterate refuses a credit of 0")
        response = self._request(
            "POST", f"/v2.0/admin/members/{_seg(customer_id)}/credits", {"amount": amount, "note": note}
        )
        return response.status_code == 200

    def credits(
        self, customer_id: str, *, limit: int = PAGE_SIZE, cursor: str | None = None
    ) -> tuple[list[CreditEntry], str | None]:
        """One page of the member's credit list and the cursor of the next (``lastCreditEntry``; None at the end)."""
        params = {"limit": str(limit), **({"lastCreditEntry": cursor} if cursor else {})}
        data = self._call("GET", f"/v2.0/admin/members/{_seg(customer_id)}/credits", params=params).get("data")
        rows, following = _page(data)
        return [_entry(row) for row in rows if isinstance(row, dict)], following

    def find_credit(self, customer_id: str, note: str) -> CreditEntry | None:
        """The member's credit whose note is ``note`` (our posting key), looking through every page; None if none."""
        cursor, seen = None, set()
        for _ in range(MAX_PAGES):
            entries, cursor = self.credits(customer_id, cursor=cursor)
            found = next((entry for entry in entries if entry.note == note), None)
            if found is not None:
                return found
            if not entries or cursor is None or cursor in seen:
                return None
            seen.add(cursor)
        return None

    def _call(self, method: str, path: str, body: dict | None = None, *, params: dict | None = None) -> dict:
        return _json(self._request(method, path, body, params=params))

    def _request(
        self, method: str, path: str, body: dict | None = None, *, params: dict | None = None
    ) -> requests.Response:
        headers = {"X-Inveterate-Api-Key": self._api_key, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = _dumps(body).encode()
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise InveterateRetryableError(
                f"Inveterate did not answer {method} {path} in {self.timeout}s", code="timeout"
            ) from None
        except requests.RequestException as exc:
            raise InveterateRetryableError(
                f"Inveterate unreachable: {type(exc).__name__}", code="network_error"
            ) from None
        self._check(response, method, path)
        return response

    def _check(self, response: requests.Response, method: str, path: str) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise InveterateRetryableError(
                f"HTTP {status} from Inveterate for {method} {path}: {self._message(response)}",
                code="rate_limited" if status == 429 else "server_error",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400:
            raise InveterateRefusedError(
                f"Inveterate refused {method} {path}: {self._message(response)}",
                code=_CODES.get(status, f"http_{status}"),
                status=status,
            )

    def _message(self, response: requests.Response) -> str:
        """The envelope's ``message`` (first 300 characters), our key blanked out should Inveterate echo it."""
        try:
            message = json.loads(response.content).get("message")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            message = None
        text = str(message)[:300] if message else f"HTTP {response.status_code}"
        return text.replace(self._api_key, "[key]") if self._api_key else text


def _json(response: requests.Response) -> dict:
    if not response.content:
        return {}
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _malformed("the body is not JSON") from None
    if not isinstance(data, dict):
        raise _malformed("the body is not a JSON object")
    return data


def _page(data: Any) -> tuple[list, str | None]:
    """The entries and the next cursor of a credit list page, in the shapes Inveterate may answer (undocumented).

    ``data`` is the list itself, or an object holding it (``credits``,
    ``items``, ``entries`` or ``data``) with the cursor as ``lastCreditEntry``.
    """
    if isinstance(data, list):
        return data, None
    if not isinstance(data, dict):
        return [], None
    rows = next((data[k] for k in ("credits", "items", "entries", "data") if isinstance(data.get(k), list)), [])
    cursor = data.get("lastCreditEntry")
    if isinstance(cursor, dict | list):
        cursor = json.dumps(cursor, default=str, separators=(",", ":"))  # passed back as it came, encoded
    return rows, str(cursor) if cursor not in (None, "") else None


def _entry(row: dict) -> CreditEntry:
    note = next((row[k] for k in ("note", "reason", "description") if isinstance(row.get(k), str)), None)
    try:
        amount = _decimal(row.get("amount"), "amount") if row.get("amount") is not None else None
    except InveterateRefusedError:
        amount = None
    return CreditEntry(amount=amount, note=note)


def _malformed(message: str) -> InveterateRefusedError:
    return InveterateRefusedError(f"Inveterate's answer is malformed: {message}", code="malformed_response", status=200)


def _decimal(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise _malformed(f"{name} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _malformed(f"{name} is not a number") from None
    if not number.is_finite():
        raise _malformed(f"{name} is not a finite number")
    return number


def _seg(value: str) -> str:
    """An id as one path segment (Shopify's customer ids are digits; anything else is escaped)."""
    return requests.utils.quote(str(value), safe="")


def _dumps(body: dict) -> str:
    """JSON with Decimals written as exact numbers (``2.12``), never through a float."""
    text = json.dumps(body, default=lambda v: f"{_MARK}{format(v, 'f')}" if isinstance(v, Decimal) else _refuse(v))
    return re.sub(f'"{_MARK}([^"]*)"', r"\1", text)


def _refuse(value: Any) -> Any:
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
