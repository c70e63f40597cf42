"""Toast's error codes as an exception."""
from __future__ import annotations


class LoyaltyError(Exception):
    """Refuse a loyalty transaction with Toast's ``transactionStatus`` code (HTTP 400 unless told)."""

    def __init__(self, status: str, http_status: int = 400) -> None:
        super().__init__(status)
        self.status = status
        self.http_status = http_status
