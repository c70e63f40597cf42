"""Punchcard's own ledger as a program engine: the default (ledger.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from loyalty.tiers import next_tier
from models import Member, OrderAccount, Redemption
from services import ledger
from services.ledger import owed as ledger_owed
from services.ledger import views as ledger_views
from services.programs.port import Balance, Catalogue, Charge, OrderTarget
from services.rewards import catalogue as rewards_catalog
from services.rewards import redemptions
from services.runtime import Runtime


class BuiltinEngine:
    """Points in our ledger: entries under the member's row lock, holds for redemptions."""

    name = "punchcard"

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
        """Post the difference between ``target.points`` and what the order holds net in the ledger."""
        delta = target.points - (account.held - account.shortfall)
        if delta == 0:
            return 0
        account.revision += 1
        posting = ledger.Posting(
            key=key or f"{account.order_key}:r{account.revision}",
            points=delta,
            type="ACCRUAL" if delta > 0 else "REVERSAL",
            channel=channel,
            reference=account.order_key,
        )
        if delta > 0:
            posted = ledger.Posted([ledger.post(session, member, posting, now)])
        else:
            # The order's own pending points go back first (a refund inside the return
            # window), then spendable points, with a shortfall for what was spent.
            posted = ledger.reverse_earnings(session, member, posting, now)
        if None in posted.entries:
            raise RuntimeError(f"ledger key {posting.key} already posted for a newer account state")
        account.held += posted.points
        account.shortfall += posted.shortfall
        account.updated_at = now
        if delta > 0 and account.shortfall > 0 and member.owed_points > 0:
            # Earning again after a reversal that found the points spent: the order pays its own shortfall first.
            ledger_owed.collect(session, member, posted.entries[0], now, ledger.post, reference=account.order_key)
        return posted.points

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Nothing to do: the member row is the membership."""

    def balance(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Balance:
        """The stored balances and the next tier."""
        upcoming = next_tier(member.lifetime_earned, ledger.tier_rules(session, member.merchant_id), member.tier)
        return Balance(
            points=member.points,
            pending_points=member.pending_points,
            tier=member.tier,
            lifetime_points=member.lifetime_earned,
            next_tier=(upcoming[0].name, upcoming[1]) if upcoming else None,
        )

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue:
        """The merchant's configured rewards and the member's redemptions of them."""
        from models import Merchant

        return Catalogue(
            rewards_catalog.rules(session, session.get(Merchant, member.merchant_id)),
            rewards_catalog.usage(session, member.id),
        )

    def card(self, rt: Runtime, session: Session, member: Member) -> dict:
        """Balances, lifetime buckets, pending points, next expiration and activation, from the ledger."""
        return ledger_views.card(session, member, rt.clock())

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Hold the reward's points until the check is paid, voided or the hold's time is up."""
        entry = None
        if charge.rule.points_price:
            try:
                entry = ledger.hold(
                    session,
                    member,
                    key=f"{charge.source}:hold",
                    points=charge.rule.points_price,
                    channel=charge.channel,
                    reference=charge.source,
                    now=now,
                    expires_at=charge.expires_at,
                )
            except ledger.InsufficientPoints:
                return "INSUFFICIENT_POINTS"
            if entry is None:
                raise RuntimeError(f"hold {charge.source}:hold already posted")  # never a reward for free
        session.add(
            Redemption(
                merchant_id=member.merchant_id,
                member_id=member.id,
                reward_uuid=charge.rule.uuid,
                points=charge.rule.points_price,
                amount=charge.amount,
                hold_entry_id=entry.id if entry else None,
                channel=charge.channel,
                source_key=charge.source,
                check_guid=charge.check_guid,
                created_at=now,
                expires_at=charge.expires_at,
                details=charge.details,
            )
        )
        session.flush()
        return None

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """Spend the redemption's held points."""
        redemptions.commit(session, redemption, now)

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Release the hold, or refund the spent points."""
        redemptions.void(session, redemption, key=key, channel=channel, now=now)

    def require_ledger(self) -> None:
        """The ledger is ours: every operation is allowed."""


ENGINE = BuiltinEngine()
