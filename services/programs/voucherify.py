"""Voucherify as the program engine (providers.md, the Voucherify column): a Loyalty v2 program's member cards.

- Earning and reversing: each difference of an order's points under the
  merchant's ``program`` rules becomes a posting, sent after commit as a card
  adjustment ``{points: ±N, reason: <posting key>}``. Voucherify has no
  idempotency key, so a posting whose first attempt may have reached it is
  looked for in the card's transactions (by its ``reason``) before it is sent
  again. A reversal takes back at most what the card holds: the rest is noted
  on the posting, never a negative balance.
- Members: enrolled by their first posting (upsert the customer by our member
  id as ``source_id``, read the membership, create it on 404, read again on
  409); the member and its first card are kept in ``provider_members``.
- Reads: the membership's first card, with a short per-member cache that our
  own writes clear, less the debits Voucherify may not hold yet; on the POS's
  clock a call has at most 1.5 s and a Voucherify that does not answer makes an
  empty answer, never an error.
- Rewards at the POS are the merchant's configured rewards. A Toast REDEEM is
  an immediate ``points: -price`` posting, its REVERSE (or a void, or the
  check never paid past its time) a ``points: +price`` one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from integrations.common import ApiError
from integrations.voucherify.client import (
    CardTransaction,
    VoucherifyClient,
    VoucherifyMembership,
    VoucherifyRefusedError,
)
from models import Member, Merchant, OrderAccount, ProviderMember, ProviderPosting, Redemption
from services.outbox import postings
from services.programs.port import Balance, Catalogue, Charge, OrderTarget, ProgramManagedByProvider
from services.rewards import announce
from services.rewards import catalogue as rewards_catalog
from services.runtime import Runtime

log = logging.getLogger(__name__)
PROVIDER = "voucherify"
POS_TIMEOUT = 1.5  # seconds: Toast wants answers in 500 ms on average and gives up at 5 s
CACHE_TTL = 30.0  # seconds a member's card is reused; our own writes clear it
# How far before a posting was written its transaction is looked for: Voucherify's clock is not ours.
SKEW = timedelta(hours=1)
ADJUSTING = ("earn", "reverse", "redeem", "void")  # the postings that are card adjustments


@dataclass(frozen=True)
class Link:
    """Where a member's points are at Voucherify: its member and the card they are kept on."""

    member_id: str
    card_id: str


