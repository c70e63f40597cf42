"""``/partner-api/openapi.json`` and ``/partner-api/docs``, an interactive reference served offline.

The document is spectree's, generated from the models that validate requests,
completed here with what a partner needs and spectree cannot know: readable
operation ids, the ``Idempotency-Key`` header of the writes, and every error
code each operation can answer, with an example body. The page is Swagger UI
from the ``swagger-ui-bundle-v2`` package, its assets served by this app: no
CDN, no outside network.
"""

from __future__ import annotations

import copy
import functools

from flask import Blueprint, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from api.common import spec

bp = Blueprint("partner_docs", __name__)
SPEC_URL = "/partner-api/openapi.json"
ASSETS = "/partner-api/docs/assets"
P = "/partner-api/v2"

MESSAGES = {
    "API_KEY_HEADER_IS_MISSING": "The X-API-Key header is missing.",
    "INVALID_JSON": "The body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
    "INVALID_PARAMETERS": "Some parameters are not valid.",
    "MISSING_REQUIRED_PARAMETERS": "Missing required parameters.",
    "INVALID_CURSOR": "The cursor is not valid.",
    "INVALID_API_KEY": "The API key is not valid.",
    "PROGRAM_MEMBERSHIP_NOT_FOUND": "Program membership not found.",
    "TRANSACTION_NOT_FOUND": "Transaction not found.",
    "REWARD_NOT_FOUND": "Reward not found.",
    "REDEMPTION_NOT_FOUND": "Redemption not found.",
    "IDEMPOTENCY_KEY_REUSED": "This idempotency key was used with a different request.",
    "EMAIL_ALREADY_EXISTS": "This email belongs to another membership.",
    "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS": "The phone and the external user id name two members.",
    "PAYLOAD_TOO_LARGE": "The body is larger than 256 KiB.",
    "INSUFFICIENT_POINTS": "The member does not have enough points.",
    "INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD": "The member does not have enough points for this reward.",
    "REWARD_NOT_AVAILABLE": "This reward is not available now.",
    "NO_POINTS_EARNED": "This activity earns no points.",
    "POINTS_LIMIT_EXCEEDED": "The points are out of range.",
    "REDEMPTION_EXPIRED": "The redemption has expired.",
    "REDEMPTION_VOIDED": "The redemption was voided.",
    "TRANSACTION_NOT_TEMPORARY": "The transaction is not temporary.",
    "TRANSACTION_NOT_HELD": "The transaction is no longer held.",
    "TRANSACTION_EXPIRED": "The hold has expired.",
    "TRANSACTION_NOT_CANCELLABLE": "This transaction cannot be cancelled.",
    "TRANSACTION_BELONGS_TO_REDEMPTION": "This hold belongs to a redemption; redeem or void the redemption.",
    "TRANSACTION_ALREADY_POSTED": "An entry with this key exists; use a new idempotency key.",
    "RATE_LIMITED": "Too many requests for this API key (600 per 1 minute); retry later.",
    "DATABASE_UNAVAILABLE": "The database is unavailable; retry later.",
    "QUEUE_UNAVAILABLE": "The queue is unavailable; retry later.",
    "REDEEMED_BY_SHOPIFY_ORDER": "This redemption is a Shopify discount code: the order that uses it redeems it.",
    "SHOPIFY_CUSTOMER_NOT_FOUND": "This member has no Shopify customer to issue a discount code to.",
    "SHOPIFY_REJECTED": "Shopify refused the discount code; nothing was redeemed.",
    "SHOPIFY_UNAVAILABLE": "Shopify is unavailable; nothing was redeemed. Retry later.",
}
BAD_INPUT = ["API_KEY_HEADER_IS_MISSING", "INVALID_JSON", "INVALID_PARAMETERS", "MISSING_REQUIRED_PARAMETERS"]
EVERY = {401: ["INVALID_API_KEY"], 429: ["RATE_LIMITED"], 503: ["DATABASE_UNAVAILABLE", "QUEUE_UNAVAILABLE"]}
MEMBER = {404: ["PROGRAM_MEMBERSHIP_NOT_FOUND"]}
WRITE = {409: ["IDEMPOTENCY_KEY_REUSED"], 413: ["PAYLOAD_TOO_LARGE"]}
IDENTITY = {
    409: ["IDEMPOTENCY_KEY_REUSED", "EMAIL_ALREADY_EXISTS", "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS"]
}
# A reward redeemed as a Shopify discount code (docs/partner-api.md): Shopify refused it, or could not be reached.
SHOPIFY = {502: ["SHOPIFY_REJECTED"], 503: [*EVERY[503], "SHOPIFY_UNAVAILABLE"]}
HOLDS = [
    "TRANSACTION_NOT_TEMPORARY",
    "TRANSACTION_NOT_HELD",
    "TRANSACTION_EXPIRED",
    "TRANSACTION_BELONGS_TO_REDEMPTION",
]

