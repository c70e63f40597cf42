"""Shopify GraphQL Admin API client: find a customer, add loyalty tags, reward codes, balance metafields.

What wallet tagging, discount codes and customer metafields need (spec
"Wallet tagging (Shopify)", "Rewards redeemed online", "Balance on the
Shopify customer"). The client makes one HTTP request per call and never
sleeps or retries: it classifies failures into retryable/permanent errors
carrying a machine ``reason`` (and a ``retry_after`` hint), and the caller
(an RQ job, or a request within its budget) decides what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from integrations.common import ApiError, PermanentError, RetryableError, parse_retry_after  # noqa: F401
from integrations.shopify import discounts
from integrations.shopify.discounts import CodeDiscount, FoundCode
from integrations.shopify.metafields import METAFIELDS_SET_MUTATION

logger = logging.getLogger(__name__)

CUSTOMER_GID_PREFIX = "gid://shopify/Customer/"
DISCOUNT_GID_PREFIX = "gid://shopify/DiscountCodeNode/"

# Selecting only ids keeps the query cost minimal and version-proof:
# Customer.email is deprecated from 2025-04 in favour of defaultEmailAddress.
FIND_CUSTOMER_QUERY = """
query FindCustomerByEmail($query: String!) {
  customers(first: 1, query: $query) {
    edges { node { id } }
  }
}
""".strip()

TAGS_ADD_MUTATION = """
mutation AddCustomerTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
""".strip()

# Shopify documents INTERNAL_SERVER_ERROR as what GraphQL returns "instead of
# 500 Internal Server Error in most circumstances", so it is as transient as a 5xx.
_RETRYABLE_GRAPHQL_CODES = {"INTERNAL_SERVER_ERROR": "internal_error"}
_PERMANENT_STATUS_REASONS = {401: "unauthorized", 402: "shop_frozen", 403: "forbidden", 404: "not_found"}
_MIN_THROTTLE_WAIT = 1.0


class ShopifyAdminError(ApiError):
    """A Shopify Admin API call failed; ``reason`` is a stable machine code."""


class ShopifyRetryableError(ShopifyAdminError, RetryableError):
    """Transient failure (throttled, 429, 5xx, network); retry after ``retry_after`` s if known."""


class ShopifyPermanentError(ShopifyAdminError, PermanentError):
    """Failure that repeating the same call will not fix (auth, scopes, bad query, bad body)."""


@dataclass(frozen=True)
class TagResult:
    """Outcome of ``tagsAdd``; ``user_errors`` are Shopify's userErrors, empty on success."""

    customer_gid: str
    user_errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when Shopify reported no userErrors."""
        return not self.user_errors


@dataclass(frozen=True)
class MutationResult:
    """Outcome of a mutation: the id it names (created or deleted) and Shopify's userErrors, empty on success."""

    id: str | None = None
    user_errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when Shopify reported no userErrors."""
        return not self.user_errors


class ShopifyAdmin(Protocol):
    """What services need from the Shopify Admin API (fakes in tests follow this shape)."""

    api_version: str

    def create_code_discount(self, *, discount: CodeDiscount) -> MutationResult:
        """Create a single-use code discount (``discountCodeBasicCreate``); ``id`` is its gid."""
        ...

    def find_code_discount(self, *, code: str) -> FoundCode | None:
        """The code discount with ``code`` (``codeDiscountNodeByCode``), or None."""
        ...

    def delete_code_discount(self, *, discount_gid: str) -> MutationResult:
        """Delete a code discount for good (``discountCodeDelete``)."""
        ...

    def set_metafields(self, *, metafields: list[dict]) -> MutationResult:
        """Write metafields (``metafieldsSet``, at most 25 per call)."""
        ...

    def find_customer_gid(self, *, email: str) -> str | None:
        """Return the GID of the shop's customer with this email, or None."""
        ...

    def add_tags(self, *, customer_gid: str, tags: list[str]) -> TagResult:
        """Add ``tags`` to the customer, keeping the tags it already has."""
        ...