class VoucherifyEngine:
    """One merchant's Voucherify Loyalty v2 program."""

    name = PROVIDER

    def __init__(self, merchant_id: int, config: dict) -> None:
        self.merchant_id, self.config = merchant_id, config
        self.program_id = config["program_id"]

    def client(self, rt: Runtime, *, pos: bool = False) -> VoucherifyClient:
        """A Voucherify client for this merchant; ``pos``: the POS's shorter timeout."""
        timeout = float(self.config.get("timeout_seconds") or 5)
        return VoucherifyClient(
            base_url=self.config["base_url"],
            app_id=self.config["app_id"],
            app_token=self.config["app_token"],
            session=rt.http,
            timeout=min(timeout, POS_TIMEOUT) if pos else timeout,
        )

    # --- orders -----------------------------------------------------------------------------------

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
        """Post the points difference between what the order earns now and what Voucherify holds for it."""
        difference = target.points - int(account.remote_sent)
        if difference != 0:
            account.revision += 1
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=member.id,
                provider=PROVIDER,
                key=key or f"{account.order_key}:r{account.revision}",
                kind="earn" if difference > 0 else "reverse",
                amount=Decimal(difference),
                reference=account.order_key,
                now=now,
                details={"channel": channel},
            )
            account.remote_sent = Decimal(target.points)
        account.updated_at = now
        return 0

    # --- members ------------------------------------------------------------------------------------

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Queue the member's enrollment in Voucherify (sent after commit, before any other posting of it)."""
        if link_of(session, member.id) is None:
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=member.id,
                provider=PROVIDER,
                key=f"enroll:{member.id}",
                kind="enroll",
                now=now,
            )

    def balance(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Balance:
        """The card's spendable and pending points, its lifetime total and the member's tier."""
        card = self._card(rt, session, member, pos)
        if card is None:
            return Balance(points=0, reachable=False)
        return Balance(
            points=_spendable(session, member.id, card),
            pending_points=card["pending_points"],
            tier=card["tier"],
            lifetime_points=card["lifetime"]["total"],
        )

    def card(self, rt: Runtime, session: Session, member: Member) -> dict | None:
        """The partner API's points card: Voucherify's own buckets, which it is the model of."""
        card = self._card(rt, session, member, False)
        if card is None:
            return None
        lifetime = {name: value for name, value in card["lifetime"].items() if name != "total"}
        return {
            "balance": {"points": _spendable(session, member.id, card), "pending_points": card["pending_points"]},
            "lifetime": lifetime,
            "pending_points": card["pending"],
            "next_expiration": card["next_expiration"],
            "next_activation": card["next_activation"],
        }

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue:
        """The merchant's configured rewards and the member's redemptions of them (Voucherify prices none of them)."""
        merchant = session.get(Merchant, member.merchant_id)
        return Catalogue(rewards_catalog.rules(session, merchant), rewards_catalog.usage(session, member.id))

    # --- redemptions ----------------------------------------------------------------------------------

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Record the redemption and debit its price at once, by a posting; refused while the member is not enrolled.

        The caller has weighed the price against :meth:`balance`, which counts
        this and every other debit Voucherify may not hold yet.
        """
        if link_of(session, member.id) is None:
            return "PROVIDER_UNAVAILABLE"
        price = charge.rule.points_price
        debit_key = f"{charge.source}:debit"
        redemption = Redemption(
            merchant_id=member.merchant_id,
            member_id=member.id,
            reward_uuid=charge.rule.uuid,
            points=price,
            amount=charge.amount,
            channel=charge.channel,
            source_key=charge.source,
            check_guid=charge.check_guid,
            created_at=now,
            expires_at=charge.expires_at,
            provider_ref=debit_key if price else None,
            details=charge.details,
        )
        session.add(redemption)
        session.flush()
        if price:
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=member.id,
                provider=PROVIDER,
                key=debit_key,
                kind="redeem",
                amount=Decimal(-price),
                reference=redemption.id,
                now=now,
                details={"channel": charge.channel, "reward": charge.rule.uuid},
            )
        forget(rt, self.merchant_id, member.id)
        return None

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """The check is paid: the redemption is redeemed (its points left the card at REDEEM)."""
        if redemption.state == "initiated":
            redemption.state, redemption.redeemed_at = "redeemed", now
            announce.redeemed(session, redemption, now)

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Undo the redemption: its price goes back on the card (``points: +price``, by a posting)."""
        if redemption.state == "voided":
            return
        redemption.state, redemption.voided_at = "voided", now
        if redemption.points and redemption.provider_ref:
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=redemption.member_id,
                provider=PROVIDER,
                key=f"{redemption.source_key}:refund",
                kind="void",
                amount=Decimal(redemption.points),
                reference=redemption.id,
                now=now,
                details={"channel": channel, "debit_key": redemption.provider_ref},
            )

    def require_ledger(self) -> None:
        """Voucherify keeps the points: the ledger's own operations are Voucherify's API's."""
        raise ProgramManagedByProvider("Voucherify")

    # --- sending postings --------------------------------------------------------------------------------

    def perform(self, rt: Runtime, posting: postings.Claimed) -> dict | None:
        """Send one claimed posting: the member is enrolled first if Voucherify does not know it yet."""
        if posting.kind not in ("enroll", *ADJUSTING):
            raise ValueError(f"Voucherify cannot send a {posting.kind} posting")
        client = self.client(rt)
        link = self._membership(rt, client, posting.member_id)
        try:
            if posting.kind == "enroll":
                return {"member_id": link.member_id, "card_id": link.card_id}
            return self._adjust(rt, client, link, posting)
        finally:
            forget(rt, self.merchant_id, posting.member_id)

    def _adjust(self, rt: Runtime, client: VoucherifyClient, link: Link, posting: postings.Claimed) -> dict:
        """One card adjustment, once: a resend first looks for the key in the card's transactions."""
        done = {"member_id": link.member_id, "card_id": link.card_id}
        if posting.kind == "void" and _failed(rt, posting.merchant_id, posting.details.get("debit_key")):
            return {**done, "points": 0, "skipped": "the redemption's debit was never taken"}
        if posting.attempts > 1:  # an earlier attempt may have reached Voucherify: its outcome is unknown
            found = client.find_transaction(
                self.program_id,
                member_id=link.member_id,
                card_id=link.card_id,
                reason=posting.key,
                not_before=posting.created_at - SKEW,
            )
            if found is not None:
                return {**done, **_taken(found, posting.key), "found_on_resend": True}
        points, short = int(posting.amount), 0
        if posting.kind == "reverse":
            points, short = self._capped(client, link, points)
        made = None
        if points:
            made = client.adjust_points(
                self.program_id, member_id=link.member_id, card_id=link.card_id, points=points, reason=posting.key
            )
        if short:
            log.warning(
                "merchant %s: posting %s took back %s points; the card held %s fewer than the order asked",
                self.merchant_id,
                posting.key,
                -points,
                short,
            )
        result = {**done, "points": points, **({"not_taken_back": short} if short else {})}
        return {**result, **(_taken(made, posting.key) if made is not None else {})}

    def _capped(self, client: VoucherifyClient, link: Link, points: int) -> tuple[int, int]:
        """A debit of at most what the card holds now, and the points it leaves: no balance goes negative."""
        card = _pick(client.membership(self.program_id, link.member_id), link.card_id)
        held = max(card.points if card is not None else 0, 0)
        taken = min(-points, held)
        return -taken, -points - taken

    def _membership(self, rt: Runtime, client: VoucherifyClient, member_id: str) -> Link:
        with rt.db.reader() as session:
            link = link_of(session, member_id)
            member = session.get(Member, member_id)
        if link is not None:
            return Link(link.remote_id, link.details["card_id"])
        made = client.get_or_create_member(
            self.program_id,
            source_id=member.id,
            email=member.email,
            phone=member.phone,
            name=" ".join(filter(None, (member.first_name, member.last_name))) or None,
        )
        if not made.cards:
            raise VoucherifyRefusedError(
                f"member {made.member_id} of program {self.program_id} has no card to keep points on",
                code="no_card",
                status=200,
            )
        with rt.db.transaction() as session:
            if link_of(session, member_id) is None:
                session.add(
                    ProviderMember(
                        merchant_id=self.merchant_id,
                        member_id=member_id,
                        provider=PROVIDER,
                        remote_id=made.member_id,
                        details={"card_id": made.cards[0].id, "customer_id": made.customer_id},
                        created_at=rt.clock(),
                    )
                )
        return Link(made.member_id, made.cards[0].id)

    def _card(self, rt: Runtime, session: Session, member: Member, pos: bool) -> dict | None:
        """The member's card as last read (at most ``CACHE_TTL`` ago); None when Voucherify did not answer."""
        key = cache_key(self.merchant_id, member.id)
        hit = rt.cache.get(key)
        if hit is not None:
            return json.loads(hit)
        link = link_of(session, member.id)
        if link is None:
            return None  # not enrolled yet: its enrollment is on its way
        asked_at = rt.clock()  # a debit sent after this instant may be missing from the answer
        try:
            membership = self.client(rt, pos=pos).membership(self.program_id, link.remote_id)
        except ApiError as exc:
            log.warning(
                "merchant %s: Voucherify card of member %s unavailable (%s)", self.merchant_id, member.id, exc.code
            )
            return None
        card = _pick(membership, link.details.get("card_id"))
        if card is None:
            log.warning("merchant %s: Voucherify member %s has no card", self.merchant_id, link.remote_id)
            return None
        value = {**asdict(card), "asked_at": asked_at.isoformat()}  # points, pending_points, lifetime, pending, ...
        rt.cache.set(key, json.dumps(value).encode(), ttl=CACHE_TTL)
        return value


