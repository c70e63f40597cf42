"""Hang's partner API (seeds 000 and 001, reference notes §1): memberships, purchase activities, level, rewards,
redemptions.

Every call carries ``X-API-KEY`` and an explicit timeout. Hang's error body is
``{id, code, messages: [{title, message}]}``; the machine code to branch on is
``messages[0].message`` (``INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD``, ...).
A 429, a 5xx, a timeout or a broken connection is :class:`HangRetryableError`
(with Hang's ``Retry-After``); any other refusal is :class:`HangRefusedError`,
which repeating the same call will not fix. Money goes out as exact JSON
numbers; ids stay strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from integrations.common import PermanentError, RetryableError, parse_retry_after

_MARK = "__hang_decimal__"


class HangRetryableError(RetryableError):
    """Hang throttled us, failed, or did not answer: try again later (``retry_after`` seconds when it said)."""


class HangRefusedError(PermanentError):
    """Hang refused the call for good; ``code`` is its ``messages[0].message`` (or ``http_<status>``)."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class HangMembership:
    """A Hang program membership: its ``id`` is what every member call names."""

    id: str
    external_user_id: str | None = None


@dataclass(frozen=True)
class HangLevel:
    """A member's tier, lifetime balance and spendable balance (None when Hang's rewards are not points-priced)."""

    tier: str | None
    balance: Decimal
    spendable: int | None


@dataclass(frozen=True)
class HangRedemption:
    """A Hang redemption: ``uuid`` names it for redeem and void; ``state`` is initiated, redeemed or denied."""

    uuid: str
    state: str | None = None
    code: str | None = None
    expires_at: datetime | None = None