class ShopifyAdminClient:
    """``ShopifyAdmin`` over HTTP, one shop and one access token per instance."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        api_version: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Build a client for ``base_url`` (e.g. ``https://shop.myshopify.com``)."""
        self.api_version = api_version
        self._endpoint = f"{base_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._access_token = access_token
        self._session = session or requests.Session()
        self._timeout = timeout

    def __repr__(self) -> str:
        # Never the token: reprs end up in tracebacks and RQ job logs.
        return f"ShopifyAdminClient(endpoint={self._endpoint!r})"

    @staticmethod
    def customer_gid(customer_id: str | int) -> str:
        """Return ``gid://shopify/Customer/<id>`` for a numeric REST/webhook customer id."""
        text = str(customer_id).strip()
        if isinstance(customer_id, bool) or not text.isdigit():
            raise ValueError(f"not a Shopify customer id: {customer_id!r}")
        return f"{CUSTOMER_GID_PREFIX}{text}"

    def find_customer_gid(self, *, email: str) -> str | None:
        """Search the shop's customers by exact email; return the first match's GID or None."""
        if not email.strip():
            raise ValueError("email must not be blank")  # email:"" would be a useless search
        data = self._execute(FIND_CUSTOMER_QUERY, {"query": email_search_query(email)})
        connection = _dig(data, "customers")
        if not isinstance(connection, dict):
            raise ShopifyPermanentError("customers missing from response", code="malformed_response")
        ids = _connection_ids(connection)
        return ids[0] if ids else None

    def add_tags(self, *, customer_gid: str, tags: list[str]) -> TagResult:
        """Add ``tags`` to a customer with ``tagsAdd``; userErrors come back in the result.

        ``tagsAdd`` is idempotent (re-adding a tag is a no-op), which is what
        makes retrying after a timeout safe.
        """
        _check_tag_arguments(customer_gid, tags)
        data = self._execute(TAGS_ADD_MUTATION, {"id": customer_gid, "tags": list(tags)})
        payload = _dig(data, "tagsAdd")
        if not isinstance(payload, dict) or not isinstance(payload.get("userErrors", []), list):
            raise ShopifyPermanentError("tagsAdd missing from response", code="malformed_response")
        node_id = _dig(payload, "node", "id")
        return TagResult(
            customer_gid=node_id if isinstance(node_id, str) else customer_gid,
            user_errors=list(payload.get("userErrors") or []),
        )

    def create_code_discount(self, *, discount: CodeDiscount) -> MutationResult:
        """Create ``discount`` as a ``DiscountCodeBasic`` in this client's API version's input shape.

        Not idempotent in Shopify: a repeat of a call whose answer was lost
        gets a ``TAKEN`` userError on ``code``; :meth:`find_code_discount` then
        tells whether the code is the one we asked for.
        """
        variables = {"basicCodeDiscount": discounts.basic_code_input(discount, self.api_version)}
        payload = self._payload(discounts.CREATE_MUTATION, variables, "discountCodeBasicCreate")
        return MutationResult(id=_dig(payload, "codeDiscountNode", "id"), user_errors=payload["userErrors"])

    def find_code_discount(self, *, code: str) -> FoundCode | None:
        """The code discount whose code is ``code`` (Shopify compares codes case-insensitively), or None."""
        if not code.strip():
            raise ValueError("code must not be blank")
        data = self._execute(discounts.FIND_BY_CODE_QUERY, {"code": code})
        node = data.get("codeDiscountNodeByCode")
        if node is None:
            return None
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            raise ShopifyPermanentError("codeDiscountNodeByCode malformed", code="malformed_response")
        title = _dig(node, "codeDiscount", "title")
        return FoundCode(gid=node["id"], title=title if isinstance(title, str) else None)

    def delete_code_discount(self, *, discount_gid: str) -> MutationResult:
        """Delete a code discount; deleting one an order already used leaves that order alone."""
        if not discount_gid.startswith(DISCOUNT_GID_PREFIX):
            raise ValueError(f"not a code discount GID: {discount_gid!r}")  # never delete anything else
        payload = self._payload(discounts.DELETE_MUTATION, {"id": discount_gid}, "discountCodeDelete")
        return MutationResult(id=payload.get("deletedCodeDiscountId"), user_errors=payload["userErrors"])

    def set_metafields(self, *, metafields: list[dict]) -> MutationResult:
        """Write ``metafields`` with ``metafieldsSet``: atomic, and idempotent (the same values twice are a no-op)."""
        if not 0 < len(metafields) <= 25:
            raise ValueError("metafieldsSet takes 1 to 25 metafields")
        payload = self._payload(METAFIELDS_SET_MUTATION, {"metafields": metafields}, "metafieldsSet")
        return MutationResult(id=metafields[0]["ownerId"], user_errors=payload["userErrors"])

    def _payload(self, document: str, variables: dict[str, Any], root: str) -> dict[str, Any]:
        """A mutation's payload object, with ``userErrors`` a list (Shopify answers them with HTTP 200)."""
        payload = _dig(self._execute(document, variables), root)
        if not isinstance(payload, dict) or not isinstance(payload.get("userErrors", []), list):
            raise ShopifyPermanentError(f"{root} missing from response", code="malformed_response")
        return {**payload, "userErrors": list(payload.get("userErrors") or [])}

    def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """POST one GraphQL document; return ``data`` or raise a classified error."""
        response = self._post({"query": query, "variables": variables})
        if response.status_code >= 300:
            raise self._http_error(response)
        body = _json_object(response)
        if body.get("errors"):
            raise self._graphql_error(body)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopifyPermanentError("response has no data", code="malformed_response")
        return data

    def _post(self, payload: dict[str, Any]) -> requests.Response:
        # Headers go on the request, not the session: the session may be shared
        # with other hosts and must not carry this shop's token to them.
        headers = {"X-Shopify-Access-Token": self._access_token, "Accept": "application/json"}
        try:
            return self._session.post(self._endpoint, json=payload, headers=headers, timeout=self._timeout)
        except requests.Timeout as exc:
            raise ShopifyRetryableError("Shopify request timed out", code="timeout") from exc
        except requests.RequestException as exc:
            # Only the class name: some requests errors embed request details.
            raise ShopifyRetryableError(f"network error: {type(exc).__name__}", code="network_error") from exc

    def _http_error(self, response: requests.Response) -> ShopifyAdminError:
        status = response.status_code
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait = _throttle_wait(_json_object_or_empty(response))
            return ShopifyRetryableError("HTTP 429 Too Many Requests", code="rate_limited", retry_after=wait)
        if status >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return ShopifyRetryableError(f"HTTP {status} from Shopify", code="server_error", retry_after=wait)
        reason = _PERMANENT_STATUS_REASONS.get(status, f"http_{status}")
        return ShopifyPermanentError(f"HTTP {status} from Shopify", code=reason)

    def _graphql_error(self, body: dict[str, Any]) -> ShopifyAdminError:
        errors = body["errors"] if isinstance(body["errors"], list) else [body["errors"]]
        codes = [_error_code(error) for error in errors]
        message = self._scrub("; ".join(_error_message(error) for error in errors))
        if "THROTTLED" in codes:
            wait = _throttle_wait(body)
            logger.info("Shopify GraphQL throttled; retry in %ss", wait)
            return ShopifyRetryableError(message, code="throttled", retry_after=wait)
        for code in codes:
            if code in _RETRYABLE_GRAPHQL_CODES:
                return ShopifyRetryableError(message, code=_RETRYABLE_GRAPHQL_CODES[code])
        code = next((c for c in codes if c), None)
        return ShopifyPermanentError(message, code=code.lower() if code else "graphql_error")

    def _scrub(self, text: str) -> str:
        # Shopify's messages are echoed into exceptions; never let a token through.
        return text.replace(self._access_token, "[redacted]") if self._access_token else text


