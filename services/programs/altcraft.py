"""Altcraft as the program engine (providers.md, the Altcraft column; Altcraft's loyalty API v1.1).

- Earning: Altcraft keeps points, so each difference of the points an order
  earns under the merchant's program rules becomes a posting, sent after
  commit as ``accrue_points`` whose ``transaction_eid`` is the posting key.
- Reversals: an order that drops to nothing while Altcraft holds exactly one
  accrual for it has that accrual cancelled (``cancel_transaction``); any other
  drop (a partial refund, or an order earned in several steps) is redeemed
  back (``redeeme_points`` for the difference, with its own ``transaction_eid``).
- Exactly once: Altcraft documents no deduplication of ``transaction_eid``, so a
  posting sent again after an attempt whose outcome is unknown first looks for
  its key in the member's transaction history. A cancel, commit or rollback
  names one transaction, and is taken as done when Altcraft refuses it on a resend.
- Members: registered (``register_member``) by the merchant's ``matching``,
  phone or email, by their first posting; every member call matches the same
  way, and Altcraft's ``profile_id`` is kept in ``provider_members``.
- Reads: the balance (``account/balance``: active and total) with a short
  per-member cache that our own writes clear; on the POS's clock a call has
  at most 1.5 s and an Altcraft that does not answer makes an empty answer.
  The rewards are the merchant's configured ones.
- Toast REDEEM takes the reward's points as a temporary redemption
  (``is_temp``), committed when the check is paid, rolled back by a REVERSE,
  a void or the hold's time-out; one spent already is cancelled.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.altcraft.client import (
    AltcraftClient,
    AltcraftRefusedError,
    AltcraftRetryableError,
    AltcraftTransaction,
    matching,
)
from integrations.common import ApiError, PermanentError
from models import Member, Merchant, OrderAccount, ProviderMember, ProviderPosting, Redemption
from services.outbox import postings
from services.programs.port import Balance, Catalogue, Charge, OrderTarget, ProgramManagedByProvider
from services.rewards import announce
from services.rewards import catalogue as rewards_catalog
from services.runtime import Runtime

log = logging.getLogger(__name__)
PROVIDER = "altcraft"
POS_TIMEOUT = 1.5  # seconds: Toast wants answers in 500 ms on average and gives up at 5 s
CACHE_TTL = 30.0  # seconds a member's balance is reused; our own writes clear it
DEFAULT_HOLD = 86400  # seconds a REDEEM's temporary redemption lives when the charge names no expiry
# Altcraft's own time-out of a temporary redemption comes this long after ours, so our expiry job
# (every five minutes) rolls it back first and Altcraft's is only the net under it.
TEMP_MARGIN = 900
UNCERTAIN = ("timeout", "network_error", "server_error")  # failures after which Altcraft may have acted


class AltcraftEngine:
    """One merchant's Altcraft loyalty program."""

    name = PROVIDER

    def __init__(self, merchant_id: int, config: dict) -> None:
        self.merchant_id, self.config = merchant_id, config

    def client(self, rt: Runtime, *, pos: bool = False) -> AltcraftClient:
        """An Altcraft client for this merchant; ``pos``: the POS's shorter timeout."""
        timeout = float(self.config.get("timeout_seconds") or 5)
        return AltcraftClient(
            base_url=self.config["base_url"],
            token=self.config["token"],
            session=rt.http,
            loyalty_program_id=int(self.config["loyalty_program_id"]),
            points_currency_eid=self.config.get("points_currency_eid"),
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
        """Post the points difference between what the order earns now and what Altcraft holds for it."""
        held = int(account.remote_sent)  # points, for an Altcraft merchant
        delta = target.points - held
        if delta == 0:
            return 0
        account.revision += 1
        # ``holds``: what Altcraft holds for the order once this posting is sent.
        details = {"occurred_at": int(target.occurred_at.timestamp()), "channel": channel, "holds": target.points}
        kind = "earn" if delta > 0 else "reverse"
        if delta < 0:
            single = _single_accrual(session, self.merchant_id, account.order_key) if target.points == 0 else None
            details.update({"action": "cancel", "transaction_eid": single} if single else {"action": "redeem"})
        postings.write(
            session,
            merchant_id=self.merchant_id,
            member_id=member.id,
            provider=PROVIDER,
            key=key or f"{account.order_key}:r{account.revision}",
            kind=kind,
            amount=Decimal(abs(delta)),
            reference=account.order_key,
            now=now,
            details=details,
        )
        account.remote_sent, account.updated_at = Decimal(target.points), now
        return 0

    # --- members and reads ----------------------------------------------------------------------------

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Queue the member's registration in Altcraft (sent after commit, before any other posting of it)."""
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
        """Altcraft's active balance to spend; the points not active yet as pending (no tiers: none configured)."""
        found = self._balance(rt, session, member, pos)
        if found is None:
            return Balance(points=0, reachable=False)
        active, total = Decimal(found["active"]), Decimal(found["total"])
        # Points are whole here; a fraction Altcraft holds (its amounts may have them) is not spendable.
        points = max(int(active), 0)
        return Balance(points=points, pending_points=max(int(total) - points, 0), lifetime_points=max(int(total), 0))

    def card(self, rt: Runtime, session: Session, member: Member) -> dict | None:
        """The partner API's card from Altcraft's balance: spendable and pending (Altcraft reports no other bucket)."""
        balance = self.balance(rt, session, member)
        if not balance.reachable:
            return None
        lifetime = dict.fromkeys(
            ("earned", "added", "subtracted", "expired", "spent", "refunded", "returned", "locked", "unlocked"), 0
        )
        return {
            "balance": {"points": balance.points, "pending_points": balance.pending_points},
            "lifetime": lifetime,
            "pending_points": {"total": balance.pending_points, "activated": 0, "canceled": 0},
            "next_expiration": None,
            "next_activation": None,
        }

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue:
        """The merchant's configured rewards (Altcraft has no reward catalogue) and the member's redemptions."""
        return Catalogue(
            rewards_catalog.rules(session, session.get(Merchant, member.merchant_id)),
            rewards_catalog.usage(session, member.id),
        )

    def _balance(self, rt: Runtime, session: Session, member: Member, pos: bool) -> dict | None:
        key = cache_key(self.merchant_id, member.id)
        hit = rt.cache.get(key)
        if hit is not None:
            return json.loads(hit)
        who = self.who(member)
        if link_of(session, member.id) is None or who is None:
            return None  # not registered yet (its registration is on its way), or it cannot be matched
        try:
            found = self.client(rt, pos=pos).balance(who)
        except ApiError as exc:
            log.warning("merchant %s: Altcraft balance of %s unavailable (%s)", self.merchant_id, member.id, exc.code)
            return None
        value = {"active": str(found.active), "total": str(found.total)}
        rt.cache.set(key, json.dumps(value).encode(), ttl=CACHE_TTL)
        return value

    def who(self, member: Member) -> dict | None:
        """The member as every Altcraft member call names it, by the merchant's matching; None without one."""
        mode = self.config.get("matching") or "phone"
        value = member.phone if mode == "phone" else member.email
        return matching(mode, value) if value else None

    # --- redemptions ----------------------------------------------------------------------------------

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Take the reward's points as a temporary Altcraft redemption and record it; why not, when refused."""
        price = charge.rule.points_price
        who = self.who(member)
        if price and (link_of(session, member.id) is None or who is None):
            return "PROVIDER_UNAVAILABLE"
        made = None
        if price:
            hold = int((charge.expires_at - now).total_seconds()) if charge.expires_at else DEFAULT_HOLD
            try:
                made = self.client(rt, pos=True).redeem_points(
                    who,
                    amount=price,
                    transaction_eid=charge.source,
                    temp_timeout_sec=max(hold, 1) + TEMP_MARGIN,
                    external_data={"reward": charge.rule.uuid, "check": charge.check_guid},
                )
            except AltcraftRetryableError as exc:
                if exc.code in UNCERTAIN:  # Altcraft may hold the points: roll it back, after commit
                    self._uncertain_rollback(session, member, charge, now)
                return "PROVIDER_UNAVAILABLE"
            except AltcraftRefusedError as exc:
                log.info("merchant %s: Altcraft refused a redemption (%s)", self.merchant_id, exc.code)
                return "REFUSED"
        session.add(
            Redemption(
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
                provider_ref=(made.transaction_id or charge.source) if made else None,
                details={**charge.details, "transaction_eid": charge.source} if made else charge.details,
            )
        )
        session.flush()
        forget(rt, self.merchant_id, member.id)
        return None

    def _uncertain_rollback(self, session: Session, member: Member, charge: Charge, now: datetime) -> None:
        postings.write(
            session,
            merchant_id=self.merchant_id,
            member_id=member.id,
            provider=PROVIDER,
            key=f"{charge.source}:unknown",
            kind="void",
            reference=charge.source,
            now=now,
            details={"transaction_eid": charge.source, "action": "rollback", "uncertain": True},
        )

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """The check is paid: the temporary redemption is committed (after commit, by a posting)."""
        if redemption.state != "initiated":
            return
        redemption.state, redemption.redeemed_at = "redeemed", now
        announce.redeemed(session, redemption, now)
        self._redemption_posting(session, redemption, "redeem", "commit", now)

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Give the points back: a temporary redemption rolled back, a committed one cancelled (by a posting)."""
        if redemption.state == "voided":
            return
        action = "rollback" if redemption.state == "initiated" else "cancel"
        redemption.state, redemption.voided_at = "voided", now
        self._redemption_posting(session, redemption, "void", action, now)

    def _redemption_posting(self, session: Session, redemption: Redemption, kind: str, action: str, now) -> None:
        eid = (redemption.details or {}).get("transaction_eid")
        if redemption.provider_ref and eid:
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=redemption.member_id,
                provider=PROVIDER,
                key=f"{redemption.source_key}:{kind}",
                kind=kind,
                reference=redemption.id,
                now=now,
                details={"transaction_eid": eid, "action": action},
            )

    def require_ledger(self) -> None:
        """Altcraft keeps the points: the ledger's own operations are Altcraft's API's."""
        raise ProgramManagedByProvider("Altcraft")

    # --- sending postings --------------------------------------------------------------------------------

    def perform(self, rt: Runtime, posting: postings.Claimed) -> dict | None:
        """Send one claimed posting; the member is registered first if Altcraft does not know it yet."""
        client = self.client(rt)
        with rt.db.reader() as session:
            member = session.get(Member, posting.member_id)
        who = self.who(member)
        if who is None:
            mode = self.config.get("matching") or "phone"
            raise PermanentError(
                f"member {member.id} has no {mode}, which this merchant's Altcraft matching needs",
                code="no_matching_identifier",
            )
        profile_id = self._profile(rt, client, member, who)
        sent = self._send(rt, client, posting, who)
        forget(rt, self.merchant_id, posting.member_id)
        return {"profile_id": profile_id, **sent}

    def _send(self, rt: Runtime, client: AltcraftClient, posting: postings.Claimed, who: dict) -> dict:
        details, eid = posting.details, posting.details.get("transaction_eid")
        if posting.kind == "enroll":
            return {}
        if posting.kind == "earn":
            when = datetime.fromtimestamp(int(details["occurred_at"]), UTC)

            def accrue() -> AltcraftTransaction:
                order = {"order": posting.reference}
                return client.accrue_points(
                    who, amount=posting.amount, transaction_eid=posting.key, created_at=when, external_data=order
                )

            return self._once(client, posting, who, accrue)
        if posting.kind == "reverse" and details.get("action") == "redeem":

            def take_back() -> AltcraftTransaction:
                order = {"order": posting.reference}
                return client.redeem_points(
                    who, amount=posting.amount, transaction_eid=posting.key, external_data=order
                )

            return self._once(client, posting, who, take_back)
        if posting.kind == "reverse":
            if _posting_status(rt, self.merchant_id, eid) == "failed":
                return {"skipped": f"{eid} never reached Altcraft"}
            return self._transition(client.cancel_transaction, eid, posting)
        if posting.kind in ("redeem", "void"):
            call = {
                "commit": client.commit_transaction,
                "rollback": client.rollback_transaction,
                "cancel": client.cancel_transaction,
            }[details["action"]]
            return self._transition(call, eid, posting)
        raise ValueError(f"Altcraft cannot send a {posting.kind} posting")

    @staticmethod
    def _once(client: AltcraftClient, posting: postings.Claimed, who: dict, send) -> dict:
        """Send a new transaction once: on a resend, Altcraft's history first tells whether the last attempt took."""
        if posting.attempts > 1:
            found = client.find_transaction(who, posting.key)
            if found is not None:
                return {"transaction_id": found.transaction_id, "found_in_history": True}
        made: AltcraftTransaction = send()
        return {"transaction_id": made.transaction_id}

    @staticmethod
    def _transition(call, transaction_eid: str, posting: postings.Claimed) -> dict:
        """Commit, roll back or cancel one transaction; refused on a resend, the earlier attempt did it."""
        try:
            made = call(transaction_eid=transaction_eid)
        except AltcraftRefusedError as exc:
            if posting.attempts > 1 or posting.details.get("uncertain"):
                return {"transaction_eid": transaction_eid, "already": f"{exc.code}: {exc}"[:300]}
            raise
        return {"transaction_eid": transaction_eid, "balance": str(made.balance) if made.balance is not None else None}

    def _profile(self, rt: Runtime, client: AltcraftClient, member: Member, who: dict) -> str:
        with rt.db.reader() as session:
            link = link_of(session, member.id)
        if link is not None:
            return link.remote_id
        # Altcraft searches the profile by the matching first: registering again finds the same profile.
        profile_id = client.register_member(who)
        with rt.db.transaction() as session:
            if link_of(session, member.id) is None:
                session.add(
                    ProviderMember(
                        merchant_id=self.merchant_id,
                        member_id=member.id,
                        provider=PROVIDER,
                        remote_id=profile_id,
                        details={"matching": who["matching"]},
                        created_at=rt.clock(),
                    )
                )
        return profile_id


def link_of(session: Session, member_id: str) -> ProviderMember | None:
    """The member's Altcraft profile, once registered."""
    return session.execute(
        select(ProviderMember).where(ProviderMember.member_id == member_id, ProviderMember.provider == PROVIDER)
    ).scalar_one_or_none()


def cache_key(merchant_id: int, member_id: str) -> str:
    """Where a member's Altcraft balance is cached."""
    return f"altcraft:{merchant_id}:{member_id}:balance"


def forget(rt: Runtime, merchant_id: int, member_id: str) -> None:
    """Our write changed the member at Altcraft: the next read asks Altcraft again."""
    rt.cache.delete(cache_key(merchant_id, member_id))


def _single_accrual(session: Session, merchant_id: int, order_key: str) -> str | None:
    """The key of the order's one accrual when that is all Altcraft holds for it (no other step, no refund).

    Postings before the order last came down to nothing at Altcraft are behind it (net zero) and do not count.
    """
    rows = session.execute(
        select(ProviderPosting.key, ProviderPosting.kind, ProviderPosting.details)
        .where(
            ProviderPosting.merchant_id == merchant_id,
            ProviderPosting.reference == order_key,
            ProviderPosting.kind.in_(("earn", "reverse")),
            ProviderPosting.status.notin_(("failed", "unsupported")),
        )
        .order_by(ProviderPosting.id)
    ).all()
    last_zero = max((i for i, row in enumerate(rows) if (row.details or {}).get("holds") == 0), default=-1)
    since = rows[last_zero + 1 :]
    return since[0].key if len(since) == 1 and since[0].kind == "earn" else None


def _posting_status(rt: Runtime, merchant_id: int, key: str | None) -> str | None:
    with rt.db.reader() as session:
        return session.execute(
            select(ProviderPosting.status).where(ProviderPosting.merchant_id == merchant_id, ProviderPosting.key == key)
        ).scalar_one_or_none()
