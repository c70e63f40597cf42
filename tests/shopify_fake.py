"""Shopify's GraphQL Admin API as a small HTTP server, in its documented shapes and failure modes.

It answers the operations Punchcard sends: ``customers`` (search by email), ``tagsAdd``,
``discountCodeBasicCreate`` (the input checked against the pinned API version: ``context`` from
2025-10, ``customerSelection`` before), ``codeDiscountNodeByCode``, ``discountCodeDelete`` and
``metafieldsSet``. ``userErrors`` come back with HTTP 200, as Shopify sends them (a taken code is
``TAKEN``). Failures are scripted per operation: ``THROTTLED`` (with the cost extension), HTTP 429
with ``Retry-After``, HTTP 503; ``outage`` makes every call a 503.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import defaultdict, deque

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

OPERATIONS = (
    "tagsAdd",
    "discountCodeBasicCreate",
    "discountCodeDelete",
    "codeDiscountNodeByCode",
    "metafieldsSet",
    "customers",
)
_PATH = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json")
_TYPES = {"number_integer", "single_line_text_field"}


def cost(available: float = 1990, restore_rate: float = 100.0, requested: float = 10) -> dict:
    """Shopify's ``extensions.cost`` block."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested if available >= requested else None,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": restore_rate,
            },
        }
    }


class FakeShopifyAdmin:
    """Shopify's GraphQL Admin endpoint over real HTTP (one shop; any token but ``revoked`` is accepted)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.customers: dict[str, str] = {}  # email -> customer gid, for the customers search
        self.discounts: dict[str, dict] = {}  # gid -> {"code", "input", "deleted", "version"}
        self.metafields: dict[tuple[str, str, str], dict] = {}  # (owner, namespace, key) -> {"type", "value"}
        self.outage = False
        self._failures: dict[str, deque] = defaultdict(deque)
        self.before_answer = None  # called with the operation before it is answered (a test's interleaving)
        self._ids = itertools.count(206265824)
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, operation: str, kind: str, *, times: int = 1, wait: float = 1.0) -> None:
        """Make the next ``times`` calls of ``operation`` fail: ``throttled``, ``429``, ``503``; ``taken`` answers
        ``discountCodeBasicCreate`` as for a code the shop already has, ``invalid`` answers any mutation with a
        userError on its input; ``lost`` does the work, then answers 503 (the answer lost on the way: a timeout).

        ``wait`` is what Shopify asks to wait: the throttle's (requested - available) / restoreRate, or Retry-After.
        """
        assert operation in OPERATIONS and kind in ("throttled", "429", "503", "taken", "invalid", "lost")
        self._failures[operation].extend([(kind, wait)] * times)

    def calls_of(self, operation: str) -> list[dict]:
        """The calls that named ``operation``, failed ones included."""
        return [call for call in self.calls if call["operation"] == operation]

    def live_code(self, code: str) -> dict | None:
        """The discount with ``code`` that is not deleted, or None."""
        live = (d for d in self.discounts.values() if d["code"].upper() == code.upper() and not d["deleted"])
        return next(live, None)

    def metafields_of(self, customer_gid: str, namespace: str) -> dict[str, str]:
        """key -> value of a customer's metafields in ``namespace``."""
        return {
            key: field["value"]
            for (owner, ns, key), field in self.metafields.items()
            if owner == customer_gid and ns == namespace
        }

    @Request.application
    def app(self, request: Request) -> Response:
        body = request.get_json()
        operation = next((op for op in OPERATIONS if re.search(rf"\b{op}\s*\(", body["query"])), None)
        with self._lock:
            self.calls.append(
                {
                    "path": request.path,
                    "token": request.headers.get("X-Shopify-Access-Token"),
                    "operation": operation,
                    **body,
                }
            )
            return self._answer(request, operation, body.get("variables") or {})

    def _answer(self, request: Request, operation: str | None, variables: dict) -> Response:
        version = _PATH.fullmatch(request.path)
        if version is None or operation is None:
            return _json({"errors": [{"message": "Not found"}]}, 404)
        if request.headers.get("X-Shopify-Access-Token") == "revoked":
            return _json({"errors": "[API] Invalid API key or access token"}, 401)
        if self.outage:
            return _json({"errors": "Service Unavailable"}, 503)
        kind, wait = self._failures[operation].popleft() if self._failures[operation] else (None, 0)
        if self.before_answer is not None:
            self.before_answer(operation)
        if kind in ("taken", "invalid"):
            return _json({"data": {operation: _refusal(operation, kind)}, "extensions": cost()})
        if kind in ("throttled", "429", "503"):
            return _failure(kind, wait)
        data = getattr(self, f"_{operation}")(variables, version[1])
        return (
            _json({"errors": "Service Unavailable"}, 503)
            if kind == "lost"
            else _json({"data": data, "extensions": cost()})
        )

    # --- the operations, as Shopify answers them -------------------------------------------------

    def _tagsAdd(self, variables: dict, _version: str) -> dict:  # noqa: N802 - Shopify's names
        return {"tagsAdd": {"node": {"id": variables.get("id", "gid://shopify/Customer/1")}, "userErrors": []}}

    def _customers(self, variables: dict, _version: str) -> dict:
        email = re.fullmatch(r'email:"(.*)"', variables.get("query", ""))
        gid = self.customers.get(email[1].replace('\\"', '"')) if email else None
        return {"customers": {"edges": [{"node": {"id": gid}}] if gid else []}}

    def _discountCodeBasicCreate(self, variables: dict, version: str) -> dict:  # noqa: N802
        given = variables["basicCodeDiscount"]
        errors = _discount_errors(given, version)
        if not errors and self.live_code(given["code"]):
            errors = [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]
        if errors:
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        gid = f"gid://shopify/DiscountCodeNode/{next(self._ids)}"
        self.discounts[gid] = {"code": given["code"], "input": given, "deleted": False, "version": version}
        return {"discountCodeBasicCreate": {"codeDiscountNode": {"id": gid}, "userErrors": []}}

    def _codeDiscountNodeByCode(self, variables: dict, _version: str) -> dict:  # noqa: N802
        found = self.live_code(variables["code"])
        gid = next((g for g, d in self.discounts.items() if d is found), None)
        node = {"id": gid, "codeDiscount": {"title": found["input"]["title"]}} if found else None
        return {"codeDiscountNodeByCode": node}

    def _discountCodeDelete(self, variables: dict, _version: str) -> dict:  # noqa: N802
        found = self.discounts.get(variables["id"])
        if found is None or found["deleted"]:
            errors = [{"field": ["id"], "code": "INVALID", "message": "Discount does not exist"}]
            return {"discountCodeDelete": {"deletedCodeDiscountId": None, "userErrors": errors}}
        found["deleted"] = True
        return {"discountCodeDelete": {"deletedCodeDiscountId": variables["id"], "userErrors": []}}

    def _metafieldsSet(self, variables: dict, _version: str) -> dict:  # noqa: N802
        given = variables["metafields"]
        errors = [error for i, field in enumerate(given) for error in _metafield_errors(i, field)]
        if errors:  # metafieldsSet is atomic: one bad field writes none
            return {"metafieldsSet": {"metafields": None, "userErrors": errors}}
        for field in given:
            key = (field["ownerId"], field["namespace"], field["key"])
            self.metafields[key] = {"type": field["type"], "value": field["value"]}
        written = [{"key": f["key"], "namespace": f["namespace"], "value": f["value"]} for f in given]
        return {"metafieldsSet": {"metafields": written, "userErrors": []}}


