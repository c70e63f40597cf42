"""Voucherify's Loyalty v2 API (seed 004, reference notes §2): customers, program members, their cards' points.

Every call carries ``X-App-Id`` and ``X-App-Token`` and an explicit timeout.
Voucherify's error body is ``{code, key, message, details, request_id}``; the
machine code to branch on is ``key`` (``member_already_exists``,
``non_active_program``, ...). A 429 (waiting what ``Retry-After`` or the epoch
in ``X-Rate-Limit-Retry`` asks), a 5xx, a timeout, a broken connection, a 402
(the plan's limit, lifted by the merchant) or the session lock
``multiple_requests`` is :class:`VoucherifyRetryableError`; any other refusal,
the 423s of an inactive program or member included, is
:class:`VoucherifyRefusedError`, which repeating the same call will not fix.

Card point adjustments carry no idempotency key on Voucherify's side: the
caller puts its own key in ``reason`` and, before resending one whose first
outcome is unknown, looks for it with :meth:`VoucherifyClient.find_transaction`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from integrations.common import PayloadError, PermanentError, RetryableError, parse_retry_after, parse_time

PAGE = 100  # the most card transactions Voucherify lists at once
MAX_PAGES = 50  # of card transactions read looking for one key, newest first
RETRYABLE_KEYS = {"multiple_requests"}  # "a session lock is in place": the same call works once it is released
_LIFETIME = ("earned", "added", "subtracted", "expired", "spent", "refunded", "returned", "locked", "unlocked")


class VoucherifyRetryableError(RetryableError):
    """Voucherify throttled us, failed, or did not answer: try again later (``retry_after`` seconds when it said)."""


class VoucherifyRefusedError(PermanentError):
    """Voucherify refused the call for good; ``code`` is its error ``key`` (or ``http_<status>``)."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class VoucherifyCard:
    """A member's loyalty card: its spendable and pending points, lifetime buckets and what comes next."""

    id: str
    points: int
    pending_points: int
    lifetime: dict[str, int]  # lifetime_bucket.points: total, earned, added, subtracted, ...
    pending: dict[str, int]  # lifetime_bucket.pending_points: total, activated, canceled
    next_expiration: dict | None  # {points, date}
    next_activation: dict | None  # {points, date}
    tier: str | None = None  # the membership's tier_progress.current.tier.name


@dataclass(frozen=True)
class VoucherifyMembership:
    """A program member (``lmbr_…``) and its cards (``cards[0]`` is the one points are kept on)."""

    member_id: str
    customer_id: str | None
    status: str | None
    cards: tuple[VoucherifyCard, ...]


@dataclass(frozen=True)
class CardTransaction:
    """One card transaction; ``status`` is PENDING, PROCESSING, APPROVED or REJECTED (Voucherify works async)."""

    id: str
    type: str | None
    status: str | None
    reason: str | None
    points: int
    created_at: datetime | None
    rejection: str | None = None


