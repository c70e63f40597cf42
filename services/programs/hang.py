"""Hang as the program engine (providers.md, the Hang column).

- Earning: each difference of an order's eligible spend becomes a posting,
  sent after commit as a synchronous purchase activity whose
  ``idempotency_key`` is the posting key: Hang's rules turn the spend into
  points, once. Hang's API cannot take points back, so a reversal is a posting
  ``unsupported`` from the start: the order keeps what Hang holds for it, and
  a later state that earns again posts only what Hang does not hold yet.
- Members: a member is enrolled (Hang's get-or-create, by phone else by our
  member id as ``external_user_id``) by its first posting; its Hang id is kept
  in ``provider_members``.
- Reads (balance, rewards) go to Hang with a short per-member cache that our
  own writes clear; on the POS's clock a call has at most 1.5 s and a Hang that
  does not answer makes an empty answer, never an error.
- Toast redemptions are Hang redemptions: created (validated, not charged) at
  REDEEM, redeemed when the check is paid, voided by REVERSE or a void.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.common import ApiError
from integrations.hang.client import HangClient, HangRefusedError, HangRetryableError
from loyalty.rewards import MemberUsage, RewardRule
from models import Member, OrderAccount, ProviderMember, Redemption
from services.metrics import Metered
from services.outbox import postings
from services.programs.port import Balance, Catalogue, Charge, OrderTarget, ProgramManagedByProvider
from services.rewards import announce
from services.runtime import Runtime

log = logging.getLogger(__name__)
PROVIDER = "hang"
POS_TIMEOUT = 1.5  # seconds: Toast wants answers in 500 ms on average and gives up at 5 s
CACHE_TTL = 30.0  # seconds a member's level and rewards are reused; our own writes clear them
REFUSALS = {"INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD": "INSUFFICIENT_POINTS"}


class HangEngine:
    """One merchant's Hang program."""

    name = PROVIDER

    def __init__(self, merchant_id: int, config: dict) -> None:
        self.merchant_id, self.config = merchant_id, config

    def client(self, rt: Runtime, *, pos: bool = False) -> HangClient:
        """A Hang client for this merchant; ``pos``: the POS's shorter timeout."""
        timeout = float(self.config.get("timeout_seconds") or 5)
        client = HangClient(
            base_url=self.config["base_url"],
            api_key=self.config["api_key"],
            session=rt.http,
            timeout=min(timeout, POS_TIMEOUT) if pos else timeout,
        )
        return Metered(client, PROVIDER)  # type: ignore[return-value]  # counted in punchcard_provider_calls

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
        """Post the spend Hang does not hold yet; record, once, what Hang cannot take back."""
        difference = target.spend - account.remote_sent
        if difference > 0:
            account.revision += 1
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=member.id,
                provider=PROVIDER,
                key=key or f"{account.order_key}:r{account.revision}",
                kind="earn",
                amount=difference,
                reference=account.order_key,
                now=now,
                details={"occurred_at": int(target.occurred_at.timestamp()), "channel": channel},
            )
            account.remote_sent, account.remote_unreversed = target.spend, Decimal(0)
        elif difference < 0:
            self._unreversed(session, account, member, -difference, channel=channel, now=now, key=key)
        account.updated_at = now
        return 0

    def _unreversed(
        self,
        session: Session,
        account: OrderAccount,
        member: Member,
        gap: Decimal,
        *,
        channel: str,
        now: datetime,
        key: str | None,
    ) -> None:
        """Hang holds ``gap`` more spend for the order than it should: record only what is new about it."""
        new = gap - account.remote_unreversed
        account.remote_unreversed = gap
        if new <= 0:
            return
        account.revision += 1
        note = (
            f"{account.order_key}: Hang cannot take points back; {new} of spend it was told about stays "
            "with the member (posting unsupported)"
        )
        written = postings.write(
            session,
            merchant_id=self.merchant_id,
            member_id=member.id,
            provider=PROVIDER,
            key=key or f"{account.order_key}:r{account.revision}",
            kind="reverse",
            amount=new,
            reference=account.order_key,
            now=now,
            status="unsupported",
            note=note,
            details={"channel": channel},
        )
        if written is not None:
            log.warning("merchant %s: %s", self.merchant_id, note)

    # --- members ------------------------------------------------------------------------------------

    def enroll(self, session: Session, member: Member, now: datetime) -> None:
        """Queue the member's enrollment in Hang (sent after commit, before any other posting of it)."""
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
        """Hang's level: tier, lifetime balance and spendable balance (0 pending: Hang has no such bucket)."""
        level = self._cached(rt, session, member, "level", pos)
        if level is None:
            return Balance(points=0, reachable=False)
        lifetime = int(Decimal(level["balance"]))
        spendable = level["spendable"] if level["spendable"] is not None else lifetime
        return Balance(points=int(spendable), tier=level["tier"], lifetime_points=lifetime)

    def card(self, rt: Runtime, session: Session, member: Member) -> dict | None:
        """What Hang's level tells: the spendable balance and lifetime points; Hang reports no other bucket."""
        balance = self.balance(rt, session, member)
        if not balance.reachable:
            return None
        lifetime = dict.fromkeys(
            ("earned", "added", "subtracted", "expired", "spent", "refunded", "returned", "locked", "unlocked"), 0
        )
        lifetime["earned"] = balance.lifetime_points
        return {
            "balance": {"points": balance.points, "pending_points": 0},
            "lifetime": lifetime,
            "pending_points": {"total": 0, "activated": 0, "canceled": 0},
            "next_expiration": None,
            "next_activation": None,
        }

    def catalogue(self, rt: Runtime, session: Session, member: Member, *, pos: bool = False) -> Catalogue | None:
        """The member's Hang rewards as rules, and its use of each (Hang's counts and our redemptions in flight)."""
        rewards = self._cached(rt, session, member, "rewards", pos)
        if rewards is None:
            return None
        rules, usage = {}, {}
        for reward in rewards:
            rule = _rule(reward)
            if rule is not None:
                rules[rule.uuid] = rule
                usage[rule.uuid] = _usage(reward)
        for reward_uuid, count in _in_flight(session, member.id).items():
            used = usage.get(reward_uuid, MemberUsage())
            usage[reward_uuid] = MemberUsage(used.redemption_count + count, used.last_redeemed_at)
        return Catalogue(rules, usage)

    # --- redemptions ----------------------------------------------------------------------------------

    def charge(self, rt: Runtime, session: Session, member: Member, charge: Charge, now: datetime) -> str | None:
        """Create the Hang redemption (validated, not yet charged) and record it; why not, when refused."""
        link = link_of(session, member.id)
        if link is None:
            return "PROVIDER_UNAVAILABLE"
        try:
            made = self.client(rt, pos=True).create_redemption(membership_id=link.remote_id, reward_id=charge.rule.uuid)
        except HangRetryableError:
            return "PROVIDER_UNAVAILABLE"
        except HangRefusedError as exc:
            return REFUSALS.get(exc.code, "REFUSED")
        expires_at = min(filter(None, (charge.expires_at, made.expires_at)), default=None)
        session.add(
            Redemption(
                merchant_id=member.merchant_id,
                member_id=member.id,
                reward_uuid=charge.rule.uuid,
                points=charge.rule.points_price,
                amount=charge.amount,
                channel=charge.channel,
                source_key=charge.source,
                check_guid=charge.check_guid,
                created_at=now,
                expires_at=expires_at,
                provider_ref=made.uuid,
                details={**charge.details, "provider_code": made.code},
            )
        )
        session.flush()
        forget(rt, self.merchant_id, member.id)
        return None

    def commit(self, session: Session, redemption: Redemption, now: datetime) -> None:
        """The check is paid: the Hang redemption is redeemed (after commit, by a posting)."""
        if redemption.state != "initiated":
            return
        redemption.state, redemption.redeemed_at = "redeemed", now
        self._redemption_posting(session, redemption, "redeem", now)
        announce.redeemed(session, redemption, now)

    def void(self, session: Session, redemption: Redemption, *, key: str, channel: str, now: datetime) -> None:
        """Void the Hang redemption (after commit, by a posting): Hang gives its points back."""
        if redemption.state == "voided":
            return
        redemption.state, redemption.voided_at = "voided", now
        self._redemption_posting(session, redemption, "void", now)

    def _redemption_posting(self, session: Session, redemption: Redemption, kind: str, now: datetime) -> None:
        if redemption.provider_ref:
            postings.write(
                session,
                merchant_id=self.merchant_id,
                member_id=redemption.member_id,
                provider=PROVIDER,
                key=f"{redemption.source_key}:{kind}",
                kind=kind,
                reference=redemption.id,
                now=now,
                details={"redemption_uuid": redemption.provider_ref},
            )

    def require_ledger(self) -> None:
        """Hang keeps the points: the ledger's own operations are Hang's API's."""
        raise ProgramManagedByProvider("Hang")

    # --- sending postings --------------------------------------------------------------------------------

    def perform(self, rt: Runtime, posting: postings.Claimed) -> dict | None:
        """Send one claimed posting: the member is enrolled first if Hang does not know it yet."""
        client = self.client(rt)
        membership_id = self._membership(rt, client, posting.member_id)
        if posting.kind == "earn":
            client.record_purchase(
                membership_id=membership_id,
                idempotency_key=posting.key,
                activity_type_id=self.config["activity_type_id"],
                value=posting.amount,
                timestamp=int(posting.details["occurred_at"]),
            )
        elif posting.kind == "redeem":
            client.redeem(redemption_uuid=posting.details["redemption_uuid"])
        elif posting.kind == "void":
            client.void(redemption_uuid=posting.details["redemption_uuid"])
        elif posting.kind != "enroll":
            raise ValueError(f"Hang cannot send a {posting.kind} posting")
        forget(rt, self.merchant_id, posting.member_id)
        return {"membership_id": membership_id}

    def _membership(self, rt: Runtime, client: HangClient, member_id: str) -> str:
        with rt.db.reader() as session:
            link = link_of(session, member_id)
            member = session.get(Member, member_id)
        if link is not None:
            return link.remote_id
        made = _get_or_create(client, member)
        with rt.db.transaction() as session:
            if link_of(session, member_id) is None:
                session.add(
                    ProviderMember(
                        merchant_id=self.merchant_id,
                        member_id=member_id,
                        provider=PROVIDER,
                        remote_id=made,
                        details={},
                        created_at=rt.clock(),
                    )
                )
        return made

    def _cached(self, rt: Runtime, session: Session, member: Member, what: str, pos: bool):
        key = cache_key(self.merchant_id, member.id, what)
        hit = rt.cache.get(key)
        if hit is not None:
            return json.loads(hit)
        link = link_of(session, member.id)
        if link is None:
            return None  # not enrolled yet: its enrollment is on its way
        try:
            value = self._fetch(self.client(rt, pos=pos), link.remote_id, what)
        except ApiError as exc:
            log.warning(
                "merchant %s: Hang %s of member %s unavailable (%s)", self.merchant_id, what, member.id, exc.code
            )
            return None
        rt.cache.set(key, json.dumps(value, default=str).encode(), ttl=CACHE_TTL)
        return value

    @staticmethod
    def _fetch(client: HangClient, membership_id: str, what: str):
        if what == "level":
            level = client.level(membership_id=membership_id)
            return {"tier": level.tier, "balance": str(level.balance), "spendable": level.spendable}
        return client.rewards(membership_id=membership_id)


