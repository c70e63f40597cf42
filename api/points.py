"""Partner API: points, the ledger and tiers."""

from __future__ import annotations

from flask import Blueprint, g
from spectree import Response

from api import errors, limits, render
from api.common import PREFIX, ErrorBody, authenticated, limit_body, rt, spec
from api.points_schemas import (
    ActivityIn,
    AdjustmentIn,
    CardOut,
    RetryableIn,
    TiersOut,
    TransactionsOut,
    TransactionsQuery,
    TransactionWrite,
    retry_key,
)
from api.schemas import LevelOut
from services.partner_api import access as partner
from services.partner_api import points as partner_points

bp = Blueprint("partner_points", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
errors.install(bp)
limits.limit(bp)
ERRORS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}


@bp.get("/program-memberships/<member_id>/level")
@authenticated
@spec.validate(resp=Response(HTTP_200=LevelOut, **ERRORS), tags=["points"])
def membership_level(member_id: str):
    """The member's tier, lifetime balance, spendable balance and next tier."""
    level = partner.level(rt(), g.merchant_id, member_id)
    upcoming = {"name": level.next_tier[0], "points_needed": level.next_tier[1]} if level.next_tier else None
    return {
        "tier": level.tier,
        "balance": render.amounts(level.lifetime_points),
        "spendable_balance": render.amounts(level.spendable),
        "next_tier": upcoming,
    }


WRITE_ERRORS = {**ERRORS, "HTTP_409": ErrorBody, "HTTP_422": ErrorBody}


def _written(written):
    return render.points_written(written)


@bp.get("/program-memberships/<member_id>/points")
@authenticated
@spec.validate(resp=Response(HTTP_200=CardOut, **ERRORS), tags=["points"])
def membership_points(member_id: str):
    """The member's points card: balances, lifetime buckets, pending points, next expiration and activation."""
    return render.amounts(partner_points.card(rt(), g.merchant_id, member_id))


@bp.get("/program-memberships/<member_id>/transactions")
@authenticated
@spec.validate(query=TransactionsQuery, resp=Response(HTTP_200=TransactionsOut, **ERRORS), tags=["points"])
def membership_transactions(member_id: str, query: TransactionsQuery):
    """The member's ledger, newest first, cursor-paginated; ``?type=`` filters by transaction type."""
    rows, next_cursor = partner_points.transactions(
        rt(), g.merchant_id, member_id, type=query.type, limit=query.limit, cursor=query.cursor
    )
    return {"transactions": [render.transaction(row) for row in rows], "next_cursor": next_cursor}


@bp.post("/program-memberships/<member_id>/activities")
@authenticated
@spec.validate(
    json=ActivityIn,
    resp=Response(HTTP_201=TransactionWrite, HTTP_200=TransactionWrite, **WRITE_ERRORS),
    tags=["points"],
)
def membership_activity(member_id: str, json: ActivityIn):
    """A Hang-style spend: accrues by the program's rules (rate, rounding, tier multiplier, pending days)."""
    return _written(
        partner_points.record_activity(
            rt(),
            g.merchant_id,
            member_id,
            value=json.activity.value,
            timestamp=json.activity.transaction_timestamp,
            key=retry_key(json),
        )
    )


@bp.post("/program-memberships/<member_id>/points")
@authenticated
@spec.validate(
    json=AdjustmentIn,
    resp=Response(HTTP_201=TransactionWrite, HTTP_200=TransactionWrite, **WRITE_ERRORS),
    tags=["points"],
)
def membership_adjustment(member_id: str, json: AdjustmentIn):
    """A direct adjustment: add or remove points, or hold them (``is_temp``) until committed or rolled back."""
    adjustment = partner_points.Adjustment(**json.model_dump(exclude={"idempotency_key"}))
    return _written(partner_points.adjust(rt(), g.merchant_id, member_id, adjustment, retry_key(json)))


@bp.post("/transactions/<transaction_id>/commit")
@authenticated
@spec.validate(json=RetryableIn, resp=Response(HTTP_200=TransactionWrite, **WRITE_ERRORS), tags=["points"])
def commit_transaction(transaction_id: str, json: RetryableIn):
    """Commit a temporary transaction: the held points are spent."""
    return _written(partner_points.commit(rt(), g.merchant_id, transaction_id, retry_key(json)))


@bp.post("/transactions/<transaction_id>/rollback")
@authenticated
@spec.validate(
    json=RetryableIn,
    resp=Response(HTTP_201=TransactionWrite, HTTP_200=TransactionWrite, **WRITE_ERRORS),
    tags=["points"],
)
def rollback_transaction(transaction_id: str, json: RetryableIn):
    """Roll back a temporary transaction: the held points come back (the answer is the reversing entry)."""
    return _written(partner_points.rollback(rt(), g.merchant_id, transaction_id, retry_key(json)))


@bp.post("/transactions/<transaction_id>/cancel")
@authenticated
@spec.validate(
    json=RetryableIn,
    resp=Response(HTTP_201=TransactionWrite, HTTP_200=TransactionWrite, **WRITE_ERRORS),
    tags=["points"],
)
def cancel_transaction(transaction_id: str, json: RetryableIn):
    """Cancel a committed transaction by a reversing entry (the answer); a second cancel changes nothing."""
    return _written(partner_points.cancel(rt(), g.merchant_id, transaction_id, retry_key(json)))


@bp.get("/program-tiers")
@authenticated
@spec.validate(resp=Response(HTTP_200=TiersOut, HTTP_400=ErrorBody, HTTP_401=ErrorBody), tags=["points"])
def program_tiers():
    """The merchant's tiers, lowest first, with the lifetime points that reach them and their multipliers."""
    return {"tiers": partner_points.tiers(rt(), g.merchant_id), "next_cursor": None}
