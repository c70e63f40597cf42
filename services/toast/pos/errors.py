"""Toast's error codes as an exception."""

from __future__ import annotations

from services.errors import CodedError


class LoyaltyError(CodedError):
    """Refuse a loyalty transaction with Toast's ``transactionStatus`` ``code`` (``ERROR_ACCOUNT_INVALID``, ...)."""

    def __init__(self, *, code: str) -> None:
        super().__init__(code, code=code)
