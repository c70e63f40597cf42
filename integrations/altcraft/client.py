"""Altcraft's loyalty API v1.1 (seed 002, reference notes §3): members, accruals, redemptions, temporary
transactions, balances and the account's transaction history.

Every call is ``POST <base>/api/v1.1/<method>`` with a JSON body, the token as
``Authorization: Bearer`` (never in the body, so it is in no logged body) and
an explicit timeout. Every answer is the envelope ``{error, error_text, ...}``:
``error`` 0 is success, anything else a failure even on HTTP 200. Amounts and
balances are decimal strings both ways.

A 429, a 5xx, a timeout or a broken connection is :class:`AltcraftRetryableError`
(with ``Retry-After``); an envelope ``error`` of 429 or 5xx is retryable too. Any
other failure is :class:`AltcraftRefusedError`, whose ``code`` is
``altcraft_<error>`` and whose message is Altcraft's ``error_text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from integrations.common import PermanentError, RetryableError, parse_retry_after

PREFIX = "/api/v1.1"
PAGE = 100  # the largest page account/transactions gives
MAX_PAGES = 100  # a member's history is read up to 10,000 transactions deep, never without end


class AltcraftRetryableError(RetryableError):
    """Altcraft throttled us, failed, or did not answer: try again later (``retry_after`` seconds when it said)."""


class AltcraftRefusedError(PermanentError):
    """Altcraft refused the call for good; ``code`` is ``altcraft_<error>`` (or ``http_<status>``)."""

    def __init__(self, message: str, *, code: str, error: int | None = None) -> None:
        super().__init__(message, code=code)
        self.error = error


@dataclass(frozen=True)
class AltcraftBalance:
    """A member's points account: ``total`` counts points not active yet, ``active`` is what can be spent."""

    total: Decimal
    active: Decimal


@dataclass(frozen=True)
class AltcraftTransaction:
    """One points transaction as Altcraft names it (``transaction_id``) and as we did (``transaction_eid``)."""

    transaction_id: str | None
    transaction_eid: str | None = None
    transaction_type: str | None = None
    amount: Decimal | None = None
    balance: Decimal | None = None


def matching(mode: str, value: str) -> dict:
    """The fields that name a member in every member call: ``{matching: "phone", phone: "+1..."}``."""
    if mode not in ("phone", "email", "profile_id"):
        raise ValueError(f"unsupported Altcraft matching {mode!r}")
    return {"matching": mode, mode: value}


