"""Tables, sessions and the metadata that migrations target."""

from models.base import Base, metadata
from models.db import Database, insert_unless_exists
from models.tables import (
    ApiKey,
    Delivery,
    Event,
    EventDelivery,
    EventEndpoint,
    IdempotentRequest,
    LedgerEntry,
    LoyaltyTransaction,
    Member,
    Merchant,
    OrderAccount,
    PrivacyRequest,
    ProviderMember,
    ProviderPosting,
    Redemption,
    Reward,
    Tier,
    ToastRestaurant,
)

__all__ = [
    "ApiKey",
    "Base",
    "Database",
    "Delivery",
    "Event",
    "EventDelivery",
    "EventEndpoint",
    "IdempotentRequest",
    "LedgerEntry",
    "Member",
    "Merchant",
    "LoyaltyTransaction",
    "OrderAccount",
    "PrivacyRequest",
    "ProviderMember",
    "ProviderPosting",
    "Redemption",
    "Reward",
    "Tier",
    "ToastRestaurant",
    "insert_unless_exists",
    "metadata",
]
