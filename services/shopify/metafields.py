"""A linked member's balance and tier on its Shopify customer (``metafieldsSet``), written at most every few seconds.

How a change reaches Shopify, whatever use case made it (an order, the
partner API, the scheduler, the Toast POS):

1. :func:`watch` (installed by the wiring on the runtime's sessions) sees,
   before each flush, a member whose ``points``, ``pending_points`` or ``tier``
   changed, when the member is linked to a Shopify customer of a merchant with
   ``shopify.customer_metafields``, and stamps ``shopify_metafields_due_at`` in
   the same transaction: the change and the duty to write it commit together.
2. After the commit it queues :func:`sync_member` ``DEBOUNCE_SECONDS`` later,
   unless that member's job is already waiting: the waiting job reads the
   member when it runs, so the later change supersedes the earlier one and a
   burst of orders is one write.
3. The job writes the current values (nothing when they equal the last ones
   written) and clears the stamp only if no change came meanwhile; if one
   did, it runs again a debounce later. :func:`sweep` re-queues stamps whose
   job was lost (Redis down after the commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from integrations.shopify.admin import ShopifyAdminClient, ShopifyPermanentError, ShopifyRetryableError
from integrations.shopify.metafields import balance_metafields
from models import Member, Merchant
from services.errors import RetryLater
from services.runtime import Job, Runtime

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 5
WATCHED = ("points", "pending_points", "tier")
_CHANGED = "punchcard.metafields_changed"  # session.info key: members stamped in this transaction


def watch(rt: Runtime) -> None:
    """Stamp and queue metafield writes for every session of ``rt``'s database (once per database)."""
    factory = rt.db.sessionmaker
    if getattr(factory, "_punchcard_metafields", False):
        return
    factory._punchcard_metafields = True
    event.listen(factory, "before_flush", lambda session, _context, _instances: _stamp(rt, session))
    event.listen(factory, "after_commit", lambda session: _queue_stamped(rt, session))
    event.listen(factory, "after_rollback", lambda session: session.info.pop(_CHANGED, None))


def _stamp(rt: Runtime, session: Session) -> None:
    for member in [*session.new, *session.dirty]:
        if isinstance(member, Member) and member.shopify_customer_id and _changed(member) and _wanted(session, member):
            member.shopify_metafields_due_at = _later(member.shopify_metafields_due_at, rt.clock())
            session.info.setdefault(_CHANGED, []).append(member)


def _later(previous: datetime | None, now: datetime) -> datetime:
    # The job clears a stamp only if it is still the one it read: a newer change must never carry the same
    # instant (a clock that stands still in tests, or two changes inside one tick).
    return now if previous is None or now > previous else previous + timedelta(microseconds=1)


def _changed(member: Member) -> bool:
    attrs = inspect(member).attrs
    for name in WATCHED:
        history = attrs[name].history
        if history.added and list(history.added) != list(history.deleted):
            return True
    return False


def _wanted(session: Session, member: Member) -> bool:
    with session.no_autoflush:
        merchant = session.get(Merchant, member.merchant_id)
    shopify = (merchant.shopify if merchant else None) or {}
    return bool(shopify.get("customer_metafields") and shopify.get("admin_api"))


def _queue_stamped(rt: Runtime, session: Session) -> None:
    for member_id in sorted({member.id for member in session.info.pop(_CHANGED, [])}):
        try:
            schedule(rt, member_id)
        except Exception:  # noqa: BLE001 - the commit stands; the sweep queues what could not be queued here
            log.warning("could not queue the metafields of member %s; the sweep will", member_id, exc_info=True)


def schedule(rt: Runtime, member_id: str) -> None:
    """Queue the member's write ``DEBOUNCE_SECONDS`` from now, unless one is already waiting (it will see this)."""
    if not rt.dispatcher.pending(Job.SYNC_SHOPIFY_METAFIELDS, member_id):
        rt.dispatcher.dispatch_in(DEBOUNCE_SECONDS, Job.SYNC_SHOPIFY_METAFIELDS, member_id)


@dataclass(frozen=True)
class _Due:
    slug: str
    due: datetime
    admin_api: dict | None
    namespace: str | None
    customer_id: str | None
    values: dict
    written: dict | None


def sync_member(rt: Runtime, member_id: str) -> str:
    """The job: write the member's points, pending points and tier to its customer's metafields.

    Throttling and outages raise ``RetryLater``; ``userErrors`` and refusals are
    logged with the merchant and member and end the job (retrying cannot fix them).
    """
    due = _read(rt, member_id)
    if due is None:
        return "up_to_date"
    if not (due.admin_api and due.namespace and due.customer_id):
        _done(rt, member_id, due, due.written)
        return "skipped"
    if due.values == due.written:
        _done(rt, member_id, due, due.written)
        return "unchanged"
    gid = ShopifyAdminClient.customer_gid(due.customer_id)
    fields = balance_metafields(gid, due.namespace, **due.values)
    try:
        result = rt.shopify_admin(due.admin_api).set_metafields(metafields=fields)
    except ShopifyRetryableError as exc:
        log.warning("Shopify asked to retry the metafields of member %s of %s: %s", member_id, due.slug, exc.code)
        raise RetryLater(exc.code, code=exc.code, retry_after=exc.retry_after) from None
    except ShopifyPermanentError as exc:
        log.error("Shopify refused the metafields of member %s of %s: %s", member_id, due.slug, exc.code)
        _done(rt, member_id, due, due.written)
        return f"failed:{exc.code}"
    if result.user_errors:
        log.error("Shopify userErrors on metafields of member %s of %s: %s", member_id, due.slug, result.user_errors)
        _done(rt, member_id, due, due.written)
        return "user_errors"
    _done(rt, member_id, due, due.values)
    return "written"


def _read(rt: Runtime, member_id: str) -> _Due | None:
    with rt.db.reader() as session:
        member = session.get(Member, member_id)
        if member is None or member.shopify_metafields_due_at is None:
            return None
        merchant = session.get(Merchant, member.merchant_id)
        shopify = merchant.shopify or {}
        return _Due(
            slug=merchant.slug,
            due=member.shopify_metafields_due_at,
            admin_api=shopify.get("admin_api"),
            namespace=(shopify.get("customer_metafields") or {}).get("namespace"),
            customer_id=member.shopify_customer_id,
            values={"points": member.points, "pending_points": member.pending_points, "tier": member.tier},
            written=member.shopify_metafields,
        )


def _done(rt: Runtime, member_id: str, due: _Due, written: dict | None) -> None:
    """Keep what Shopify now holds; clear the stamp unless a newer change came, which runs the job again."""
    with rt.db.transaction() as session:
        session.execute(update(Member).where(Member.id == member_id).values(shopify_metafields=written))
        cleared = session.execute(
            update(Member)
            .where(Member.id == member_id, Member.shopify_metafields_due_at == due.due)
            .values(shopify_metafields_due_at=None)
        ).rowcount
    if not cleared:
        raise RetryLater("a newer change came while writing", code="superseded", retry_after=DEBOUNCE_SECONDS)


def sweep(rt: Runtime) -> int:
    """Queue the writes still due a while after their change (their job was lost); returns how many were queued."""
    stale = rt.clock() - timedelta(seconds=DEBOUNCE_SECONDS * 6)
    with rt.db.reader() as session:
        ids = (
            session.execute(select(Member.id).where(Member.shopify_metafields_due_at <= stale).limit(1000))
            .scalars()
            .all()
        )
    for member_id in ids:
        schedule(rt, member_id)
    return len(ids)
