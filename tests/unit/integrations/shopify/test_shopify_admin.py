"""ShopifyAdminClient against a faked Shopify speaking its documented shapes."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from integrations.shopify.admin import (
    ShopifyAdmin,
    ShopifyAdminClient,
    ShopifyPermanentError,
    ShopifyRetryableError,
    TagResult,
    email_search_query,
)

SHOP = "https://punchcard-test.myshopify.com"
VERSION = "2025-01"
ENDPOINT = f"{SHOP}/admin/api/{VERSION}/graphql.json"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
GID = "gid://shopify/Customer/544365967"


def cost(requested: float = 10, available: float = 990, restore_rate: float = 50) -> dict:
    """Shopify's ``extensions.cost`` block."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": restore_rate,
            },
        }
    }


def customers_found(*gids: str) -> dict:
    return {
        "data": {"customers": {"edges": [{"node": {"id": g, "tags": ["vip"]}} for g in gids]}},
        "extensions": cost(),
    }


def tags_added(gid: str = GID, user_errors: list | None = None) -> dict:
    node = None if user_errors else {"id": gid}
    return {
        "data": {"tagsAdd": {"node": node, "userErrors": user_errors or []}},
        "extensions": cost(),
    }


def throttled(requested: float, available: float, restore_rate: float) -> dict:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }
        ],
        "extensions": cost(requested, available, restore_rate),
    }


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> ShopifyAdminClient:
    return ShopifyAdminClient(
        base_url=SHOP + "/", access_token=TOKEN, api_version=VERSION, session=requests.Session(), timeout=3.0
    )


def sent_body(shopify: responses.RequestsMock, index: int = 0) -> dict:
    return json.loads(shopify.calls[index].request.body)


def test_the_client_satisfies_the_shopify_admin_protocol(client):
    admin: ShopifyAdmin = client
    assert callable(admin.find_customer_gid) and callable(admin.add_tags)


def test_a_numeric_customer_id_becomes_a_customer_gid_without_losing_precision():
    assert ShopifyAdminClient.customer_gid(544365967) == GID
    assert ShopifyAdminClient.customer_gid("9007199254740993") == "gid://shopify/Customer/9007199254740993"
    with pytest.raises(ValueError):
        ShopifyAdminClient.customer_gid("12; drop")


def test_finding_a_customer_by_email_returns_its_gid(shopify, client):
    shopify.post(ENDPOINT, json=customers_found(GID))

    assert client.find_customer_gid(email="ada@example.com") == GID


def test_a_customer_found_through_nodes_is_read_as_well_as_through_edges(shopify, client):
    shopify.post(ENDPOINT, json={"data": {"customers": {"nodes": [{"id": GID}]}}})

    assert client.find_customer_gid(email="ada@example.com") == GID


def test_an_email_with_no_customer_returns_none(shopify, client):
    shopify.post(ENDPOINT, json={"data": {"customers": {"edges": []}}, "extensions": cost()})

    assert client.find_customer_gid(email="nobody@example.com") is None


def test_the_email_search_travels_as_a_quoted_variable_not_inside_the_query(shopify, client):
    shopify.post(ENDPOINT, json=customers_found(GID))

    client.find_customer_gid(email="ada@example.com")

    body = sent_body(shopify)
    assert body["variables"] == {"query": 'email:"ada@example.com"'}
    assert "ada@example.com" not in body["query"]
    assert "customers(first: 1, query: $query)" in body["query"]


def test_quotes_and_backslashes_in_an_email_are_escaped_for_the_search_syntax():
    assert email_search_query('o"neil\\x@example.com') == 'email:"o\\"neil\\\\x@example.com"'
    assert email_search_query("a OR b:(c)@example.com") == 'email:"a OR b:(c)@example.com"'


def test_every_request_carries_the_access_token_header_and_json_content(shopify, client):
    shopify.post(ENDPOINT, json=customers_found(GID))

    client.find_customer_gid(email="ada@example.com")

    request = shopify.calls[0].request
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"


def test_adding_tags_sends_tags_add_with_variables_and_returns_the_customer(shopify, client):
    shopify.post(ENDPOINT, json=tags_added())

    result = client.add_tags(customer_gid=GID, tags=["punchcard-member", "wallet"])

    assert result == TagResult(customer_gid=GID, user_errors=[])
    body = sent_body(shopify)
    assert body["variables"] == {"id": GID, "tags": ["punchcard-member", "wallet"]}
    assert "tagsAdd(id: $id, tags: $tags)" in body["query"]
    assert GID not in body["query"]


