"""Typed errors of the use cases: a sentence for a person and one keyword-only machine ``code``.

Services raise them and know nothing of HTTP; each edge maps the classes to
its own answers in one place (``api/errors.py``, ``webhooks/errors.py``) and
the worker marks a delivery failed with the code of a permanent one.
"""

from __future__ import annotations


class CodedError(Exception):
    """The shape every error of the use cases shares: ``message`` and a stable ``code``."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServiceError(CodedError):
    """A refusal of a request, with the fields at fault in ``details``."""

    def __init__(self, message: str, *, code: str, details: list[dict] | None = None) -> None:
        super().__init__(message, code=code)
        self.details = details or []


class BadRequest(ServiceError):
    """The input is malformed or incomplete."""


class Unauthorized(ServiceError):
    """Wrong credentials or signature."""


class NotFound(ServiceError):
    """Unknown id, or an id of another merchant (never say which)."""


class Conflict(ServiceError):
    """Conflicting identity or idempotency key reuse."""


class Unprocessable(ServiceError):
    """A rule refused the operation (insufficient points, reward not available)."""


class Unavailable(ServiceError):
    """The database, the queue or a third party is down: the caller should retry, after ``retry_after`` s if known."""

    def __init__(
        self, message: str, *, code: str, details: list[dict] | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class UpstreamRejected(ServiceError):
    """A third party refused what the request needed of it (Shopify's userErrors, in ``details``)."""


class PermanentFailure(CodedError):
    """Work that can never succeed (a delivery we cannot process); ``code`` is stored on it."""


class RetryLater(CodedError):
    """A transient failure of a third party; retry after ``retry_after`` seconds (None: the job's own backoff)."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
