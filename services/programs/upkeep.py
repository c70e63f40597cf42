"""The scheduled work of provider-backed programs: due postings sent, redemptions left open voided at the provider."""

from __future__ import annotations

from sqlalchemy import select

from models import Merchant, Redemption
from services.ledger import lock
from services.programs import sender
from services.programs.port import engine_for
from services.runtime import Runtime


def send_due_postings(rt: Runtime) -> int:
    """Queue the send jobs of members whose postings are due (a retry's time came, a sender died)."""
    return sender.send_due(rt)


def expire_provider_redemptions(rt: Runtime) -> int:
    """Void, at the provider too, the redemptions of checks never paid nor voided, past their time to live."""
    now = rt.clock()
    with rt.db.reader() as session:
        due = session.execute(
            select(Redemption.seq, Redemption.member_id).where(
                Redemption.state == "initiated", Redemption.provider_ref.isnot(None), Redemption.expires_at <= now
            )
        ).all()
    done = 0
    for seq, member_id in due:
        with rt.db.transaction() as session:
            lock(session, member_id)  # a concurrent commit or void of it waits, then this sees its state
            # By its primary key, ``seq`` (``id`` is the public one): get() by ``id`` finds nothing.
            redemption = session.get(Redemption, seq, populate_existing=True)
            if redemption.state != "initiated":
                continue
            engine = engine_for(session.get(Merchant, redemption.merchant_id))
            engine.void(session, redemption, key=f"expired:{redemption.id}", channel=redemption.channel, now=now)
            done += 1
    sender.send_due(rt)  # their void postings are due now
    return done
