"""The served OpenAPI document: readable operation ids, plain schema names, a declared Idempotency-Key, every error."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def document(client):
    return client.get("/partner-api/openapi.json").get_json()


def operations(document):
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_operation_has_a_readable_unique_operation_id(document):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)) == 23
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", i) for i in ids), ids
    by_path = {(path, method): op["operationId"] for path, method, op in operations(document)}
    assert by_path[("/partner-api/v2/program-memberships", "post")] == "createProgramMembership"


def test_schema_names_carry_no_hash_suffix_and_every_reference_resolves(document):
    names = set(document["components"]["schemas"])
    assert names >= {"MembershipCreate", "MembershipOut", "ErrorBody", "TransactionWrite"}
    assert not [n for n in names if "." in n or re.search(r"[0-9a-f]{7}", n)]
    text = str(document)
    assert set(re.findall(r"#/components/schemas/([A-Za-z]+)", text)) <= names


def test_writes_declare_the_idempotency_key_header(document):
    for path, method, op in operations(document):
        headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        writes = method in ("post", "patch", "delete") and not path.endswith("/magic-link")
        assert ("Idempotency-Key" in headers) == writes, (method, path)


def test_every_operation_lists_its_error_codes_with_an_example(document):
    for path, _method, op in operations(document):
        for status in ("400", "401", "429", "503"):
            examples = op["responses"][status]["content"]["application/json"]["examples"]
            assert examples and all(
                e["value"]["error"] == name and e["value"]["message"] for name, e in examples.items()
            )
        assert "Retry-After" in op["responses"]["429"]["headers"]
        if "{member_id}" in path:
            assert "PROGRAM_MEMBERSHIP_NOT_FOUND" in op["responses"]["404"]["content"]["application/json"]["examples"]
    create = document["paths"]["/partner-api/v2/program-memberships"]["post"]["responses"]
    assert set(create["409"]["content"]["application/json"]["examples"]) == {
        "IDEMPOTENCY_KEY_REUSED",
        "EMAIL_ALREADY_EXISTS",
        "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS",
    }


def test_the_docs_page_and_its_assets_come_from_the_app(client):
    page = client.get("/partner-api/docs").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page and "https://" not in page and "http://" not in page
    asset = client.get("/partner-api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000
    assert client.get("/partner-api/docs/assets/../../../etc/passwd").status_code == 404
