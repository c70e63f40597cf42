"""The member page a magic link opens (``/m/<token>``): server-rendered HTML for the guest."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError

from api.common import rt
from services.members import page as member_page
from services.members.magic_links import ExpiredLink, InvalidLink
from services.runtime import QueueUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("member_page", __name__, template_folder="templates")

# (status, heading, sentence) of the pages a guest sees instead of their card.
PROBLEMS = {
    InvalidLink: (404, "We couldn't find this card", "This link isn't one we know. Check that it was copied in full."),
    ExpiredLink: (
        410,
        "This link has expired",
        "Links to your card last seven days. Ask for a new one and your points will be right there.",
    ),
    member_page.MembershipClosed: (
        410,
        "This card is no longer active",
        "This membership was closed or combined with another one.",
    ),
}


@bp.get("/m/<token>")
def member_card(token: str):
    """The guest's card: balance, pending points, next expiration, tier, rewards and recent history."""
    return _private(render_template("member_page.html", card=member_page.load(rt(), token)), 200)


@bp.errorhandler(InvalidLink)
@bp.errorhandler(ExpiredLink)
@bp.errorhandler(member_page.MembershipClosed)
def _problem(exc: Exception):
    status, heading, sentence = PROBLEMS[type(exc)]
    return _private(render_template("member_problem.html", heading=heading, sentence=sentence), status)


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(QueueUnavailable)
@bp.errorhandler(RedisError)
def _unavailable(exc: Exception):
    # An outage, not a bug: 503 with Retry-After, so a browser or a link checker knows to come back.
    log.warning("member page unavailable: %s", type(exc).__name__)
    body, status, headers = _private(
        render_template(
            "member_problem.html",
            heading="We'll be right back",
            sentence="Your points are safe. We can't show your card for a moment; please try again shortly.",
        ),
        503,
    )
    return body, status, {**headers, "Retry-After": "5"}


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    # A guest gets a page, never a traceback; the traceback goes to the log.
    log.exception("member page failed")
    return _private(
        render_template(
            "member_problem.html",
            heading="Something went wrong",
            sentence="Your points are safe. Please try again in a moment.",
        ),
        500,
    )


def _private(body: str, status: int):
    # The token in the URL is the key to the card: keep it out of caches and Referer headers.
    return (
        body,
        status,
        {
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
            "Content-Type": "text/html; charset=utf-8",
        },
    )
