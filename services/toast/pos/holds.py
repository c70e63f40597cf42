"""How a check's REDEEM holds end: committed when the check is paid, released when it is voided or deleted.

The third ending, a hold left open past ``program.toast_hold_ttl_seconds``,
is the hold-expiry job's (services/ledger_jobs.expire_holds): every Toast
hold carries that ``expires_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Merchant, Redemption
from services.programs import engine_for

DEFAULT_TTL_SECONDS = 86400
CHANNEL = "toast_loyalty"


def hold_expiry(merchant: Merchant, now: datetime) -> datetime:
    """When a REDEEM hold taken ``now`` rolls back by itself if its check is neither paid nor voided."""
    seconds = int((merchant.program or {}).get("toast_hold_ttl_seconds") or DEFAULT_TTL_SECONDS)
    return now + timedelta(seconds=seconds)


def commit_check_redemptions(
    session: Session, merchant_id: int, check_guid: str, references: list[str], now: datetime
) -> int:
    """Mark this check's held redemptions redeemed (their points spent); returns how many.

    With ``references`` (the loyalty discounts in force on the paid check),
    only the redemptions they name are committed.
    """
    done, engine = 0, engine_for(session.get(Merchant, merchant_id))
    for redemption in _on_check(session, merchant_id, check_guid, ("initiated",)):
        if references and redemption.reward_uuid not in references and redemption.id not in references:
            continue
        engine.commit(session, redemption, now)
        done += 1
    return done


def release_check_redemptions(session: Session, merchant_id: int, check_guid: str, now: datetime) -> int:
    """A voided or deleted check: every redemption on it is voided; returns how many.

    A held one gives its points back; one already redeemed (the check was
    paid, then voided) is refunded, since the sale it discounted did not
    happen. Each is voided once, so a repeated void webhook changes nothing.
    """
    rows = _on_check(session, merchant_id, check_guid, ("initiated", "redeemed"))
    engine = engine_for(session.get(Merchant, merchant_id))
    for redemption in rows:
        engine.void(session, redemption, key=f"toast:check-voided:{redemption.id}", channel=CHANNEL, now=now)
    return len(rows)


def _on_check(session: Session, merchant_id: int, check_guid: str, states: tuple[str, ...]) -> list[Redemption]:
    return (
        session.execute(
            select(Redemption)
            .where(
                Redemption.merchant_id == merchant_id, Redemption.check_guid == check_guid, Redemption.state.in_(states)
            )
            .order_by(Redemption.seq)
        )
        .scalars()
        .all()
    )
