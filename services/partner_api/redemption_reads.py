"""Reading redemptions: one by id, and a member's, newest first, cursor-paginated, filtered by state."""

from __future__ import annotations

import base64
import binascii
import re

from sqlalchemy import select

from models import Redemption
from services.errors import BadRequest, NotFound
from services.partner_api.access import get_member
from services.partner_api.views import RedemptionView
from services.runtime import Runtime

_CURSOR = re.compile(r"rdm-seq:([0-9]{1,19})")
_MAX_SEQ = 2**63 - 1  # redemptions.seq is a BIGINT


def get_redemption(rt: Runtime, merchant_id: int, redemption_id: str) -> RedemptionView:
    """The merchant's redemption ``redemption_id``; another merchant's is simply not found."""
    with rt.db.reader() as session:
        redemption = session.execute(
            select(Redemption).where(Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)
        ).scalar_one_or_none()
        if redemption is None:
            raise NotFound("No redemption matches.", code="REDEMPTION_NOT_FOUND")
        return RedemptionView.of(redemption)


def member_redemptions(
    rt: Runtime, merchant_id: int, member_id: str, *, state: str | None, limit: int, cursor: str | None
) -> tuple[list[RedemptionView], str | None]:
    """One page of the member's redemptions, newest first, and the next page's cursor (None at the end).

    The cursor names the last redemption of the page, so redemptions made
    while a client pages through never shift the pages after the first.
    """
    with rt.db.reader() as session:
        get_member(session, merchant_id, member_id)
        query = select(Redemption).where(Redemption.member_id == member_id, Redemption.merchant_id == merchant_id)
        if state is not None:
            query = query.where(Redemption.state == state)
        if cursor:
            query = query.where(Redemption.seq < _decode(cursor))
        rows = list(session.execute(query.order_by(Redemption.seq.desc()).limit(limit + 1)).scalars())
        views = [RedemptionView.of(row) for row in rows[:limit]]
        return views, (_encode(rows[limit - 1].seq) if len(rows) > limit else None)


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"rdm-seq:{seq}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if match is None or not 0 < int(match[1]) <= _MAX_SEQ:
            raise ValueError(cursor)
        return int(match[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "The cursor is not one this list issued.",
            code="INVALID_CURSOR",
            details=[{"field": "cursor", "problem": "not a cursor of this list"}],
        ) from None
