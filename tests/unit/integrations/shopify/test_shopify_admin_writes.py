"""ShopifyAdminClient's discount code and metafield calls against Shopify faked in its documented shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses

from integrations.shopify.admin import ShopifyAdminClient, ShopifyPermanentError, ShopifyRetryableError
from integrations.shopify.discounts import CodeDiscount
from integrations.shopify.metafields import balance_metafields

SHOP = "https://punchcard-test.myshopify.com"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
CUSTOMER = "gid://shopify/Customer/544365967"
NODE = "gid://shopify/DiscountCodeNode/206265824"
COST = {
    "cost": {
        "requestedQueryCost": 10,
        "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 990, "restoreRate": 50},
    }
}


def endpoint(version: str) -> str:
    return f"{SHOP}/admin/api/{version}/graphql.json"


def client(version: str = "2025-10") -> ShopifyAdminClient:
    return ShopifyAdminClient(base_url=SHOP, access_token=TOKEN, api_version=version, session=requests.Session())


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


def five_off() -> CodeDiscount:
    return CodeDiscount(
        code="PC-ABCDEFGH23",
        title="Five Off (500 points, rdm_1)",
        customer_gid=CUSTOMER,
        starts_at=datetime(2026, 6, 1, tzinfo=UTC),
        ends_at=None,
        amount=Decimal("5.00"),
    )


def sent(shopify, index: int = 0) -> dict:
    return json.loads(shopify.calls[index].request.body)


def test_creating_a_code_sends_the_versions_input_and_returns_the_discounts_gid(shopify):
    created = {"discountCodeBasicCreate": {"codeDiscountNode": {"id": NODE}, "userErrors": []}}
    shopify.post(endpoint("2025-10"), json={"data": created, "extensions": COST})
    result = client().create_code_discount(discount=five_off())
    assert result.ok and result.id == NODE
    body = sent(shopify)
    assert "discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount)" in body["query"]
    assert body["variables"]["basicCodeDiscount"]["context"] == {"customers": {"add": [CUSTOMER]}}


def test_an_older_pinned_version_gets_customer_selection(shopify):
    created = {"discountCodeBasicCreate": {"codeDiscountNode": {"id": NODE}, "userErrors": []}}
    shopify.post(endpoint("2024-04"), json={"data": created})
    client("2024-04").create_code_discount(discount=five_off())
    assert "customerSelection" in sent(shopify)["variables"]["basicCodeDiscount"]


def test_a_taken_code_comes_back_as_user_errors_with_http_200_not_as_an_exception(shopify):
    taken = [
        {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique.", "extraInfo": None}
    ]
    shopify.post(
        endpoint("2025-10"), json={"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": taken}}}
    )
    result = client().create_code_discount(discount=five_off())
    assert not result.ok and result.id is None and result.user_errors == taken


def test_a_throttled_create_is_retryable_after_the_cost_based_wait(shopify):
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {"requestedQueryCost": 10, "throttleStatus": {"currentlyAvailable": 0, "restoreRate": 2}}
        },
    }
    shopify.post(endpoint("2025-10"), json=throttled)
    with pytest.raises(ShopifyRetryableError) as caught:
        client().create_code_discount(discount=five_off())
    assert (caught.value.code, caught.value.retry_after) == ("throttled", 5.0)


def test_a_code_is_found_by_its_code_with_its_title_and_a_missing_one_is_none(shopify):
    node = {"id": NODE, "codeDiscount": {"title": "Five Off (500 points, rdm_1)"}}
    shopify.post(endpoint("2025-10"), json={"data": {"codeDiscountNodeByCode": node}})
    shopify.post(endpoint("2025-10"), json={"data": {"codeDiscountNodeByCode": None}})
    found = client().find_code_discount(code="pc-abcdefgh23")
    assert (found.gid, found.title) == (NODE, "Five Off (500 points, rdm_1)")
    assert sent(shopify)["variables"] == {"code": "pc-abcdefgh23"}
    assert client().find_code_discount(code="PC-NONE") is None


def test_deleting_a_code_names_its_gid_and_refuses_anything_that_is_not_a_code_discount(shopify):
    shopify.post(
        endpoint("2025-10"), json={"data": {"discountCodeDelete": {"deletedCodeDiscountId": NODE, "userErrors": []}}}
    )
    result = client().delete_code_discount(discount_gid=NODE)
    assert result.ok and result.id == NODE and sent(shopify)["variables"] == {"id": NODE}
    with pytest.raises(ValueError):
        client().delete_code_discount(discount_gid=CUSTOMER)


def test_metafields_are_set_in_one_call_with_their_types_and_user_errors_are_returned(shopify):
    fields = balance_metafields(CUSTOMER, "loyalty", points=425, pending_points=0, tier="Bronze")
    refused = [{"field": ["metafields", "0", "value"], "code": "INVALID", "message": "is invalid"}]
    shopify.post(endpoint("2025-10"), json={"data": {"metafieldsSet": {"metafields": [], "userErrors": []}}})
    shopify.post(endpoint("2025-10"), json={"data": {"metafieldsSet": {"metafields": None, "userErrors": refused}}})
    assert client().set_metafields(metafields=fields).ok
    assert sent(shopify)["variables"]["metafields"] == [
        {"ownerId": CUSTOMER, "namespace": "loyalty", "key": "points", "type": "number_integer", "value": "425"},
        {"ownerId": CUSTOMER, "namespace": "loyalty", "key": "pending_points", "type": "number_integer", "value": "0"},
        {
            "ownerId": CUSTOMER,
            "namespace": "loyalty",
            "key": "tier",
            "type": "single_line_text_field",
            "value": "Bronze",
        },
    ]
    assert client().set_metafields(metafields=fields).user_errors == refused


def test_a_member_without_a_tier_writes_no_blank_tier_and_more_than_25_fields_are_refused():
    fields = balance_metafields(CUSTOMER, "loyalty", points=1, pending_points=2, tier=None)
    assert [f["key"] for f in fields] == ["points", "pending_points"]
    with pytest.raises(ValueError):
        client().set_metafields(metafields=fields * 13)


def test_a_revoked_token_on_a_write_is_permanent_and_never_quoted(shopify):
    shopify.post(endpoint("2025-10"), status=401, json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(ShopifyPermanentError) as caught:
        client().delete_code_discount(discount_gid=NODE)
    assert caught.value.code == "unauthorized" and TOKEN not in str(caught.value)