def email_search_query(email: str) -> str:
    """Return the Shopify search string ``email:"<email>"`` with the value safely quoted.

    Quoting keeps ``:``, ``(``, ``)``, spaces and ``OR``/``-`` inside the value
    instead of being parsed as search syntax; backslash and double quote are
    the two characters that must be escaped inside a quoted value.
    """
    escaped = email.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'email:"{escaped}"'


def _check_tag_arguments(customer_gid: str, tags: list[str]) -> None:
    # tagsAdd accepts any taggable GID; refuse anything but a customer so a
    # mixed-up id can never tag an order or a product.
    if not customer_gid.startswith(CUSTOMER_GID_PREFIX):
        raise ValueError(f"not a customer GID: {customer_gid!r}")
    if not tags:
        raise ValueError("tags must not be empty")


def _throttle_wait(body: dict[str, Any]) -> float | None:
    """Seconds until the bucket holds the requested cost, per the cost extension."""
    cost = _dig(body, "extensions", "cost")
    status = _dig(cost, "throttleStatus")
    try:
        requested = float(cost["requestedQueryCost"])
        available = float(status["currentlyAvailable"])
        restore_rate = float(status["restoreRate"])
    except (TypeError, KeyError, ValueError):
        return None
    if restore_rate <= 0:
        return None
    return max((requested - available) / restore_rate, _MIN_THROTTLE_WAIT)


def _connection_ids(connection: dict[str, Any]) -> list[str]:
    """Node ids from a connection, whether it was selected with ``edges`` or ``nodes``."""
    nodes = connection.get("nodes")
    if nodes is None:
        nodes = [_dig(edge, "node") for edge in connection.get("edges") or []]
    return [node["id"] for node in nodes if isinstance(node, dict) and isinstance(node.get("id"), str)]


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ShopifyPermanentError("response is not JSON", code="malformed_response") from exc
    if not isinstance(body, dict):
        raise ShopifyPermanentError("response is not a JSON object", code="malformed_response")
    return body


def _json_object_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        return _json_object(response)
    except ShopifyPermanentError:
        return {}


def _error_code(error: Any) -> str | None:
    code = _dig(error, "extensions", "code")
    if isinstance(code, str):
        return code
    # The rate-limit docs show throttling as a bare {"message": "Throttled"}.
    return "THROTTLED" if _dig(error, "message") == "Throttled" else None


def _error_message(error: Any) -> str:
    message = _dig(error, "message")
    return message if isinstance(message, str) else "GraphQL error"


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` or None as soon as a level is missing or not a dict."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
