"""Partner API: rewards and redemptions."""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from spectree import Response

from api import errors, limits, render
from api.common import PREFIX, ErrorBody, authenticated, limit_body, rt, spec
from api.points_schemas import (
    RedemptionEnvelope,
    RedemptionIn,
    RedemptionsOut,
    RedemptionsQuery,
    RefusalBody,
    RetryableIn,
    RewardsOut,
    RewardsQuery,
    retry_key,
)
from services.partner_api import redemption_reads, redemptions
from services.partner_api import rewards as partner_rewards

bp = Blueprint("partner_rewards", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
errors.install(bp)
limits.limit(bp)
ERRORS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}
WRITE_ERRORS = {**ERRORS, "HTTP_409": ErrorBody, "HTTP_422": RefusalBody}
# A reward redeemed as a Shopify discount code: Shopify refused it (502) or could not be reached (503, Retry-After).
SHOPIFY_ERRORS = {"HTTP_502": ErrorBody, "HTTP_503": ErrorBody}


@bp.errorhandler(redemptions.RewardNotAvailable)
def _not_available(exc: redemptions.RewardNotAvailable):
    # The app's error body plus Hang's ``reason``, so a client can tell LIMIT_REACHED from INTERVAL.
    return jsonify(errors.body_of(exc, reason=exc.reason)), errors.status_of(exc)


@bp.get("/program-memberships/<member_id>/rewards")
@authenticated
@spec.validate(query=RewardsQuery, resp=Response(HTTP_200=RewardsOut, **ERRORS), tags=["rewards"])
def membership_rewards(member_id: str, query: RewardsQuery):
    """The rewards the member can redeem now, by priority then name; ``?include=all`` adds the others with a reason."""
    listed = partner_rewards.list_rewards(rt(), g.merchant_id, member_id, include_all=query.include == "all")
    return {"rewards": [render.reward(view) for view in listed]}


@bp.post("/program-memberships/<member_id>/redemptions")
@authenticated
@spec.validate(
    json=RedemptionIn,
    resp=Response(HTTP_201=RedemptionEnvelope, HTTP_200=RedemptionEnvelope, **WRITE_ERRORS, **SHOPIFY_ERRORS),
    tags=["rewards"],
)
def create_redemption(member_id: str, json: RedemptionIn):
    """Start redeeming a reward: its points are held until the redemption is redeemed or voided.

    At a Shopify shop with ``redemption_codes``, a reward redeemed by ``code`` answers with its single-use
    discount code (``code``, ``expires_at``, ``discount_gid``); the order that uses it redeems it.
    """
    return render.redemption_written(
        redemptions.initiate(rt(), g.merchant_id, member_id, json.reward_id, retry_key(json))
    )


@bp.post("/redemptions/<redemption_id>/redeem")
@authenticated
@spec.validate(json=RetryableIn, resp=Response(HTTP_200=RedemptionEnvelope, **WRITE_ERRORS), tags=["rewards"])
def redeem_redemption(redemption_id: str, json: RetryableIn):
    """Commit the held points: the redemption is redeemed. A repeat answers the same."""
    return render.redemption_written(redemptions.redeem(rt(), g.merchant_id, redemption_id, retry_key(json)))


@bp.post("/redemptions/<redemption_id>/void")
@authenticated
@spec.validate(
    json=RetryableIn, resp=Response(HTTP_200=RedemptionEnvelope, **WRITE_ERRORS, **SHOPIFY_ERRORS), tags=["rewards"]
)
def void_redemption(redemption_id: str, json: RetryableIn):
    """Give the points back (release the hold, or refund a redeemed one): the redemption is voided.

    An unused Shopify discount code is deleted in Shopify first.
    """
    return render.redemption_written(redemptions.void_redemption(rt(), g.merchant_id, redemption_id, retry_key(json)))


@bp.get("/redemptions/<redemption_id>")
@authenticated
@spec.validate(resp=Response(HTTP_200=RedemptionEnvelope, **ERRORS), tags=["rewards"])
def get_redemption(redemption_id: str):
    """One redemption: its state, reward, points, instants, channel, and ``code`` for a Shopify discount code."""
    return {"redemption": render.redemption(redemption_reads.get_redemption(rt(), g.merchant_id, redemption_id))}


@bp.get("/program-memberships/<member_id>/redemptions")
@authenticated
@spec.validate(query=RedemptionsQuery, resp=Response(HTTP_200=RedemptionsOut, **ERRORS), tags=["rewards"])
def membership_redemptions(member_id: str, query: RedemptionsQuery):
    """The member's redemptions, newest first, cursor-paginated; ``?state=`` filters by state."""
    views, next_cursor = redemption_reads.member_redemptions(
        rt(), g.merchant_id, member_id, state=query.state, limit=query.limit, cursor=query.cursor
    )
    return {"redemptions": [render.redemption(view) for view in views], "next_cursor": next_cursor}
