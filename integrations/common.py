"""What every third party's speech shares: unusable payloads and the two kinds of API failure."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

# No order comes near a quadrillion. Past it, products of prices, quantities and
# rates leave exact Decimal arithmetic (28 digits) or even its exponent range, and
# the points an order earns at any rate below 9,000 would overflow a BIGINT.
MAX_AMOUNT = Decimal(10) ** 15
# The members table's widths: a longer name is cut, a longer email or wallet is no identity.
NAME_LENGTH, EMAIL_LENGTH, WALLET_LENGTH = 200, 320, 200


class CodedError(Exception):
    """An error with a sentence for a person and a stable machine ``code``: the shape of every error here."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class PayloadError(CodedError, ValueError):
    """A payload we cannot use; ``code`` says why (``invalid_json``, ``invalid_payload``). Retrying never helps."""


def loads(body: bytes) -> dict:
    """Parse a JSON object body exactly: Decimal for fractions, int for ids (they exceed 2**53)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise PayloadError(f"body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object", code="invalid_payload")
    return data


def parse_time(value) -> datetime | None:
    """An ISO 8601 instant (``...Z``, ``+00:00`` or Toast's ``+0000``) as aware UTC, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # 9999-12-31T23:59-05:00 parses, but in UTC it is past the end of datetime.
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PayloadError(f"not an ISO 8601 time: {value!r}", code="invalid_payload") from None


def parse_decimal(value, field: str, *, default: Decimal = Decimal(0)) -> Decimal:
    """An exact, finite number below ``MAX_AMOUNT`` from a JSON number or a decimal string; ``default`` when absent."""
    if value is None or value == "":
        return default
    if isinstance(value, (bool, dict, list)):
        raise PayloadError(f"{field} is not a number", code="invalid_payload")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(f"{field} is not a number: {str(value)[:40]!r}", code="invalid_payload") from None
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise PayloadError(f"{field} is not a finite number below {MAX_AMOUNT:,}", code="invalid_payload")
    return number


def parse_text(value, field: str, *, limit: int | None = None) -> str | None:
    """A name, code or guid as trimmed text, numbers written out; None when absent or blank.

    NUL characters are dropped (PostgreSQL refuses them in text) and ``limit``
    cuts the text to what its column holds.
    """
    if value is None:
        return None
    if isinstance(value, (bool, dict, list)):
        raise PayloadError(f"{field} is not text", code="invalid_payload")
    text = clean_text(str(value))
    return (text[:limit] if limit else text) or None


def clean_text(text: str) -> str:
    """``text`` trimmed and without NUL characters, which no PostgreSQL text column takes."""
    return text.replace("\x00", "").strip()


def usable_email(email: str | None) -> str | None:
    """A normalized email that fits an address (RFC 5321: 320 characters at most), else None."""
    return email if email is not None and len(email) <= EMAIL_LENGTH else None


def objects(value, field: str) -> list[dict]:
    """A JSON array of objects (``line_items``, ``refunds``); absent is empty, anything else a payload error."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PayloadError(f"{field} is not a list of objects", code="invalid_payload")
    return value


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` given in seconds; None for an HTTP-date or garbage (the job's own backoff decides)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


class ApiError(CodedError):
    """A call to a third party's API failed; ``code`` says how (``rate_limited``, ``unauthorized``, ...)."""


class RetryableError(ApiError):
    """A transient failure (throttled, 429, 5xx, network); retry after ``retry_after`` seconds if known."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentError(ApiError):
    """A failure that repeating the same call will not fix (credentials, access, a malformed answer)."""