def _discount_errors(given: dict, version: str) -> list[dict]:
    """DiscountCodeBasicInput's rules for a create: code, title and the customers it is for; a value in range."""
    selection = "context" if version == "unstable" or version >= "2025-10" else "customerSelection"
    other = "customerSelection" if selection == "context" else "context"
    if other in given:
        return [{"field": ["basicCodeDiscount", other], "code": "INVALID", "message": f"{other} is not accepted"}]
    errors = [
        {"field": ["basicCodeDiscount", name], "code": "BLANK", "message": f"{name} can't be blank"}
        for name in ("code", "title", selection)
        if not given.get(name)
    ]
    value = (given.get("customerGets") or {}).get("value") or {}
    percentage = value.get("percentage")
    if percentage is not None and not 0 < percentage <= 1:
        errors.append(
            {
                "field": ["basicCodeDiscount", "customerGets", "value", "percentage"],
                "code": "INVALID",
                "message": "must be between 0.0 and 1.0",
            }
        )
    if percentage is None and "discountAmount" not in value:
        errors.append({"field": ["basicCodeDiscount", "customerGets"], "code": "BLANK", "message": "needs a value"})
    return errors


def _metafield_errors(index: int, field: dict) -> list[dict]:
    problems = []
    if not str(field.get("ownerId", "")).startswith("gid://shopify/Customer/"):
        problems.append(("ownerId", "Owner does not exist"))
    if len(field.get("namespace") or "") < 3:
        problems.append(("namespace", "is too short (minimum is 3 characters)"))
    if field.get("type") not in _TYPES:
        problems.append(("type", "is not a known type"))
    if not isinstance(field.get("value"), str) or not field["value"]:
        problems.append(("value", "can't be blank"))
    elif field.get("type") == "number_integer" and not re.fullmatch(r"-?\d+", field["value"]):
        problems.append(("value", "must be an integer"))
    return [{"field": ["metafields", str(index), name], "code": "INVALID", "message": text} for name, text in problems]


def _refusal(operation: str, kind: str) -> dict:
    """A mutation's payload refused with userErrors (HTTP 200, as Shopify answers them)."""
    if kind == "taken":
        error = {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}
    else:
        error = {"field": ["input"], "code": "INVALID", "message": "is invalid"}
    empty = {
        "discountCodeBasicCreate": "codeDiscountNode",
        "discountCodeDelete": "deletedCodeDiscountId",
        "metafieldsSet": "metafields",
        "tagsAdd": "node",
    }
    return {empty[operation]: None, "userErrors": [error]}


def _failure(kind: str, wait: float) -> Response:
    if kind == "throttled":
        body = {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": cost(available=0, restore_rate=10 / wait),
        }
        return _json(body, 200)
    if kind == "429":
        headers = {"Retry-After": str(wait)}
        return Response(json.dumps({"errors": "Exceeded"}), 429, headers, content_type="application/json")
    return _json({"errors": "Service Unavailable"}, 503)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")