# (method, path) -> (operationId, takes an Idempotency-Key, the errors beyond EVERY by status)
OPERATIONS = {
    ("post", f"{P}/program-memberships"): ("createProgramMembership", True, {**WRITE, **IDENTITY}),
    ("get", f"{P}/program-memberships"): ("listProgramMemberships", False, {400: ["INVALID_CURSOR"]}),
    ("get", f"{P}/program-memberships/search"): ("searchProgramMembership", False, MEMBER),
    ("post", f"{P}/program-memberships/merge"): ("mergeProgramMemberships", True, {**WRITE, **MEMBER}),
    ("get", f"{P}/program-memberships/{{member_id}}"): ("getProgramMembership", False, MEMBER),
    ("patch", f"{P}/program-memberships/{{member_id}}"): (
        "updateProgramMembership",
        True,
        {**WRITE, **IDENTITY, **MEMBER},
    ),
    ("delete", f"{P}/program-memberships/{{member_id}}"): (
        "deleteProgramMembership",
        True,
        {**MEMBER, 409: WRITE[409]},
    ),
    ("post", f"{P}/program-memberships/{{member_id}}/magic-link"): ("createMagicLink", False, MEMBER),
    ("get", f"{P}/program-memberships/{{member_id}}/level"): ("getProgramMembershipLevel", False, MEMBER),
    ("get", f"{P}/program-memberships/{{member_id}}/points"): ("getProgramMembershipPoints", False, MEMBER),
    ("get", f"{P}/program-memberships/{{member_id}}/transactions"): (
        "listProgramMembershipTransactions",
        False,
        {**MEMBER, 400: ["INVALID_CURSOR"]},
    ),
    ("post", f"{P}/program-memberships/{{member_id}}/activities"): (
        "recordActivity",
        True,
        {**WRITE, **MEMBER, 422: ["NO_POINTS_EARNED", "POINTS_LIMIT_EXCEEDED", "TRANSACTION_ALREADY_POSTED"]},
    ),
    ("post", f"{P}/program-memberships/{{member_id}}/points"): (
        "adjustPoints",
        True,
        {**WRITE, **MEMBER, 422: ["INSUFFICIENT_POINTS", "POINTS_LIMIT_EXCEEDED", "TRANSACTION_ALREADY_POSTED"]},
    ),
    ("post", f"{P}/transactions/{{transaction_id}}/commit"): (
        "commitTransaction",
        True,
        {**WRITE, 404: ["TRANSACTION_NOT_FOUND"], 422: HOLDS},
    ),
    ("post", f"{P}/transactions/{{transaction_id}}/rollback"): (
        "rollbackTransaction",
        True,
        {**WRITE, 404: ["TRANSACTION_NOT_FOUND"], 422: HOLDS},
    ),
    ("post", f"{P}/transactions/{{transaction_id}}/cancel"): (
        "cancelTransaction",
        True,
        {
            **WRITE,
            404: ["TRANSACTION_NOT_FOUND"],
            422: ["TRANSACTION_NOT_CANCELLABLE", "TRANSACTION_BELONGS_TO_REDEMPTION"],
        },
    ),
    ("get", f"{P}/program-tiers"): ("listProgramTiers", False, {}),
    ("get", f"{P}/program-memberships/{{member_id}}/rewards"): ("listMembershipRewards", False, MEMBER),
    ("post", f"{P}/program-memberships/{{member_id}}/redemptions"): (
        "createRedemption",
        True,
        {
            **WRITE,
            404: ["PROGRAM_MEMBERSHIP_NOT_FOUND", "REWARD_NOT_FOUND"],
            422: ["REWARD_NOT_AVAILABLE", "INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD", "SHOPIFY_CUSTOMER_NOT_FOUND"],
            **SHOPIFY,
        },
    ),
    ("get", f"{P}/program-memberships/{{member_id}}/redemptions"): (
        "listMembershipRedemptions",
        False,
        {**MEMBER, 400: ["INVALID_CURSOR"]},
    ),
    ("get", f"{P}/redemptions/{{redemption_id}}"): ("getRedemption", False, {404: ["REDEMPTION_NOT_FOUND"]}),
    ("post", f"{P}/redemptions/{{redemption_id}}/redeem"): (
        "redeemRedemption",
        True,
        {
            **WRITE,
            404: ["REDEMPTION_NOT_FOUND"],
            422: ["REDEMPTION_EXPIRED", "REDEMPTION_VOIDED", "REDEEMED_BY_SHOPIFY_ORDER"],
        },
    ),
    ("post", f"{P}/redemptions/{{redemption_id}}/void"): (
        "voidRedemption",
        True,
        {**WRITE, 404: ["REDEMPTION_NOT_FOUND"], 422: ["REDEMPTION_EXPIRED"], **SHOPIFY},
    ),
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and body replays the first answer; another body is 409 "
    "IDEMPOTENCY_KEY_REUSED. Wins over a body's idempotency_key. Kept 30 days.",
    "schema": {"type": "string", "maxLength": 255},
    "example": "order-1234-signup",
}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@functools.cache
def document() -> dict:
    """The OpenAPI document the partner API validates by, completed for people (see the module docstring)."""
    document = copy.deepcopy(spec.spec)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            operation_id, idempotent, errors = OPERATIONS[(method, path)]
            operation["operationId"] = operation_id
            if idempotent:
                operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
            _errors(
                operation,
                {400: BAD_INPUT + errors.get(400, []), **EVERY, **{k: v for k, v in errors.items() if k != 400}},
            )
    return document