def test_user_errors_from_tags_add_are_returned_in_the_result_not_raised(shopify, client):
    errors = [{"field": ["id"], "message": "Customer does not exist"}]
    shopify.post(ENDPOINT, json=tags_added(user_errors=errors))

    result = client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert result.user_errors == errors
    assert result.customer_gid == GID
    assert not result.ok


def test_adding_tags_refuses_a_gid_that_is_not_a_customer(client):
    with pytest.raises(ValueError):
        client.add_tags(customer_gid="gid://shopify/Order/1", tags=["punchcard-member"])


def test_throttled_response_is_retryable_after_the_cost_based_delay(shopify, client):
    shopify.post(ENDPOINT, json=throttled(requested=752, available=652, restore_rate=50))

    with pytest.raises(ShopifyRetryableError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "throttled"
    assert caught.value.retry_after == pytest.approx(2.0)  # (752 - 652) / 50


def test_throttled_response_waits_at_least_one_second(shopify, client):
    shopify.post(ENDPOINT, json=throttled(requested=10, available=8, restore_rate=100))

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.retry_after == 1.0


def test_throttled_response_without_cost_is_retryable_with_no_hint(shopify, client):
    shopify.post(ENDPOINT, json={"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]})

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.retry_after is None


def test_a_bare_throttled_message_without_a_code_is_still_retryable(shopify, client):
    shopify.post(ENDPOINT, json={"errors": [{"message": "Throttled"}], "extensions": cost(100, 0, 50)})

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.code == "throttled"
    assert caught.value.retry_after == pytest.approx(2.0)


def test_http_429_is_retryable_after_the_retry_after_header(shopify, client):
    shopify.post(ENDPOINT, status=429, headers={"Retry-After": "2.5"}, json={"errors": "Throttled"})

    with pytest.raises(ShopifyRetryableError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == 2.5


def test_http_429_without_retry_after_falls_back_to_the_cost_extension(shopify, client):
    shopify.post(ENDPOINT, status=429, json=throttled(requested=300, available=100, restore_rate=100))

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retryable(shopify, client, status):
    shopify.post(ENDPOINT, status=status, body="<html>oops</html>")

    with pytest.raises(ShopifyRetryableError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "server_error"


def test_an_internal_error_reported_in_graphql_errors_is_retryable(shopify, client):
    error = {"message": "Internal error. Request ID: 1b35", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    shopify.post(ENDPOINT, json={"errors": [error]})

    with pytest.raises(ShopifyRetryableError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "internal_error"


def test_a_timeout_is_retryable(shopify, client):
    shopify.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.code == "timeout"


def test_a_connection_failure_is_retryable(shopify, client):
    shopify.post(ENDPOINT, body=requests.ConnectionError("connection refused"))

    with pytest.raises(ShopifyRetryableError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.code == "network_error"


@pytest.mark.parametrize(("status", "reason"), [(401, "unauthorized"), (403, "forbidden"), (404, "not_found")])
def test_an_auth_or_missing_endpoint_status_is_permanent(shopify, client, status, reason):
    shopify.post(ENDPOINT, status=status, json={"errors": "[API] Invalid API key or access token"})

    with pytest.raises(ShopifyPermanentError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == reason


def test_a_graphql_error_other_than_throttling_is_permanent_with_its_code(shopify, client):
    error = {"message": "Access denied for tagsAdd field.", "extensions": {"code": "ACCESS_DENIED"}}
    shopify.post(ENDPOINT, json={"errors": [error], "extensions": cost()})

    with pytest.raises(ShopifyPermanentError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "access_denied"


def test_a_response_that_is_not_graphql_json_is_permanent(shopify, client):
    shopify.post(ENDPOINT, body="not json", content_type="text/html")

    with pytest.raises(ShopifyPermanentError) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert caught.value.code == "malformed_response"


def test_a_response_missing_the_expected_field_is_permanent(shopify, client):
    shopify.post(ENDPOINT, json={"data": {}})

    with pytest.raises(ShopifyPermanentError) as caught:
        client.add_tags(customer_gid=GID, tags=["punchcard-member"])

    assert caught.value.code == "malformed_response"


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 401, "json": {"errors": f"bad token {TOKEN}"}},
        {"status": 200, "json": {"errors": [{"message": f"token {TOKEN} is invalid"}]}},
        {"status": 429, "json": {}},
        {"status": 500, "body": "boom"},
        {"body": requests.ConnectionError(f"failed with headers {{'X-Shopify-Access-Token': '{TOKEN}'}}")},
    ],
)
def test_the_access_token_never_appears_in_an_exception(shopify, client, reply):
    shopify.post(ENDPOINT, **reply)

    with pytest.raises(Exception) as caught:
        client.find_customer_gid(email="ada@example.com")

    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in repr(client)
