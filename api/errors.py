"""The partner API's errors: every refusal of a use case becomes JSON with its code, here and nowhere else."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError

from services.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceError,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UpstreamRejected,
)
from services.runtime import QueueUnavailable

STATUS = {
    BadRequest: 400,
    Unauthorized: 401,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
    UpstreamRejected: 502,
    Unavailable: 503,
}
# Seconds, when whatever is down named no wait of its own: a database failover or a Redis restart is usually over.
DEFAULT_RETRY_AFTER = 5
DATABASE_DOWN = Unavailable("The database is unavailable; retry later.", code="DATABASE_UNAVAILABLE")
QUEUE_DOWN = Unavailable("The queue is unavailable; retry later.", code="QUEUE_UNAVAILABLE")


def status_of(exc: ServiceError) -> int:
    """The HTTP status of a refusal, by its class (the nearest listed base)."""
    return next((status for kind, status in STATUS.items() if isinstance(exc, kind)), 400)


def body_of(exc: ServiceError, **more) -> dict:
    """``{"error", "message", "details"?}``: the contract's error body."""
    body = {"error": exc.code, "message": exc.message, **more}
    if exc.details:
        body["details"] = exc.details
    return body


def render(exc: ServiceError):
    """A Flask error handler for ``ServiceError``; a 503 says when to retry (``Retry-After``: the wait if known)."""
    status = status_of(exc)
    if status != 503:
        return jsonify(body_of(exc)), status
    wait = getattr(exc, "retry_after", None)
    return jsonify(body_of(exc)), status, {"Retry-After": str(max(1, math.ceil(wait or DEFAULT_RETRY_AFTER)))}


def database_down(_exc: Exception):
    """The database did not answer (down, restarting, out of connections): 503, never a 500."""
    return render(DATABASE_DOWN)


def queue_down(_exc: Exception):
    """Redis did not answer: 503, never a 500."""
    return render(QUEUE_DOWN)


def install(bp: Blueprint) -> None:
    """Render the use cases' refusals, and outages of the database or Redis, on ``bp``'s routes."""
    bp.register_error_handler(ServiceError, render)
    for kind in (OperationalError, InterfaceError):
        bp.register_error_handler(kind, database_down)
    for kind in (QueueUnavailable, RedisError):
        bp.register_error_handler(kind, queue_down)