def link_of(session: Session, member_id: str) -> ProviderMember | None:
    """The member's Hang membership, when it has one."""
    return session.execute(select(ProviderMember).where(ProviderMember.member_id == member_id)).scalar_one_or_none()


def cache_key(merchant_id: int, member_id: str, what: str) -> str:
    """Where a member's Hang ``level`` or ``rewards`` are cached."""
    return f"hang:{merchant_id}:{member_id}:{what}"


def forget(rt: Runtime, merchant_id: int, member_id: str) -> None:
    """Our write changed the member at Hang: the next read asks Hang again."""
    rt.cache.delete(cache_key(merchant_id, member_id, "level"), cache_key(merchant_id, member_id, "rewards"))


def _get_or_create(client: HangClient, member: Member) -> str:
    """Hang's get-or-create: by phone when we have one, else by our member id; the email only if Hang takes it."""
    identity = dict(
        phone=member.phone,
        external_user_id=None if member.phone else member.id,
        first_name=member.first_name,
        last_name=member.last_name,
    )
    try:
        return client.get_or_create_membership(email=member.email, **identity).id
    except HangRefusedError as exc:
        # Hang answers 409 EMAIL_ALREADY_EXISTS even for its own member's email, and
        # PROGRAM_MEMBERSHIP_ALREADY_EXISTS to a race: find the member without the email.
        if exc.code not in ("EMAIL_ALREADY_EXISTS", "PROGRAM_MEMBERSHIP_ALREADY_EXISTS"):
            raise
        return client.get_or_create_membership(**identity).id