def _errors(operation: dict, codes: dict[int, list[str]]) -> None:
    for status, names in sorted(codes.items()):
        response = operation["responses"].setdefault(str(status), {"description": REASONS[status]})
        content = response.setdefault("content", {}).setdefault("application/json", {})
        content.setdefault("schema", {"$ref": "#/components/schemas/ErrorBody"})
        content["examples"] = {
            name: {"summary": name, "value": {"error": name, "message": MESSAGES[name]}} for name in names
        }
        response["description"] = f"{REASONS[status]}: " + ", ".join(names)
        if status in (429, 503):
            response["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


@bp.get(SPEC_URL)
def openapi():
    """The OpenAPI 3 document, generated from the models that validate the requests."""
    return jsonify(document())


@bp.get("/partner-api/docs")
def docs():
    """Swagger UI on the document: every operation, its parameters, bodies, answers and errors, to try out."""
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get(f"{ASSETS}/<path:name>")
def asset(name: str):
    """Swagger UI's files, from the package that vendors them."""
    return send_from_directory(swagger_ui_path, name, max_age=86400)


PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Punchcard partner API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head><body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{SPEC_URL}", dom_id: "#swagger-ui", deepLinking: true, displayOperationId: true,
  defaultModelsExpandDepth: 1, docExpansion: "list", tryItOutEnabled: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  validatorUrl: null
}});
</script></body></html>"""
