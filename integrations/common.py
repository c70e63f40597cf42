"""What every third party's speech shares: unusable payloads and the two kinds of API failure."""
from __future__ import annotations

import json
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
