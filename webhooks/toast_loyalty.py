"""``POST /webhooks/toast/loyalty``: the Toast Loyalty Integration (rewards at the POS)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from services.toast.pos import endpoint as toast_loyalty

bp = Blueprint("toast_loyalty", __name__)
# Every other transactionStatus is a refusal of the request: 400.
STATUS = {"ACCEPT": 200, "ERROR_INVALID_TOKEN": 401, "ERROR": 500}


@bp.post("/webhooks/toast/loyalty")
def transaction():
    """Answer one loyalty transaction in Toast's ``LoyaltyTransactionResponse`` shape."""
    try:
        body = json.loads(request.get_data(cache=False) or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        return jsonify({"transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"}), 400
    headers = request.headers
    call = toast_loyalty.LoyaltyCall(
        restaurant_guid=headers.get("Toast-Restaurant-External-ID"),
        authorization=headers.get("Authorization"),
        transaction_type=headers.get("Toast-Transaction-Type") or body.get("toastTransactionType"),
        transaction_guid=headers.get("Toast-Transaction-GUID"),
        body=body,
    )
    answer = toast_loyalty.handle(current_app.extensions["punchcard.runtime"], call)
    return jsonify(answer.response()), http_status(answer, call.transaction_type)


def http_status(answer: toast_loyalty.LoyaltyAnswer, transaction_type: str | None) -> int:
    """The HTTP status Toast's document gives each ``transactionStatus`` (the one place this edge maps them)."""
    if (answer.status, transaction_type) == ("ERROR_ACCOUNT_INVALID", "LOYALTY_SEARCH"):
        return 404  # a search that finds nobody
    return STATUS.get(answer.status, 400)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    """Toast's shape for a failure we did not foresee; the transaction was rolled back."""
    if isinstance(exc, HTTPException):  # e.g. a body over the size limit: the caller's fault
        return jsonify({"transactionStatus": "ERROR_INVALID_INPUT_PROPERTIES"}), exc.code
    current_app.logger.exception("toast loyalty transaction failed")
    return jsonify({"transactionStatus": "ERROR"}), 500
