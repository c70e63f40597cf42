"""Typed service errors with a stable machine code; the edges turn them into HTTP."""
from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a stable ``code``, a human ``message`` and optional ``details``."""

    status = 400

    def __init__(self, code: str, message: str, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


class BadRequest(ServiceError):
    """The input is malformed or incomplete."""

    status = 400


class Unauthorized(ServiceError):
    """Wrong credentials or signature."""

    status = 401


class NotFound(ServiceError):
    """Unknown id, or an id of another merchant (never say which)."""

    status = 404


class Conflict(ServiceError):
    """Conflicting identity or idempotency key reuse."""

    status = 409


class Unprocessable(ServiceError):
    """A rule refused the operation (insufficient points, reward not available)."""

    status = 422


class Unavailable(ServiceError):
    """The database or the queue is down: the caller should retry."""

    status = 503


class PermanentFailure(Exception):
    """A delivery that can never be processed; ``reason`` is stored on it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RetryLater(Exception):
    """A transient failure of a third party; the job should be retried after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
