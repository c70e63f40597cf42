"""The webhook receivers' errors: a refusal of the ingest use case becomes JSON with its code, here and nowhere else.

Senders read the status: 401 for an unknown merchant or a bad signature (never
retried into success), 503 while the database or queue is down (retried),
400 for a request no retry can fix.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.errors import BadRequest, ServiceError, Unauthorized, Unavailable

STATUS = {Unauthorized: 401, Unavailable: 503, BadRequest: 400}


def render(exc: ServiceError):
    """A Flask error handler for ``ServiceError``."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    body = {"error": exc.code, "message": exc.message}
    if exc.details:
        body["details"] = exc.details
    return jsonify(body), status


def install(bp: Blueprint) -> None:
    """Render the ingest use case's refusals on ``bp``'s routes."""
    bp.register_error_handler(ServiceError, render)