class VoucherifyClient:
    """One merchant's Voucherify project, through its application keys."""

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        app_token: str,
        session: requests.Session,
        timeout: float = 5.0,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        """A client for ``base_url`` (``https://api.voucherify.io`` or a region's) with ``timeout`` seconds per call.

        ``epoch`` is the clock ``X-Rate-Limit-Retry`` (an instant) is measured against.
        """
        self.base_url = base_url.rstrip("/")
        self._app_id, self._app_token = app_id, app_token
        self._session = session
        self.timeout = timeout
        self._epoch = epoch

    # --- customers and members ---------------------------------------------------------------------

    def upsert_customer(
        self, *, source_id: str, email: str | None = None, phone: str | None = None, name: str | None = None
    ) -> str:
        """``POST /v1/customers``: created, or updated when ``source_id`` exists (an upsert); its ``cust_`` id."""
        body = {"source_id": source_id, "email": email, "phone": phone, "name": name}
        data = self._call("POST", "/v1/customers", {k: v for k, v in body.items() if v})
        return _text(data, "id")

    def membership(self, program_id: str, identifier: str, *, by: str = "member_id") -> VoucherifyMembership:
        """``GET …/memberships/{identifier}?identification_type=by``: the member, its cards and their tier progress."""
        data = self._call(
            "GET", f"{_program(program_id)}/memberships/{_seg(identifier)}", params={"identification_type": by}
        )
        return _membership(data)

    def create_member(self, program_id: str, customer_id: str) -> VoucherifyMembership:
        """``POST …/members {customer_id}``: the customer enrolled, with the cards the program assigns."""
        return _membership(self._call("POST", f"{_program(program_id)}/members", {"customer_id": customer_id}))

    def get_or_create_member(
        self,
        program_id: str,
        *,
        source_id: str,
        email: str | None = None,
        phone: str | None = None,
        name: str | None = None,
    ) -> VoucherifyMembership:
        """The Loyalty v2 guide's get-or-create: upsert the customer, read its membership, 404: create, 409: read."""
        customer_id = self.upsert_customer(source_id=source_id, email=email, phone=phone, name=name)
        try:
            return self.membership(program_id, source_id, by="customer_source_id")
        except VoucherifyRefusedError as exc:
            if exc.status != 404:
                raise
        try:
            return self.create_member(program_id, customer_id)
        except VoucherifyRefusedError as exc:
            if exc.code != "member_already_exists":
                raise  # 423 non_active_program and the rest: enrolling again will not help
        return self.membership(program_id, source_id, by="customer_source_id")  # created meanwhile

    # --- points ----------------------------------------------------------------------------------------

    def adjust_points(
        self, program_id: str, *, member_id: str, card_id: str, points: int, reason: str
    ) -> CardTransaction | None:
        """``POST …/cards/{card}/points {points: ±N, reason}``: an ADMIN_CREDIT or ADMIN_DEBIT, created PENDING.

        None when Voucherify made no transaction (``NO_CHANGE``, for 0 points).
        """
        path = f"{_program(program_id)}/members/{_seg(member_id)}/cards/{_seg(card_id)}/points"
        data = self._call("POST", path, {"points": points, "reason": reason[:255]})
        made = data.get("transaction")
        if made is None and data.get("status") == "NO_CHANGE":
            return None
        if not isinstance(made, dict):
            raise _malformed("transaction is missing")
        return _transaction(made)

    def transactions(
        self, program_id: str, *, member_id: str, card_id: str, cursor: str | None = None
    ) -> tuple[list[CardTransaction], str | None]:
        """One page of the card's transactions, newest first, and the next page's cursor (None at the end)."""
        path = f"{_program(program_id)}/members/{_seg(member_id)}/cards/{_seg(card_id)}/transactions"
        params = {"limit": PAGE, "order": "-created_at", **({"cursor": cursor} if cursor else {})}
        data = self._call("GET", path, params=params)
        rows = data.get("data")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise _malformed("data is not a list of transactions")
        following = data.get("cursor")
        following = following.get("next") if isinstance(following, dict) else None
        return [_transaction(row) for row in rows], following if isinstance(following, str) and following else None

    def find_transaction(
        self, program_id: str, *, member_id: str, card_id: str, reason: str, not_before: datetime
    ) -> CardTransaction | None:
        """The card's transaction whose ``reason`` is ``reason``, looking back to ``not_before``; None when absent.

        Refused (``unverifiable``) when more than ``MAX_PAGES`` pages lie in the
        window: a resend could then count twice, so it is an operator's call.
        """
        cursor = None
        for _ in range(MAX_PAGES):
            page, cursor = self.transactions(program_id, member_id=member_id, card_id=card_id, cursor=cursor)
            found = next((row for row in page if row.reason == reason[:255]), None)
            if found is not None:
                return found
            oldest = page[-1].created_at if page else None
            if cursor is None or oldest is None or oldest < not_before:
                return None
        raise VoucherifyRefusedError(
            f"more than {MAX_PAGES * PAGE} transactions on card {card_id} since the posting: "
            "cannot tell whether it was applied",
            code="unverifiable",
            status=200,
        )

    # --- the wire -----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        headers = {"X-App-Id": self._app_id, "X-App-Token": self._app_token, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            message = f"Voucherify did not answer {method} {path} in {self.timeout}s"
            raise VoucherifyRetryableError(message, code="timeout") from None
        except requests.RequestException as exc:
            raise VoucherifyRetryableError(
                f"Voucherify unreachable: {type(exc).__name__}", code="network_error"
            ) from None
        return self._answer(response, method, path)

    def _answer(self, response: requests.Response, method: str, path: str) -> dict:
        status = response.status_code
        data = _json(response) if status < 400 else _json_or_empty(response)
        if status < 400:
            return data
        key = data.get("key") if isinstance(data.get("key"), str) and data.get("key") else None
        said = ": ".join(str(data[k]) for k in ("message", "details") if isinstance(data.get(k), str) and data[k])
        message = f"Voucherify answered {status} to {method} {path}" + (f": {said}" if said else "")
        if status in (402, 429) or status >= 500 or key in RETRYABLE_KEYS:
            code = key or {402: "plan_limit", 429: "rate_limited"}.get(status, "server_error")
            raise VoucherifyRetryableError(message, code=code, retry_after=self._retry_after(response.headers))
        raise VoucherifyRefusedError(message, code=key or f"http_{status}", status=status)

    def _retry_after(self, headers) -> float | None:
        """The longer of ``Retry-After`` (seconds) and ``X-Rate-Limit-Retry`` (the epoch second to wait for)."""
        waits = [parse_retry_after(headers.get("Retry-After"))]
        until = headers.get("X-Rate-Limit-Retry")
        try:
            instant = float(until) if until is not None else math.nan
        except ValueError:
            instant = math.nan
        if math.isfinite(instant):
            instant = instant / 1000 if instant > 10**11 else instant  # milliseconds, though documented as seconds
            waits.append(max(instant - self._epoch(), 0.0))
        known = [wait for wait in waits if wait is not None]
        return max(known) if known else None


