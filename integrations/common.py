"""What every third party's speech shares: unusable payloads and the two kinds of API failure."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal


class PayloadError(ValueError):
    """A payload we cannot use; ``reason`` is a stable machine code. Retrying never helps."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def loads(body: bytes) -> dict:
    """Parse a JSON object body exactly: Decimal for fractions, int for ids (they exceed 2**53)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("invalid_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("invalid_payload", "body is not a JSON object")
    return data


def parse_time(value) -> datetime | None:
    """An ISO 8601 instant (``...Z``, ``+00:00`` or Toast's ``+0000``) as aware UTC, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError("invalid_payload", f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` given in seconds; None for an HTTP-date or garbage (the job's own backoff decides)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


class ApiError(Exception):
    """A call to a third party's API failed; ``reason`` is a stable machine code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RetryableError(ApiError):
    """A transient failure (throttled, 429, 5xx, network); retry after ``retry_after`` seconds if known."""

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class PermanentError(ApiError):
    """A failure that repeating the same call will not fix (credentials, access, a malformed answer)."""