def link_of(session: Session, member_id: str) -> ProviderMember | None:
    """The member's Voucherify membership, when it has one."""
    return session.execute(select(ProviderMember).where(ProviderMember.member_id == member_id)).scalar_one_or_none()


def cache_key(merchant_id: int, member_id: str) -> str:
    """Where a member's Voucherify card is cached."""
    return f"voucherify:{merchant_id}:{member_id}:card"


def forget(rt: Runtime, merchant_id: int, member_id: str) -> None:
    """Our write changed the member's card: the next read asks Voucherify again."""
    rt.cache.delete(cache_key(merchant_id, member_id))


def _pick(membership: VoucherifyMembership, card_id: str | None):
    """The card points are kept on: the one we enrolled with, else the first (providers.md: ``cards[0]``)."""
    return next((c for c in membership.cards if c.id == card_id), membership.cards[0] if membership.cards else None)


def _spendable(session: Session, member_id: str, card: dict) -> int:
    """The card's balance less the debits it may not show yet: unsent, or sent after the card was asked for."""
    since = datetime.fromisoformat(card["asked_at"])
    amounts = session.execute(
        select(ProviderPosting.amount).where(
            ProviderPosting.member_id == member_id,
            ProviderPosting.provider == PROVIDER,
            ProviderPosting.kind.in_(("reverse", "redeem")),  # amounts are stored as text: the kind says debit
            or_(
                ProviderPosting.status.in_(("pending", "sending")),
                and_(ProviderPosting.status == "sent", ProviderPosting.sent_at > since),
            ),
        )
    ).scalars()
    owed = sum((amount for amount in amounts if amount is not None), Decimal(0))
    return max(card["points"] + int(owed), 0)


def _failed(rt: Runtime, merchant_id: int, key: str | None) -> bool:
    """Whether the posting ``key`` (a redemption's debit) was refused: then there is nothing to give back."""
    if not key:
        return False
    with rt.db.reader() as session:
        status = session.execute(
            select(ProviderPosting.status).where(ProviderPosting.merchant_id == merchant_id, ProviderPosting.key == key)
        ).scalar_one_or_none()
    return status == "failed"


def _taken(made: CardTransaction, key: str) -> dict:
    """What the posting's details keep of its card transaction; a transaction Voucherify rejected fails it."""
    if made.status == "REJECTED":
        raise VoucherifyRefusedError(
            f"Voucherify rejected transaction {made.id} of {key}: {made.rejection or 'no reason given'}",
            code="transaction_rejected",
            status=200,
        )
    return {"transaction_id": made.id, "transaction_status": made.status}