def _program(program_id: str) -> str:
    return f"/v2/loyalties/programs/{_seg(program_id)}"


def _seg(value: str) -> str:
    """An id as one path segment: Voucherify's ids are opaque, so anything else is escaped."""
    return requests.utils.quote(str(value), safe="")


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


def _json_or_empty(response: requests.Response) -> dict:
    """An error's body: Voucherify's when it is JSON, else nothing (a proxy's page in front of it says no more)."""
    try:
        return _json(response)
    except VoucherifyRefusedError:
        return {}


def _malformed(message: str) -> VoucherifyRefusedError:
    return VoucherifyRefusedError(f"Voucherify's answer is malformed: {message}", code="malformed_response", status=200)


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise _malformed(f"{name} is missing")
    return str(value)


def _int(value: Any, name: str) -> int:
    """A whole number of points; absent is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _malformed(f"{name} is not a number")
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        raise _malformed(f"{name} is not a whole number")
    return int(value)


def _object(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _dated(value: Any) -> dict | None:
    if not isinstance(value, dict) or value.get("points") is None:
        return None
    return {"points": _int(value.get("points"), "points"), "date": str(value.get("date") or "")}


def _card(entry: dict) -> VoucherifyCard:
    """A ``member_card`` entry (``{card, tier_progress}``) as a card."""
    card = entry.get("card")
    if not isinstance(card, dict):
        raise _malformed("a member card has no card")
    buckets = _object(card, "lifetime_bucket")
    points, pending = _object(buckets, "points"), _object(buckets, "pending_points")
    balance = _object(card, "balance")
    tier = _object(_object(_object(entry, "tier_progress"), "current"), "tier").get("name")
    return VoucherifyCard(
        id=_text(card, "id"),
        points=_int(balance.get("points"), "balance.points"),
        pending_points=_int(balance.get("pending_points"), "balance.pending_points"),
        lifetime={name: _int(points.get(name), name) for name in ("total", *_LIFETIME)},
        pending={name: _int(pending.get(name), name) for name in ("total", "activated", "canceled")},
        next_expiration=_dated(card.get("next_expiration")),
        next_activation=_dated(card.get("next_activation")),
        tier=tier if isinstance(tier, str) else None,
    )


def _membership(data: dict) -> VoucherifyMembership:
    """A membership (``{member, program, cards}``) or a member (``{id, …, cards}``, as create answers)."""
    member = data["member"] if isinstance(data.get("member"), dict) else data
    cards = data.get("cards") if isinstance(data.get("cards"), list) else member.get("cards")
    if not isinstance(cards, list) or not all(isinstance(entry, dict) for entry in cards):
        raise _malformed("cards is not a list")
    return VoucherifyMembership(
        member_id=_text(member, "id"),
        customer_id=member.get("customer_id") if isinstance(member.get("customer_id"), str) else None,
        status=member.get("status") if isinstance(member.get("status"), str) else None,
        cards=tuple(_card(entry) for entry in cards),
    )


def _transaction(data: dict) -> CardTransaction:
    details = _object(data, "details")
    rejection = details.get("rejection")
    try:
        created_at = parse_time(data.get("created_at"))
    except PayloadError:
        created_at = None
    return CardTransaction(
        id=_text(data, "id"),
        type=data.get("type") if isinstance(data.get("type"), str) else None,
        status=data.get("status") if isinstance(data.get("status"), str) else None,
        reason=details.get("reason") if isinstance(details.get("reason"), str) else None,
        points=_int(_object(details, "points").get("total"), "points.total"),
        created_at=created_at,
        rejection=str(rejection.get("reason") or rejection.get("details")) if isinstance(rejection, dict) else None,
    )
