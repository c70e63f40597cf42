"""Orders that carry a reward's code: the first one to arrive commits its redemption; a cancelled one voids it.

``orders/create``, ``orders/paid`` and ``orders/updated`` all carry the order
with its ``discount_codes``, in any order and any number of times: the
redemption is committed once, by whichever comes first, and remembers the
order. An order state that is cancelled (``orders/cancelled``, or an update
with ``cancelled_at``) gives the points back; the code stays used, so it is
not deleted (Shopify leaves a cancelled order's discount used).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Merchant, Redemption
from services.members import lock
from services.rewards.redemptions import commit, void

log = logging.getLogger(__name__)
CHANNEL = "shopify"


def apply_codes(
    session: Session, merchant: Merchant, order_key: str, codes: tuple[str, ...], *, cancelled: bool, now: datetime
) -> list[str]:
    """Commit (or, for a cancelled order, void) the redemptions whose codes the order used; returns notes.

    Runs in the delivery's transaction, after the order was settled (order
    account, then member: the lock order of the settlement).
    """
    notes = []
    for redemption_id, member_id in _issued(session, merchant.id, codes):
        lock(session, member_id)
        redemption = session.execute(
            select(Redemption).where(Redemption.id == redemption_id).execution_options(populate_existing=True)
        ).scalar_one()
        note = _apply(session, redemption, order_key, cancelled=cancelled, now=now)
        if note:
            log.warning("order %s of %s: %s", order_key, merchant.slug, note)
            notes.append(note)
    return notes


def _issued(session: Session, merchant_id: int, codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(redemption id, member id) of the merchant's redemptions with these codes (stored in upper case)."""
    wanted = sorted({code.strip().upper() for code in codes if code and code.strip()})
    if not wanted:
        return []
    rows = session.execute(
        select(Redemption.id, Redemption.member_id)
        .where(Redemption.merchant_id == merchant_id, Redemption.code.in_(wanted))
        .order_by(Redemption.member_id, Redemption.id)  # one lock order for every worker
    )
    return [(row.id, row.member_id) for row in rows]


def _apply(session: Session, redemption: Redemption, order_key: str, *, cancelled: bool, now: datetime) -> str | None:
    used_by = (redemption.details or {}).get("order")
    if used_by not in (None, order_key):
        return f"code of redemption {redemption.id} already used by {used_by}"
    if cancelled:
        if redemption.state != "voided":
            void(session, redemption, key=f"shopify:code-void:{redemption.id}", channel=CHANNEL, now=now)
        _used_by(redemption, order_key)
        return None
    if redemption.state == "initiated":
        commit(session, redemption, now)
        _used_by(redemption, order_key)
        return None
    if redemption.state == "voided" and used_by is None:
        # Expired or voided before this order reached us (a late webhook): the points were already given back.
        _used_by(redemption, order_key)
        return f"code of redemption {redemption.id} used after the redemption was voided; its points stay returned"
    return None  # already redeemed by this order: once


def _used_by(redemption: Redemption, order_key: str) -> None:
    redemption.details = {**(redemption.details or {}), "order": order_key}
    redemption.code_state = "used"
