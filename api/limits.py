"""Partner API rate limits: per API key, in Redis, 600 a minute unless the merchant's config says otherwise.

A key over its limit is answered 429 ``RATE_LIMITED`` with ``Retry-After`` (and
flask-limiter's ``X-RateLimit-*`` headers). The count lives in the app's Redis,
so every gunicorn process and machine shares it. Should Redis fail, requests
pass unlimited (``swallow_errors``): a limit must not take the API down with it.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Blueprint, Flask, current_app, jsonify
from flask_limiter import HeaderNames, Limiter, RateLimitExceeded

from api.common import api_key, key_access
from services.errors import ServiceError

# flask-limiter would set every answer's Retry-After to at least the window's end, overriding a 503's own wait
# (Shopify's, api/errors.py): its value goes in a header of its own, and the 429 sets Retry-After itself.
limiter = Limiter(
    key_func=lambda: "",
    headers_enabled=True,
    swallow_errors=True,
    strategy="fixed-window",
    header_name_mapping={HeaderNames.RETRY_AFTER: "X-RateLimit-Retry-After"},
)


def _key() -> str:
    # The key's digest, never the key itself, names its counter in Redis.
    return "key:" + hashlib.sha256((api_key() or "").encode()).hexdigest()[:32]


def _per_minute() -> str:
    try:
        own = key_access().rate_limit_per_minute
    except ServiceError:  # a wrong key is refused by the view; it is still counted (guessing keys costs too)
        own = None
    return f"{own or current_app.config['PUNCHCARD_API_RATE_LIMIT']}/minute"


def limit(bp: Blueprint) -> None:
    """Rate-limit every route of ``bp`` per API key (a request without a key is refused by the view, not counted)."""
    limiter.limit(_per_minute, key_func=_key, exempt_when=lambda: api_key() is None)(bp)


def install(app: Flask, connection, per_minute: int) -> None:
    """Count in ``connection``'s Redis (its pool: same TLS settings as the queue) and answer 429 in our shape."""
    app.config.update(
        RATELIMIT_STORAGE_URI="redis://",
        RATELIMIT_STORAGE_OPTIONS={"connection_pool": connection.connection_pool},
        RATELIMIT_KEY_PREFIX="punchcard:ratelimit",
        PUNCHCARD_API_RATE_LIMIT=per_minute,
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _too_many(exc: RateLimitExceeded):
    reset = getattr(limiter.current_limit, "reset_at", None)
    # The window is a minute: a reset a rounding past it still asks for at most 60 s.
    retry_after = min(60, max(1, math.ceil(reset - time.time()))) if reset else 60
    body = {"error": "RATE_LIMITED", "message": f"Too many requests for this API key ({exc.description}); retry later."}
    return jsonify(body), 429, {"Retry-After": str(retry_after)}
