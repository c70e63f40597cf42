"""The Hang-compatible partner API (``/partner-api/v2``)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, g, request

from services import partner
from services.errors import BadRequest

bp = Blueprint("partner_api", __name__, url_prefix="/partner-api/v2")
API_BODY_LIMIT = 256 * 1024


def _rt():
    return current_app.extensions["punchcard.runtime"]


@bp.before_request
def _limit_body() -> None:
    # Refuse by the declared length before anything else; the read limit covers chunked bodies.
    request.max_content_length = API_BODY_LIMIT
    if (request.content_length or 0) > API_BODY_LIMIT:
        abort(413)


def authenticated(view):
    """Resolve ``X-API-Key`` or ``Authorization: Bearer`` to the merchant in ``g.merchant_id``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("X-API-Key")
        auth = request.headers.get("Authorization", "")
        if not key and auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
        if not key:
            raise BadRequest("API_KEY_HEADER_IS_MISSING", "The X-API-Key header is missing.")
        g.merchant_id = partner.authenticate(_rt(), key)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/program-memberships/search")
@authenticated
def search_membership():
    """Find one member by phone, external user id or email."""
    args = request.args
    member = partner.search_member(_rt(), g.merchant_id, phone=args.get("phone"),
                                   external_user_id=args.get("external_user_id"), email=args.get("email"))
    return {"membership": render_membership(member)}


@bp.get("/program-memberships/<member_id>/level")
@authenticated
def membership_level(member_id: str):
    """The member's tier, lifetime balance, spendable balance and next tier."""
    level = partner.level(_rt(), g.merchant_id, member_id)
    upcoming = {"name": level.next_tier[0], "points_needed": level.next_tier[1]} if level.next_tier else None
    return {"tier": level.tier, "balance": level.lifetime_points, "spendable_balance": level.spendable,
            "next_tier": upcoming}


def render_membership(member) -> dict:
    """A membership in Hang's shape (instants in epoch seconds)."""
    extra = member.extra or {}
    return {
        "id": member.id, "external_user_id": member.external_user_id, "phone": member.phone,
        "email": member.email, "first_name": member.first_name, "last_name": member.last_name,
        "birthday": member.birthday, "wallet_address": member.wallet_address, "status": member.status,
        "created_at": int(member.created_at.timestamp()), "updated_at": int(member.updated_at.timestamp()),
        "social_media_credentials": extra.get("social_media_credentials", {}),
        "family_member_birthdays": extra.get("family_member_birthdays", []),
        "metadata": extra.get("metadata", {}), "tier": member.tier,
        "points": member.points, "pending_points": member.pending_points,
    }
