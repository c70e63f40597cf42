"""Partner API: points, the ledger and tiers."""
from __future__ import annotations

from flask import Blueprint, g
from spectree import Response

from api.common import PREFIX, ErrorBody, authenticated, limit_body, rt, spec
from api.schemas import LevelOut
from services import partner

bp = Blueprint("partner_points", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
ERRORS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}


@bp.get("/program-memberships/<member_id>/level")
@authenticated
@spec.validate(resp=Response(HTTP_200=LevelOut, **ERRORS), tags=["points"])
def membership_level(member_id: str):
    """The member's tier, lifetime balance, spendable balance and next tier."""
    level = partner.level(rt(), g.merchant_id, member_id)
    upcoming = {"name": level.next_tier[0], "points_needed": level.next_tier[1]} if level.next_tier else None
    return {"tier": level.tier, "balance": level.lifetime_points, "spendable_balance": level.spendable,
            "next_tier": upcoming}
