"""Security checks: secrets never leak into logs or error bodies, keys are hashed, comparisons are constant-time,
body limits hold."""

from __future__ import annotations

import ast
import io
import logging

import pytest
import responses
from sqlalchemy import select, text

from factories import encode, shopify_headers, shopify_order
from models import ApiKey
from services.merchants.config import ConfigError, parse_config
from support import EXAMPLE_CONFIG, ROOT, TEST_ENV

SECRETS = list(TEST_ENV.values())
GRAPHQL = "https://demo-cafe.myshopify.com/admin/api/2025-07/graphql.json"


def leaked(text_: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text_]


def test_no_secret_appears_in_logs_or_error_bodies_across_failures(rt, demo_merchant, client, work, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    body = encode(shopify_order(wallet="0xabc"))
    bodies.append(
        client.post(
            "/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w1", secret="wrong")
        ).data
    )
    bodies.append(
        client.get(
            "/partner-api/v2/program-memberships/search?phone=1",
            headers={"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"] + "x"},
        ).data
    )
    bodies.append(
        client.post(
            "/webhooks/toast/loyalty",
            data=b"{}",
            headers={
                "Authorization": TEST_ENV["DEMO_CAFE_TOAST_LOYALTY_KEY"] + "x",
                "Toast-Transaction-Type": "LOYALTY_SEARCH",
                "Toast-Restaurant-External-ID": "0cd990c9-fd74-461d-8468-de2a0919ccbb",
                "Toast-Transaction-GUID": "g",
            },
        ).data
    )
    with responses.RequestsMock() as shopify:  # the tagging job fails with Shopify echoing the request
        shopify.post(GRAPHQL, status=401, json={"errors": f"Invalid token {TEST_ENV['DEMO_CAFE_SHOPIFY_TOKEN']}"})
        client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "orders/paid", "w2"))
        work()
    assert all(leaked(b.decode()) == [] for b in bodies)
    assert leaked(caplog.text) == []


def test_a_config_problem_never_quotes_the_secret_it_concerns():
    broken = EXAMPLE_CONFIG.read_text().replace("demo-cafe.myshopify.com\n", "demo-cafe.example.com\n", 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(broken.replace("${DEMO_CAFE_SHOPIFY_SECRET:-dev-shopify-secret}", "s3cr3t-value-123"), TEST_ENV)
    assert "s3cr3t-value-123" not in "\n".join(caught.value.problems)


def test_partner_api_keys_are_stored_only_as_hashes(rt, demo_merchant):
    key = TEST_ENV["DEMO_CAFE_API_KEY"]
    with rt.db.reader() as s:
        hashes = s.execute(select(ApiKey.key_hash)).scalars().all()
        dumps = [
            str(row) for table in ("api_keys", "merchants") for row in s.execute(text(f"SELECT * FROM {table}")).all()
        ]
    assert hashes and all(len(h) == 64 and h != key for h in hashes)
    assert not any(key in dump for dump in dumps)


SOURCE_DIRS = ("api", "webhooks", "services", "integrations")
SECRET_WORDS = ("signature", "secret", "token", "api_key", "loyalty_api_key", "hmac", "authorization")


def _compared_names(node: ast.Compare) -> set[str]:
    names = set()
    for part in [node.left, *node.comparators]:
        for sub in ast.walk(part):
            if isinstance(sub, ast.Name):
                names.add(sub.id.lower())
            elif isinstance(sub, ast.Attribute):
                names.add(sub.attr.lower())
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                names.add(sub.value.lower())
    return names


def test_no_signature_or_key_is_compared_with_a_plain_equality():
    offences = []
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                    words = {w for name in _compared_names(node) for w in SECRET_WORDS if w in name}
                    if words:
                        offences.append(f"{path.relative_to(ROOT)}:{node.lineno} compares {sorted(words)}")
    assert offences == []


@pytest.mark.parametrize(
    "path", ["integrations/shopify/signature.py", "integrations/toast/signature.py", "services/toast/pos/endpoint.py"]
)
def test_every_signature_and_static_key_check_uses_a_constant_time_comparison(path):
    assert "hmac.compare_digest(" in (ROOT / path).read_text()


@pytest.mark.parametrize(
    "url, limit",
    [
        ("/webhooks/shopify", 5 * 1024 * 1024),
        ("/webhooks/toast", 5 * 1024 * 1024),
        ("/webhooks/toast/loyalty", 5 * 1024 * 1024),
        ("/partner-api/v2/program-memberships", 256 * 1024),
    ],
)
def test_bodies_over_the_limit_are_refused_with_413_declared_or_streamed(rt, demo_merchant, client, url, limit):
    big = b"{" + b" " * limit + b"}"
    declared = client.post(url, data=big, headers={"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]})
    assert declared.status_code == 413

    # A chunked body declares no length: the limit must hold while reading.
    streamed = client.post(
        url,
        input_stream=io.BytesIO(big),
        headers={"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"], "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.status_code == 413
