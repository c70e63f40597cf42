"""Inveterate as the program engine (providers.md, the Inveterate column): store credit for Shopify members.

- Members: Inveterate's members are Shopify customers, keyed by the Shopify
  customer id (there is no lookup by email or phone, and Punchcard never
  creates one: joining is the customer's own paid or free sign-up). A guest
  without a Shopify customer id earns nothing: the posting is
  ``unsupported`` from the start and the delivery says so. One whom
  Inveterate does not know as a member (its ``GET …/members/{id}`` answers
  404) earns nothing either: the posting ends ``unsupported`` when it is
  sent, and the delivery that caused it says so.
- Earning: each order's credit (its eligible spend × ``credit_rate``, rounded
  down to the currency's minor unit, on the whole order) is kept in step by
  postings of the difference, sent after commit as ``±amount`` credits whose
  ``note`` is the posting key. Inveterate has no idempotency key and applies
  a 201 a little later, so a resend whose first outcome is unknown first looks
  for its note in the member's credits, and goes again only if it is still
  missing ``APPLY_WINDOW`` after the first try.
- Reversals take back at most what Inveterate was actually given for the
  order (an order whose credit never reached it takes nothing back).
- Reads: the member's ``credit`` is the balance (30 s cache, 1.5 s on the
  POS's clock). Inveterate has no rewards at the POS: credit is spent as a
  Shopify discount code, so a Toast REDEEM is refused with a sentence.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.common import ApiError
from integrations.inveterate.client import InveterateClient, InveterateMember, InveterateRetryableError
from loyalty.credit import credit_for_spend
from loyalty.money import minor_unit
from models import Member, OrderAccount, ProviderMember, ProviderPosting, Redemption
from services.outbox import postings
from services.programs.port import (
    Balance,
    Catalogue,
    Charge,
    OrderTarget,
    PostingUnsupported,
    ProgramManagedByProvider,
)
from services.runtime import Runtime

log = logging.getLogger(__name__)
PROVIDER = "inveterate"
POS_TIMEOUT = 1.5  # seconds: Toast wants answers in 500 ms on average and gives up at 5 s
CACHE_TTL = 30.0  # seconds a member's credit is reused; our own sent postings clear it
# How long a credit Inveterate may have accepted (201: "applied a little later") is looked for in the
# member's credits before it is sent again: Inveterate does not say how long "a little" is.
APPLY_WINDOW = timedelta(minutes=10)
REFUSAL = "Store credit is spent at the online checkout; it can't be redeemed at the register."
_BUCKETS = ("earned", "added", "subtracted", "expired", "spent", "refunded", "returned", "locked", "unlocked")


class InveterateEngine:
    """One merchant's Inveterate program."""

    name = PROVIDER

    def __init__(self, merchant_id: int, config: dict, *, currency: str) -> None:
        self.merchant_id, self.config = merchant_id, config
        self.rate = Decimal(str(config["credit_rate"]))
        self.unit = minor_unit(currency)

    def client(self, rt: Runtime, *, pos: bool = False) -> InveterateClient:
        """An Inveterate client for this merchant; ``pos``: the POS's shorter timeout."""
        timeout = float(self.config.get("timeout_seconds") or 5)
        return InveterateClient(
            base_url=self.config["base_url"],
            api_key=self.config["api_key"],
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
        """Post the difference between the credit the order earns now and what was posted for it."""
        credit = credit_for_spend(target.spend, self.rate, self.unit)
        difference = credit - account.remote_sent
        if difference != 0:
            account.revision += 1
            self._post(
                session, account, member, difference, channel, now, key or f"{account.order_key}:r{account.revision}"
            )
            account.remote_sent = credit
        account.updated_at = now
        return 0

    def _post(
        self,
        session: Session,
        account: OrderAccount,
        member: Member,
        difference: Decimal,
        channel: str,
        now: datetime,
        key: str,
    ) -> None:
        """One credit posting; a guest with no Shopify customer id gets it ``unsupported``, said on the delivery."""
        unlinked = member.shopify_customer_id is None
        note = None
        if unlinked and difference > 0:
            note = (
                f"{account.order_key}: Inveterate credits Shopify customers only and this guest has no Shopify "
                f"customer id: {difference} of store credit is not earned (posting unsupported)"
            )
        postings.write(
            session,
            merchant_id=self.merchant_id,
            member_id=member.id,
            provider=PROVIDER,
            key=key,
            kind="earn" if difference > 0 else "reverse",
            amount=abs(difference),
            reference=account.order_key,
            now=now,
            status="unsupported" if unlinked else "pending",
            note=note,
            details={"channel": channel},
        )

    # --- members ------------------------------------------------------------------------------------

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Queue a look-up of the member's Shopify customer at Inveterate (Punchcard never creates members)."""
        if member.shopify_customer_id and link_of(session, member.id) is None:
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
        """The member's store credit; 0 for a guest who is not an Inveterate member (Inveterate has no points)."""
        found = self._cached(rt, member, pos)
        if found is None:
            return Balance(points=0, reachable=False)
        return Balance(points=0, credit=self._money(found["credit"]), credit_earned=self._money(found["earned"]))

    def _money(self, value: str) -> Decimal:
        """Inveterate's JSON number as money: ``8.0`` is ``8.00``; a finer amount stays exact."""
        amount = Decimal(value)
        return amount.quantize(self.unit) if amount == amount.quantize(self.unit) else amount

    def card(self, rt: Runtime, session: Session, member: Member) -> dict | None:
        """The credit as the card's balance and the credit ever received as its ``earned``; no other bucket."""
        balance = self.balance(rt, session, member)
        if not balance.reachable:
            return None
        lifetime: dict = dict.fromkeys(_BUCKETS, 0)
        lifetime["earned"] = balance.credit_earned
        return {
            "balance": {"points": balance.credit, "pending_points": 0},
            "lifetime": lifetime,
            "pending_points": {"total": 0, "activated": 0, "canceled": 0},
            "next_expiration": None,
            "next_activation": None,
        }

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue:
        """No rewards at the POS: Inveterate's credit becomes a Shopify discount code, spent online."""
        return Catalogue({}, refusal=REFUSAL)

    # --- redemptions (none at the POS) --------------------------------------------------------------------

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Never a reward to take at the register (the catalogue offers none)."""
        return "REFUSED"

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """Nothing: no Inveterate redemption is ever made at the POS."""

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Nothing: no Inveterate redemption is ever made at the POS."""

    def require_ledger(self) -> None:
        """Inveterate keeps the credit: the ledger's own operations are Inveterate's."""
        raise ProgramManagedByProvider("Inveterate")

    # --- sending postings --------------------------------------------------------------------------------

    def perform(self, rt: Runtime, posting: postings.Claimed) -> dict:
        """Send one claimed posting: look the member up, then credit or debit it once (its note is the key)."""
        client = self.client(rt)
        customer_id = _customer_of(rt, posting.member_id)
        if customer_id is None:
            raise PostingUnsupported(
                f"member {posting.member_id} has no Shopify customer id: Inveterate cannot know it"
            )
        if posting.kind == "enroll":
            self._confirm(rt, client, customer_id, posting)
            return {"customer_id": customer_id}
        if posting.kind not in ("earn", "reverse"):
            raise ValueError(f"Inveterate cannot send a {posting.kind} posting")
        amount = self._amount(rt, posting)
        if self._already_credited(rt, client, customer_id, posting):
            forget(rt, self.merchant_id, posting.member_id)
            return {"customer_id": customer_id, "credited": format(amount, "f"), "found_in_credits": True}
        self._confirm(rt, client, customer_id, posting, amount)
        postings.remember(rt, posting.id, {"posted_at": int(rt.clock().timestamp())})
        applied = client.add_credit(customer_id, amount, note=posting.key)
        forget(rt, self.merchant_id, posting.member_id)
        return {"customer_id": customer_id, "credited": format(amount, "f"), "applied": "now" if applied else "later"}

    def _amount(self, rt: Runtime, posting: postings.Claimed) -> Decimal:
        """The signed credit to send: a reversal takes back at most what the order was given in Inveterate."""
        if posting.kind == "earn":
            return posting.amount
        given = _credited(rt, posting)
        if given <= 0:
            raise PostingUnsupported(
                f"{posting.reference}: no store credit reached Inveterate for this order, so none is taken back"
            )
        return -min(posting.amount, given)

    def _already_credited(self, rt: Runtime, client: InveterateClient, customer_id: str, posting) -> bool:
        """Whether an earlier try of this posting reached Inveterate: its note is in the member's credits.

        Not found within ``APPLY_WINDOW`` of that try, the credit may still be on
        its way (201 applies later): the posting waits rather than risk a double.
        """
        tried = posting.details.get("posted_at")
        if tried is None:
            return False  # no earlier try got as far as the credit call
        if client.find_credit(customer_id, posting.key) is not None:
            return True
        waited = rt.clock().timestamp() - int(tried)
        if waited < APPLY_WINDOW.total_seconds():
            raise InveterateRetryableError(
                f"credit {posting.key} not in the member's credits yet; Inveterate may still be applying it",
                code="not_applied_yet",
                retry_after=APPLY_WINDOW.total_seconds() - waited,
            )
        return False

    def _confirm(
        self, rt: Runtime, client: InveterateClient, customer_id: str, posting, amount: Decimal | None = None
    ) -> InveterateMember:
        """The Inveterate member of this Shopify customer (linked to ours); ``PostingUnsupported`` if none."""
        found = client.member(customer_id)
        if found is None:
            raise PostingUnsupported(_not_a_member(customer_id, posting, amount))
        with rt.db.transaction() as session:
            if link_of(session, posting.member_id) is None:
                session.add(
                    ProviderMember(
                        merchant_id=self.merchant_id,
                        member_id=posting.member_id,
                        provider=PROVIDER,
                        remote_id=customer_id,
                        details={},
                        created_at=rt.clock(),
                    )
                )
        return found

    def _cached(self, rt: Runtime, member: Member, pos: bool) -> dict | None:
        """The member's credit, from the cache or Inveterate; None when Inveterate did not answer."""
        customer_id = member.shopify_customer_id
        if customer_id is None:
            return {"credit": "0", "earned": "0"}  # not a Shopify customer: no Inveterate member
        key = cache_key(self.merchant_id, member.id)
        hit = rt.cache.get(key)
        if hit is not None:
            return json.loads(hit)
        try:
            found = self.client(rt, pos=pos).member(customer_id)
        except ApiError as exc:
            log.warning("merchant %s: Inveterate member of %s unavailable (%s)", self.merchant_id, member.id, exc.code)
            return None
        value = (
            {"credit": str(found.credit), "earned": str(found.credits_earned)}
            if found
            else {"credit": "0", "earned": "0"}
        )
        rt.cache.set(key, json.dumps(value).encode(), ttl=CACHE_TTL)
        return value


def link_of(session: Session, member_id: str) -> ProviderMember | None:
    """The member's confirmed Inveterate membership (its Shopify customer id), when it has one."""
    return session.execute(select(ProviderMember).where(ProviderMember.member_id == member_id)).scalar_one_or_none()


def cache_key(merchant_id: int, member_id: str) -> str:
    """Where a member's Inveterate credit is cached."""
    return f"inveterate:{merchant_id}:{member_id}:member"


def forget(rt: Runtime, merchant_id: int, member_id: str) -> None:
    """Our credit changed the member at Inveterate: the next read asks again."""
    rt.cache.delete(cache_key(merchant_id, member_id))


def _customer_of(rt: Runtime, member_id: str) -> str | None:
    with rt.db.reader() as session:
        return session.execute(select(Member.shopify_customer_id).where(Member.id == member_id)).scalar_one_or_none()


def _credited(rt: Runtime, posting: postings.Claimed) -> Decimal:
    """What Inveterate was given for the posting's order so far: its sent postings before this one, signed."""
    with rt.db.reader() as session:
        rows = session.execute(
            select(ProviderPosting.kind, ProviderPosting.amount, ProviderPosting.details).where(
                ProviderPosting.merchant_id == posting.merchant_id,
                ProviderPosting.member_id == posting.member_id,
                ProviderPosting.reference == posting.reference,
                ProviderPosting.status == "sent",
                ProviderPosting.id < posting.id,
            )
        ).all()
    total = Decimal(0)
    for kind, amount, details in rows:
        credited = (details or {}).get("credited")
        total += Decimal(credited) if credited is not None else (amount if kind == "earn" else -amount)
    return total


def _not_a_member(customer_id: str, posting, amount: Decimal | None) -> str:
    who = f"Shopify customer {customer_id} is not a member of the merchant's Inveterate program"
    if posting.kind == "enroll":
        return f"{who}: their orders earn no store credit until they join"
    if amount is not None and amount < 0:
        return f"{posting.reference}: {who}: {-amount} of store credit is not taken back"
    return f"{posting.reference}: {who}: {amount} of store credit is not earned"
