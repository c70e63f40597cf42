"""Schemathesis against the partner API's own OpenAPI document: no 5xx, every error JSON with a code.

Bounded (a few dozen generated requests per operation) so it runs in seconds
inside ``make test``.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from support import TEST_ENV

EXAMPLES_PER_OPERATION = 25


def test_no_generated_request_gets_a_server_error_and_every_error_names_a_code(rt, demo_merchant, client):
    schema = schemathesis.openapi.from_wsgi("/partner-api/openapi.json", client.application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.headers = {**(case.headers or {}), "X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}
        response = case.call()
        assert response.status_code < 500, f"{operation.label}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            body = response.json()
            assert isinstance(body.get("error"), str) and body["error"].isupper() and body.get("message"), body

    run()
