"""Partner API: program memberships."""
from __future__ import annotations

from flask import Blueprint, g
from pydantic import BaseModel, ConfigDict
from spectree import Response

from api.common import PREFIX, ErrorBody, authenticated, limit_body, rt, spec
from api.schemas import MembershipEnvelope, render_membership
from services import partner

bp = Blueprint("partner_memberships", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
ERRORS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    phone: str | None = None
    external_user_id: str | None = None
    email: str | None = None


@bp.get("/program-memberships/search")
@authenticated
@spec.validate(query=SearchQuery, resp=Response(HTTP_200=MembershipEnvelope, **ERRORS), tags=["memberships"])
def search_membership(query: SearchQuery):
    """Find one member by phone (any format), external user id or email."""
    member = partner.search_member(rt(), g.merchant_id, phone=query.phone,
                                   external_user_id=query.external_user_id, email=query.email)
    return {"membership": render_membership(member)}