class HangClient:
    """One merchant's Hang program, through its API key."""

    def __init__(self, *, base_url: str, api_key: str, session: requests.Session, timeout: float = 5.0) -> None:
        """A client for ``base_url`` (ending in ``/partner-api``) with ``timeout`` seconds per call."""
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session
        self.timeout = timeout

    def with_timeout(self, timeout: float) -> HangClient:
        """The same client with another per-call timeout (the POS's calls get a shorter one)."""
        return HangClient(base_url=self.base_url, api_key=self._api_key, session=self._session, timeout=timeout)

    def get_or_create_membership(
        self,
        *,
        phone: str | None,
        external_user_id: str | None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> HangMembership:
        """``POST /v2/program-memberships``: Hang's get-or-create (200 whether it created or found the member)."""
        body = {
            "phone": phone,
            "external_user_id": external_user_id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
        }
        data = self._call("POST", "/v2/program-memberships", {k: v for k, v in body.items() if v})
        membership = _object(data, "membership")
        return HangMembership(id=_text(membership, "id"), external_user_id=membership.get("external_user_id"))

    def record_purchase(
        self, *, membership_id: str, idempotency_key: str, activity_type_id: str, value: Decimal, timestamp: int
    ) -> None:
        """A synchronous purchase activity: Hang's rules turn ``value`` (currency units) into points, once per key."""
        activity = {"activity_type_id": activity_type_id, "value": value, "transaction_timestamp": timestamp}
        self._call(
            "POST",
            f"/v2/program-memberships/{_seg(membership_id)}/activities/synchronous",
            {"idempotency_key": idempotency_key, "activity": activity},
        )

    def level(self, *, membership_id: str) -> HangLevel:
        """``GET …/level`` in either documented shape: ``{level: {tier, balance}}`` or the unwrapped one."""
        data = self._call("GET", f"/v2/program-memberships/{_seg(membership_id)}/level")
        level = data.get("level") if isinstance(data.get("level"), dict) else data
        spendable = level.get("spendable_balance")
        return HangLevel(
            tier=level.get("tier") if isinstance(level.get("tier"), str) else None,
            balance=_decimal(level.get("balance"), "balance"),
            spendable=int(_decimal(spendable, "spendable_balance")) if spendable is not None else None,
        )

    def rewards(self, *, membership_id: str) -> list[dict]:
        """The member's rewards as Hang lists them (seed 001's properties, ``points_price`` when points-priced)."""
        data = self._call("GET", f"/v2/program-memberships/{_seg(membership_id)}/rewards")
        rewards = data.get("rewards")
        if not isinstance(rewards, list) or not all(isinstance(r, dict) for r in rewards):
            raise _malformed("rewards is not a list of objects")
        return rewards

    def create_redemption(self, *, membership_id: str, reward_id: str) -> HangRedemption:
        """Step 1: validate and start redeeming ``reward_id`` (a reward uuid); nothing is charged yet."""
        data = self._call(
            "POST", f"/v2/program-memberships/{_seg(membership_id)}/redemptions", {"reward_id": reward_id}
        )
        return _redemption(_object(data, "redemption"))

    def redeem(self, *, redemption_uuid: str) -> HangRedemption | None:
        """Step 2: charge the redemption (idempotent at Hang)."""
        data = self._call("POST", f"/v2/redemptions/{_seg(redemption_uuid)}/redeem")
        return _redemption(data["redemption"]) if isinstance(data.get("redemption"), dict) else None

    def void(self, *, redemption_uuid: str) -> None:
        """Void a redemption: its points come back (idempotent at Hang; the answer's body is undocumented)."""
        self._call("POST", f"/v2/redemptions/{_seg(redemption_uuid)}/void")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"X-API-KEY": self._api_key, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = _dumps(body)
        try:
            response = self._session.request(
                method, self.base_url + path, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            message = f"Hang did not answer {method} {path} in {self.timeout}s"
            raise HangRetryableError(message, code="timeout") from None
        except requests.RequestException as exc:
            raise HangRetryableError(f"Hang unreachable: {type(exc).__name__}", code="network_error") from None
        return _answer(response, method, path)


def _answer(response: requests.Response, method: str, path: str) -> dict:
    if response.status_code == 429 or response.status_code >= 500:
        raise HangRetryableError(
            f"HTTP {response.status_code} from Hang for {method} {path}",
            code="rate_limited" if response.status_code == 429 else "server_error",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    data = _json(response)
    if response.status_code >= 400:
        code, message = _refusal(data, response.status_code)
        raise HangRefusedError(f"Hang refused {method} {path}: {message}", code=code, status=response.status_code)
    return data


def _refusal(data: dict, status: int) -> tuple[str, str]:
    """``messages[0].message`` of Hang's error body (the code), and a sentence; ``http_<status>`` otherwise."""
    messages = data.get("messages")
    first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
    code = first.get("message") if isinstance(first.get("message"), str) else None
    if code is None and isinstance(data.get("message"), str):
        code = data["message"]
    code = code if code and re.fullmatch(r"[A-Z][A-Z0-9_]{2,80}", code) else f"http_{status}"
    return code, str(first.get("title") or data.get("message") or code)


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


def _malformed(message: str) -> PermanentError:
    return HangRefusedError(f"Hang's answer is malformed: {message}", code="malformed_response", status=200)


def _object(data: dict, name: str) -> dict:
    if not isinstance(data.get(name), dict):
        raise _malformed(f"{name} is missing")
    return data[name]


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise _malformed(f"{name} is missing")
    return str(value)


def _decimal(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _malformed(f"{name} is not a number") from None
    if not number.is_finite():
        raise _malformed(f"{name} is not a finite number")
    return number


def _redemption(data: dict) -> HangRedemption:
    expires = data.get("expires_at")
    expires_at = datetime.fromtimestamp(int(expires), UTC) if isinstance(expires, int | Decimal) and expires else None
    return HangRedemption(
        uuid=_text(data, "uuid"), state=data.get("state"), code=data.get("code"), expires_at=expires_at
    )


def _seg(value: str) -> str:
    """An id as one path segment: Hang's ids are opaque, so anything else is escaped."""
    return requests.utils.quote(str(value), safe="")


def _dumps(body: dict) -> str:
    """JSON with Decimals written as exact numbers (``25.00``), never through a float."""
    text = json.dumps(body, default=lambda v: f"{_MARK}{v}" if isinstance(v, Decimal) else _refuse(v))
    return re.sub(f'"{_MARK}([^"]*)"', r"\1", text)


def _refuse(value: Any) -> Any:
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
