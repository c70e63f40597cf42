"""What the POS sends: one Toast Loyalty Integration call, and what every transaction handler gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from models import Merchant
from services.runtime import Runtime

READ_ONLY = ("LOYALTY_INQUIRE", "LOYALTY_SEARCH")
GUID_LENGTH = 64  # Toast's GUIDs are 36 characters; the stored transaction keeps up to this
TYPES = (
    "LOYALTY_INQUIRE",
    "LOYALTY_SEARCH",
    "LOYALTY_SIGNUP",
    "LOYALTY_REDEEM",
    "LOYALTY_ACCRUE",
    "LOYALTY_REVERSE",
    "LOYALTY_TRANSFER",
)


@dataclass(frozen=True)
class LoyaltyCall:
    """One POST from Toast, as the edge read it."""

    restaurant_guid: str | None
    authorization: str | None
    transaction_type: str | None
    transaction_guid: str | None
    body: dict


@dataclass(frozen=True)
class Context:
    """What a transaction handler gets."""

    rt: Runtime
    session: Session
    merchant: Merchant
    call: LoyaltyCall


Handler = Callable[[Context], dict]
ACCEPT = "ACCEPT"


@dataclass(frozen=True)
class LoyaltyAnswer:
    """What a transaction came to: Toast's ``transactionStatus`` (``ACCEPT`` or an error code) and the rest
    of the ``LoyaltyTransactionResponse`` (``checkResponse``, ``searchResponse``, ...)."""

    status: str
    body: dict = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """True when Toast is told ``ACCEPT``."""
        return self.status == ACCEPT

    def response(self) -> dict:
        """The ``LoyaltyTransactionResponse`` body (what is stored for a replay, too)."""
        return {"transactionStatus": self.status, **self.body}

    @classmethod
    def from_response(cls, response: dict) -> LoyaltyAnswer:
        """The answer a stored response was."""
        rest = {key: value for key, value in response.items() if key != "transactionStatus"}
        return cls(response["transactionStatus"], rest)


def loyalty_identifier(body: dict) -> str:
    """The account a transaction is about ("" when none), part of its idempotency key."""
    for block in ("checkTransactionInformation", "reverseTransactionInformation"):
        info = body.get(block)
        if isinstance(info, dict) and info.get("loyaltyIdentifier"):
            return str(info["loyaltyIdentifier"])[:64]
    transfer = body.get("transferTransactionInformation")
    if isinstance(transfer, dict) and transfer.get("fromLoyaltyIdentifier"):
        return str(transfer["fromLoyaltyIdentifier"])[:64]
    return ""
