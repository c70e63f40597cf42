"""LOYALTY_REVERSE: undo a REDEEM (points charged come back) or an ACCRUE (points accrued go)."""

from __future__ import annotations

from sqlalchemy import select

from integrations.toast.orders import check_key
from models import LoyaltyTransaction, Redemption
from services.programs import engine_for
from services.settlement.accounts import reverse_account
from services.toast.pos.errors import LoyaltyError


def reverse(ctx) -> dict:
    """Reverse the transaction ``transactionId``, wholly or only the listed redemptions; repeats are no-ops."""
    info = ctx.call.body.get("reverseTransactionInformation")
    if not isinstance(info, dict) or not info.get("transactionId"):
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    original = (
        ctx.session.execute(
            select(LoyaltyTransaction)
            .where(
                LoyaltyTransaction.merchant_id == ctx.merchant.id,
                LoyaltyTransaction.transaction_guid == str(info["transactionId"]),
                LoyaltyTransaction.transaction_type.in_(("LOYALTY_REDEEM", "LOYALTY_ACCRUE")),
            )
            .order_by(LoyaltyTransaction.id)
        )
        .scalars()
        .first()
    )
    if original is None:
        raise LoyaltyError(code="ERROR_TRANSACTION_DOES_NOT_EXIST")
    if original.response.get("transactionStatus") != "ACCEPT":
        raise LoyaltyError(code="ERROR_TRANSACTION_CANNOT_BE_REVERSED")
    if original.transaction_type == "LOYALTY_REDEEM":
        _reverse_redemptions(ctx, original, info.get("redemptions"))
    elif original.loyalty_identifier:
        # An ACCRUE with no account accrued nothing: reversing it must not take what the
        # check earned through its order webhooks for the guest Toast did not name.
        reverse_account(ctx.session, ctx.merchant, check_key(original.check_guid), "toast_loyalty", ctx.rt.clock())
    original.reversed = True
    return {}


def _reverse_redemptions(ctx, original: LoyaltyTransaction, only) -> None:
    rows = (
        ctx.session.execute(
            select(Redemption)
            .where(
                Redemption.merchant_id == ctx.merchant.id,
                Redemption.check_guid == original.check_guid,
                Redemption.state != "voided",
            )
            .order_by(Redemption.seq)
        )
        .scalars()
        .all()
    )
    mine = [r for r in rows if r.details.get("toast_transaction") == original.transaction_guid]
    engine = engine_for(ctx.merchant)
    for redemption in mine:
        if only is None or _listed(redemption, only):
            engine.void(
                ctx.session,
                redemption,
                key=f"toast-loyalty:{ctx.call.transaction_guid}:{redemption.id}",
                channel="toast_loyalty",
                now=ctx.rt.clock(),
            )


def _listed(redemption: Redemption, only) -> bool:
    asked = redemption.details.get("redemption") or {}
    for item in only if isinstance(only, list) else ():
        if not isinstance(item, dict) or item.get("identifier") != redemption.reward_uuid:
            continue
        guid = item.get("appliedDiscountGuid")
        if not guid or guid == asked.get("appliedDiscountGuid"):
            return True
    return False