class AltcraftClient:
    """One merchant's Altcraft loyalty program, through its API token."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        session: requests.Session,
        loyalty_program_id: int,
        points_currency_eid: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        """A client for the Altcraft host ``base_url`` (with or without ``/api/v1.1``), ``timeout`` s per call."""
        base = base_url.rstrip("/")
        self.base_url = base if base.endswith(PREFIX) else base + PREFIX
        self._token = token
        self._session = session
        self.program_id = int(loyalty_program_id)
        self.currency = points_currency_eid
        self.timeout = timeout

    def register_member(self, who: dict) -> str:
        """``loyalty/register_member``: the profile found by ``who``'s matching joins the program; its profile id."""
        data = self._call("loyalty/register_member", {"loyalty_program_id": self.program_id, **who})
        profile = data.get("profile_id")
        if profile is None and isinstance(data.get("data"), dict):
            profile = data["data"].get("profile_id")  # tolerated: the other loyalty methods answer in ``data``
        if isinstance(profile, bool) or not isinstance(profile, (str, int)) or not str(profile).strip():
            raise _malformed("profile_id is missing")
        return str(profile)

    def accrue_points(
        self,
        who: dict,
        *,
        amount: int | Decimal,
        transaction_eid: str,
        created_at: datetime | None = None,
        external_data: dict | None = None,
    ) -> AltcraftTransaction:
        """``loyalty/accrue_points``: ``amount`` points, named ``transaction_eid``, active at once."""
        body = self._points_body(who, amount, transaction_eid)
        if created_at is not None:
            body["created_at"] = _rfc3339(created_at)
        if external_data:
            body["external_data"] = external_data
        return _transaction(self._call("loyalty/accrue_points", body), transaction_eid)

    def redeem_points(
        self,
        who: dict,
        *,
        amount: int | Decimal,
        transaction_eid: str,
        temp_timeout_sec: int | None = None,
        external_data: dict | None = None,
    ) -> AltcraftTransaction:
        """``loyalty/redeeme_points`` (sic): take ``amount`` points; with ``temp_timeout_sec``, temporarily.

        A temporary redemption holds the points until ``commit_transaction``,
        ``rollback_transaction`` or Altcraft's own time-out rolls it back.
        """
        body = self._points_body(who, amount, transaction_eid)
        if temp_timeout_sec is not None:
            body.update(is_temp=True, temp_timeout_sec=int(temp_timeout_sec))
        if external_data:
            body["external_data"] = external_data
        return _transaction(self._call("loyalty/redeeme_points", body), transaction_eid)

    def commit_transaction(self, *, transaction_eid: str) -> AltcraftTransaction:
        """Make a temporary transaction final."""
        return self._by_eid("loyalty/commit_transaction", transaction_eid)

    def rollback_transaction(self, *, transaction_eid: str) -> AltcraftTransaction:
        """Undo a temporary transaction (still temporary): its points come back."""
        return self._by_eid("loyalty/rollback_transaction", transaction_eid)

    def cancel_transaction(self, *, transaction_eid: str) -> AltcraftTransaction:
        """Cancel any transaction, temporary or final; Altcraft recalculates the active balance."""
        return self._by_eid("loyalty/cancel_transaction", transaction_eid)

    def balance(self, who: dict) -> AltcraftBalance:
        """``loyalty/account/balance``: the total and active balances (decimal strings at Altcraft)."""
        body = {"loyalty_program_id": self.program_id, **self._currency(), **who}
        data = _data(self._call("loyalty/account/balance", body))
        return AltcraftBalance(
            total=_decimal(data.get("total_balance"), "total_balance"),
            active=_decimal(data.get("active_balance"), "active_balance"),
        )

    def find_transaction(self, who: dict, transaction_eid: str) -> AltcraftTransaction | None:
        """The member's transaction named ``transaction_eid`` in ``loyalty/account/transactions``, or None.

        Pages with ``from_id`` (the last transaction id seen) until a short page.
        """
        from_id = None
        for _ in range(MAX_PAGES):
            body = {"loyalty_program_id": self.program_id, **self._currency(), **who, "limit": PAGE}
            if from_id:
                body["from_id"] = from_id
            rows = self._call("loyalty/account/transactions", body).get("data")
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise _malformed("data is not a list of transactions")
            for row in rows:
                if str(row.get("transaction_eid") or "") == transaction_eid:
                    return _row(row)
            if len(rows) < PAGE or not rows[-1].get("transaction_id"):
                return None
            from_id = str(rows[-1]["transaction_id"])
        raise AltcraftRefusedError(
            f"Altcraft's history of the member is over {PAGE * MAX_PAGES} transactions deep", code="history_too_long"
        )

    def _points_body(self, who: dict, amount: int | Decimal, transaction_eid: str) -> dict:
        return {
            "loyalty_program_id": self.program_id,
            **self._currency(),
            **who,
            "amount": _amount(amount),
            "transaction_eid": transaction_eid,
        }

    def _currency(self) -> dict:
        return {"points_currency_eid": self.currency} if self.currency else {}

    def _by_eid(self, method: str, transaction_eid: str) -> AltcraftTransaction:
        return _transaction(self._call(method, {"transaction_eid": transaction_eid}), transaction_eid)

    def _call(self, method: str, body: dict) -> dict:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            response = self._session.post(
                f"{self.base_url}/{method}", data=json.dumps(body), headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            message = f"Altcraft did not answer {method} in {self.timeout}s"
            raise AltcraftRetryableError(message, code="timeout") from None
        except requests.RequestException as exc:
            raise AltcraftRetryableError(f"Altcraft unreachable: {type(exc).__name__}", code="network_error") from None
        return _answer(response, method)


def _answer(response: requests.Response, method: str) -> dict:
    """The envelope of a successful call; a typed error for anything else (HTTP status, then ``error``)."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise AltcraftRetryableError(
            f"HTTP {status} from Altcraft for {method}",
            code="rate_limited" if status == 429 else "server_error",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    data = _json(response, status)
    error = _error_code(data.get("error"))
    text = str(data.get("error_text") or "")[:300]
    if status >= 400 or (error is not None and error != 0):
        code = f"altcraft_{error}" if error else f"http_{status}"
        message = f"Altcraft refused {method}: {text or code}"
        if error == 429 or (error is not None and error >= 500):
            raise AltcraftRetryableError(message, code=code, retry_after=None)
        raise AltcraftRefusedError(message, code=code, error=error)
    if error is None:
        raise _malformed("the envelope has no error code")
    return data


def _error_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _json(response: requests.Response, status: int) -> dict:
    try:
        data = json.loads(response.content or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        return data
    if status >= 400:
        raise AltcraftRefusedError(f"HTTP {status} from Altcraft", code=f"http_{status}")
    raise _malformed("the body is not a JSON object")


def _malformed(message: str) -> AltcraftRefusedError:
    return AltcraftRefusedError(f"Altcraft's answer is malformed: {message}", code="malformed_response")


def _data(envelope: dict) -> dict:
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise _malformed("data is missing")
    return data


def _transaction(envelope: dict, transaction_eid: str) -> AltcraftTransaction:
    """What a points call answered; its ``data`` is undocumented for accrue and redeem, so every field is optional."""
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    found = _row(data)
    return AltcraftTransaction(
        found.transaction_id,
        found.transaction_eid or transaction_eid,
        found.transaction_type,
        found.amount,
        found.balance,
    )


def _row(row: dict) -> AltcraftTransaction:
    def text(name: str) -> str | None:
        value = row.get(name)
        return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None

    def number(name: str) -> Decimal | None:
        return _decimal(row[name], name) if row.get(name) not in (None, "") else None

    balance = number("balance") if "balance" in row else number("balance_after")
    return AltcraftTransaction(
        text("transaction_id"), text("transaction_eid"), text("transaction_type"), number("amount"), balance
    )


def _decimal(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise _malformed(f"{name} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _malformed(f"{name} is not a number") from None
    if not number.is_finite():
        raise _malformed(f"{name} is not a finite number")
    return number


def _amount(value: int | Decimal) -> str:
    """Points as Altcraft takes them: a decimal string, exact (``"425"``, ``"100.50"``), never a float."""
    number = Decimal(value)
    if not number.is_finite() or number <= 0:
        raise ValueError(f"an Altcraft amount must be a positive number, not {value}")
    return format(number, "f")


def _rfc3339(moment: datetime) -> str:
    """An instant in RFC 3339, in UTC (a naive one is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
