"""The program-engine port: the few things settlement, the POS endpoint and the partner API need from an engine.

An engine is chosen per merchant by its ``loyalty`` block (:func:`engine_for`).
Its methods take the caller's session and never commit: what changes points
is written in the caller's transaction (ledger entries for the built-in
engine, provider postings for a remote one), and what must reach a provider
is sent after that transaction commits (``services/programs/sender.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from loyalty.rewards import MemberUsage, RewardRule
from models import Member, Merchant, OrderAccount, Redemption
from services.errors import Conflict
from services.runtime import Runtime


@dataclass(frozen=True)
class OrderTarget:
    """What an order holds now: its points under the program's rules and its eligible spend after refunds.

    Both are 0 once the order is cancelled or reversed at the POS. An engine
    takes the measure it keeps (points, spend, credit) and posts the
    difference from what it already holds for the order.
    """

    points: int
    spend: Decimal
    occurred_at: datetime


@dataclass(frozen=True)
class Balance:
    """A member's balances as the engine knows them; ``reachable`` is False when a provider did not answer."""

    points: int
    pending_points: int = 0
    tier: str | None = None
    lifetime_points: int = 0
    next_tier: tuple[str, int] | None = None
    reachable: bool = True
    # A store-credit program (Inveterate) keeps money, not points: its spendable and lifetime credit.
    credit: Decimal | None = None
    credit_earned: Decimal | None = None

    @property
    def spendable(self) -> int | Decimal:
        """What the member can spend: the credit of a store-credit program, else the points."""
        return self.points if self.credit is None else self.credit

    def available(self) -> str:
        """The sentence the POS shows about it."""
        if self.credit is None:
            return f"{self.points} points available"
        return f"{self.credit} in store credit, to spend at the online checkout"


@dataclass(frozen=True)
class Catalogue:
    """The rewards a member may be offered, as pure rules, and the member's use of each."""

    rules: dict[str, RewardRule]
    usage: dict[str, MemberUsage] = field(default_factory=dict)
    refusal: str | None = None  # why a redemption at the POS is refused when no reward can be redeemed there


@dataclass(frozen=True)
class Charge:
    """One reward a POS redemption asks for, as weighed on the check."""

    rule: RewardRule
    source: str  # the redemption's unique key
    amount: Decimal
    check_guid: str | None
    expires_at: datetime | None
    channel: str
    details: dict


class ProgramManagedByProvider(Conflict):
    """A ledger operation of the partner API, for a merchant whose points live in a provider (409)."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"This program's points are managed by {provider}: use {provider}'s own API for this operation.",
            code="PROGRAM_MANAGED_BY_PROVIDER",
            details=[{"field": "provider", "problem": provider}],
        )


class PostingUnsupported(Exception):
    """The provider cannot take this posting (the customer is not its member): kept ``unsupported``, never resent.

    The message says why, for the posting and for the delivery that caused it.
    """


class ProgramEngine(Protocol):
    """Where a merchant's points live."""

    name: str

    def settle_order(
        self,
        session: Session,
        account: OrderAccount,
        member: Member,
        target: OrderTarget,
        *,
        channel: str,
        now: datetime,
        key: str | None,
    ) -> int:
        """Bring what the engine holds for ``account`` to ``target``; returns the points posted locally."""

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Make sure the engine knows ``member`` (a provider is told after commit)."""

    def balance(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Balance:
        """The member's balances; ``pos``: a call on the POS's clock (a short timeout, never an error)."""

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue | None:
        """The member's rewards; None when a provider did not answer in time."""

    def card(self, rt: Runtime, session: Session, member: Member) -> dict | None:
        """The partner API's points card (``ledger/views.py``'s shape); None when a provider did not answer."""

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Take a reward for the member (a hold, a provider redemption); None when done, else why it was refused."""

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """The check that used the redemption is paid: its points are spent."""

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Undo a redemption: a held one released, a spent one refunded."""

    def require_ledger(self) -> None:
        """Refuse (``ProgramManagedByProvider``) an operation only the built-in ledger has."""


def engine_for(merchant: Merchant) -> ProgramEngine:
    """The merchant's engine, by its ``loyalty`` block (absent or ``punchcard``: the built-in ledger)."""
    from services.programs import altcraft, builtin, hang, inveterate, voucherify  # the engines build on this module

    config = merchant.loyalty or {}
    provider = config.get("provider") or "punchcard"
    if provider == "punchcard":
        return builtin.ENGINE
    if provider == "hang":
        return hang.HangEngine(merchant.id, config)
    if provider == "altcraft":
        return altcraft.AltcraftEngine(merchant.id, config)
    if provider == "voucherify":
        return voucherify.VoucherifyEngine(merchant.id, config)
    if provider == "inveterate":
        return inveterate.InveterateEngine(merchant.id, config, currency=merchant.currency)
    raise ValueError(f"merchant {merchant.slug} has loyalty provider {provider!r}, which this version cannot run")