def _rule(reward: dict) -> RewardRule | None:
    """A Hang reward as a pure rule; one that cannot be read is left out (and logged)."""
    definition = dict(reward)
    definition["points_price"] = int(reward.get("points_price") or 0)
    for bound in ("start_date", "end_date"):
        if isinstance(definition.get(bound), Decimal):
            definition[bound] = int(definition[bound])
    try:
        return RewardRule.from_definition(definition)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.warning("a Hang reward could not be read and is not offered: %s", type(exc).__name__)
        return None


def _usage(reward: dict) -> MemberUsage:
    last = reward.get("last_redeemed_at")
    last_at = datetime.fromtimestamp(int(last), UTC) if last else None
    return MemberUsage(int(reward.get("redemption_count") or 0), last_at)


def _in_flight(session: Session, member_id: str) -> dict[str, int]:
    """Our redemptions Hang has not redeemed yet (initiated): they count for limits as Hang's will."""
    rows = session.execute(
        select(Redemption.reward_uuid).where(
            Redemption.member_id == member_id, Redemption.state == "initiated", Redemption.provider_ref.isnot(None)
        )
    )
    counts: dict[str, int] = {}
    for (reward_uuid,) in rows:
        counts[reward_uuid] = counts.get(reward_uuid, 0) + 1
    return counts
