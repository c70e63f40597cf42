"""Partner API: rewards and redemptions."""
from __future__ import annotations

from flask import Blueprint

from api.common import PREFIX, limit_body

bp = Blueprint("partner_rewards", __name__, url_prefix=PREFIX)
bp.before_request(limit_body)
