"""The tables. Money is Decimal (``Money``), points are integers, instants are UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, new_id, utcnow

_ID = String(32)
_SEQ = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


class Merchant(Base):
    """A merchant and its program settings, upserted from the config file by ``slug``."""

    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The validated config blocks as JSON (program, toast, shopify). Secrets are kept
    # here because verifying a signature needs them; partner API keys are hashed instead.
    program: Mapped[dict] = mapped_column(JSON, default=dict)
    shopify: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    toast: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The program engine (providers.md): None or provider "punchcard" is the built-in ledger.
    loyalty: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Endpoints of the merchant's own systems that receive signed events (events.md): url, secret(s), events.
    # No Python default: Core inserts of older schemas (the migration tests) must not name the column.
    webhooks_out: Mapped[list] = mapped_column(JSON, server_default="[]")
    shopify_shop_domain: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    # Partner API requests per minute per key; None: the process-wide API_RATE_LIMIT_PER_MINUTE.
    api_rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A digest of the synced config: caches of parsed rewards key on it.
    config_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """A partner API key, stored as its SHA-256 (keys are long random strings)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ToastRestaurant(Base):
    """A Toast restaurant GUID owned by a merchant."""

    __tablename__ = "toast_restaurants"
    guid: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The reconciliation watermark: every order modified before it has been polled
    # (services/toast_reconcile.py). None until the first poll, and again when the
    # sync gives the restaurant to a merchant.
    polled_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Tier(Base):
    """A tier reached by lifetime earned points."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    name: Mapped[str] = mapped_column(String(100))
    min_lifetime_points: Mapped[int] = mapped_column(BigInteger)
    multiplier: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Reward(Base):
    """A reward; ``definition`` holds every configured property as JSON."""

    __tablename__ = "rewards"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    points_price: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    definition: Mapped[dict] = mapped_column(JSON, default=dict)


class Member(Base):
    """A program membership. Balances are derived from the ledger and kept here under a row lock."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("merchant_id", "phone"),
        UniqueConstraint("merchant_id", "external_user_id"),
        UniqueConstraint("merchant_id", "email_normalized"),
        UniqueConstraint("merchant_id", "shopify_customer_id"),
    )
    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=lambda: new_id("mem"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    external_user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_normalized: Mapped[str | None] = mapped_column(String(320), nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    birthday: Mapped[str | None] = mapped_column(String(10), nullable=True)
    wallet_address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    shopify_customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    shopify_tagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Customer metafields (services/shopify/metafields.py): when a change of the balances or tier is
    # still to be written to Shopify (None: nothing is), and the values last written.
    shopify_metafields_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    shopify_metafields: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    points: Mapped[int] = mapped_column(BigInteger, default=0)  # spendable
    pending_points: Mapped[int] = mapped_column(BigInteger, default=0)
    held_points: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    # Points reversals could not take back (already spent), collected from the first points
    # that come back to the member (services/ledger.py, "shortfalls").
    owed_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LedgerEntry(Base):
    """One append-only ledger entry; ``business_key`` is unique per merchant."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("merchant_id", "business_key"),)
    # seq orders the ledger exactly (instants can tie); id is the public handle.
    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(_ID, unique=True, default=lambda: new_id("txn"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    reverses_id: Mapped[str | None] = mapped_column(_ID, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    activates_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrderAccount(Base):
    """What one order (Shopify order, Toast check) holds in the ledger, settled to its latest state."""

    __tablename__ = "order_accounts"
    __table_args__ = (UniqueConstraint("merchant_id", "order_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_key: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), nullable=True, index=True)
    last_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    eligible_spend: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # The pricing in force when the order first earned; every later state is priced by it
    # (ledger.md: a config change applies to orders that first earn after it). None until then.
    multiplier: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    rounding: Mapped[str | None] = mapped_column(String(8), nullable=True)
    spend_basis: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # From the order payloads: refunds of a tax-inclusive shop are measured without tax.
    taxes_included: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # A POS reversal (Toast LOYALTY_REVERSE of an ACCRUE): holds 0 until a later state earns again.
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    earned: Mapped[int] = mapped_column(BigInteger, default=0)
    # refund key -> {"subtotal", "tax"} as decimal strings (a plain string: an amount recorded before
    # refunds kept their tax apart, already measured on the subtotal basis)
    refunds: Mapped[dict] = mapped_column(JSON, default=dict)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    held: Mapped[int] = mapped_column(BigInteger, default=0)  # net points actually posted
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)  # reversals that found no points
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # For a provider-backed program: what the provider holds for this order in its own measure
    # (spend, points or credit), and what it was asked to take back but could not (Hang).
    remote_sent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    remote_unreversed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """A webhook delivery exactly as received, with its processing state."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("merchant_id", "provider", "delivery_id"),)
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    provider: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # retention pruning
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # received -> queued -> processed | failed | ignored
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The ids of the ledger entries its processing posted (replays add none); None before this was kept.
    posted: Mapped[list | None] = mapped_column(JSON, nullable=True)


class PrivacyRequest(Base):
    """A GDPR request from Shopify (data request, customer or shop redaction)."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    member_id: Mapped[str | None] = mapped_column(_ID, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Redemption(Base):
    """A reward redeemed (or being redeemed) by a member; its points are a ledger hold until committed."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("merchant_id", "source_key"), UniqueConstraint("merchant_id", "code"))
    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(_ID, unique=True, default=lambda: new_id("rdm"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    reward_uuid: Mapped[str] = mapped_column(String(36))
    # initiated (points held) -> redeemed (spent) | voided (returned)
    state: Mapped[str] = mapped_column(String(16), default="initiated")
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)  # money off, when known
    hold_entry_id: Mapped[str | None] = mapped_column(_ID, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    # What created it, unique per merchant: "toast:<transaction guid>:<n>", an API idempotency key.
    source_key: Mapped[str] = mapped_column(String(255))
    check_guid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # Toast discount guids, item application
    # The provider's own redemption (Hang's uuid) when the program runs on a provider.
    provider_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A Shopify discount code (services/shopify/codes.py), in upper case, and the discount's gid.
    # code_state: creating -> active -> used | deleted; rejected when Shopify refused to create it, undeleted
    # when it refused to delete it (services/shopify/codes.py).
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    discount_gid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_state: Mapped[str | None] = mapped_column(String(16), nullable=True)


class LoyaltyTransaction(Base):
    """A Toast Loyalty Integration call and our answer, kept for idempotent replays and reversal."""

    __tablename__ = "loyalty_transactions"
    __table_args__ = (UniqueConstraint("merchant_id", "transaction_guid", "loyalty_identifier"),)
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    transaction_guid: Mapped[str] = mapped_column(String(64))
    loyalty_identifier: Mapped[str] = mapped_column(String(64), default="")
    transaction_type: Mapped[str] = mapped_column(String(32))
    check_guid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response: Mapped[dict] = mapped_column(JSON)  # the LoyaltyTransactionResponse; its HTTP status is the edge's
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotentRequest(Base):
    """A partner API write and its first result, replayed for a retry with the same key."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("merchant_id", "key"),)
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)  # the write's result (services/partner_api/views.py), not HTTP
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # retention pruning


class PointLot(Base):
    """What is left of one earning, and when it becomes spendable and expires (services/ledger_lots.py).

    A cache of the ledger kept under the member's row lock, like the balances:
    ``remaining`` is ``points`` plus this lot's moves.
    """

    __tablename__ = "point_lots"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    # The entry that opened the lot; None for the opening lot of a balance older than lots.
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True, nullable=True)
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)  # not spendable before activates_at
    activates_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)  # None: never
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointLotMove(Base):
    """Points one ledger entry took from a lot (negative) or gave back to it (positive)."""

    __tablename__ = "point_lot_moves"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), index=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The hold-expiry job looks for HELD entries past their time to live every minute.
Index("ix_ledger_entries_status_expires_at", LedgerEntry.status, LedgerEntry.expires_at)
# ... and for initiated redemptions of free rewards (no hold) past theirs.
Index("ix_redemptions_state_expires_at", Redemption.state, Redemption.expires_at)


class ProviderMember(Base):
    """The provider's own membership of one of our members (Hang's membership id, Voucherify's member and card)."""

    __tablename__ = "provider_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderPosting(Base):
    """One effect on the member's provider, written with the change that causes it and sent after commit.

    ``key`` is unique per merchant (the ledger business key the effect would
    have had), so a posting is written once; its ``status`` moves pending ->
    sending -> sent | failed, or is ``unsupported`` from the start (a reversal
    Hang's API cannot make). Postings of one member are sent in ``id`` order.
    """

    __tablename__ = "provider_postings"
    __table_args__ = (UniqueConstraint("merchant_id", "key"),)
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # enroll | earn | reverse | redeem | void
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)  # in the provider's measure
    reference: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the order or check key
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# The sender and its sweeper look for due postings by status and time.
Index("ix_provider_postings_status_next_attempt_at", ProviderPosting.status, ProviderPosting.next_attempt_at)


class EventEndpoint(Base):
    """One ``webhooks_out`` URL of a merchant, and how its deliveries fare (disabled after 5 days of failures)."""

    __tablename__ = "event_endpoints"
    __table_args__ = (UniqueConstraint("merchant_id", "url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    url: Mapped[str] = mapped_column(String(2000))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """Something that happened to a member, written in the transaction of the change (events.md).

    ``public_id`` is the ``webhook-id`` receivers dedupe on; ``data`` is the
    body's ``data`` as of the change. No foreign key to the member: a merge
    moves a member's rows, and an event stays what it was.
    """

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("evt"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventDelivery(Base):
    """One event to one endpoint: pending -> sending -> delivered | failed, on the Standard Webhooks schedule."""

    __tablename__ = "event_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("event_endpoints.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the receiver's HTTP status
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


Index("ix_event_deliveries_status_next_attempt_at", EventDelivery.status, EventDelivery.next_attempt_at)
