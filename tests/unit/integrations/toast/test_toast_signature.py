"""Toast-Signature: base64 HMAC-SHA256 over the raw body followed by the envelope timestamp."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from integrations.toast import signature
from toast_factories import TIMESTAMP, WEBHOOK_SECRET, toast_body, toast_envelope, toast_order

BODY = toast_body(toast_envelope(toast_order(), timestamp=TIMESTAMP))


def test_the_signature_is_base64_hmac_sha256_of_the_body_followed_by_the_timestamp():
    expected = hmac.new(b"secret", b'{"a": 1}' + b"2026-06-01T14:00:00.000+0000", hashlib.sha256).digest()
    assert signature.sign(b'{"a": 1}', "2026-06-01T14:00:00.000+0000", "secret") == base64.b64encode(expected).decode()


def test_a_signed_envelope_verifies_with_its_own_timestamp():
    header = signature.sign(BODY, TIMESTAMP, WEBHOOK_SECRET)

    assert signature.envelope_timestamp(BODY) == TIMESTAMP
    assert signature.verify(BODY, signature.envelope_timestamp(BODY), WEBHOOK_SECRET, header)
    assert signature.verify(BODY, TIMESTAMP, WEBHOOK_SECRET, f"  {header}\n")


def test_a_wrong_secret_does_not_verify():
    header = signature.sign(BODY, TIMESTAMP, WEBHOOK_SECRET)
    assert not signature.verify(BODY, TIMESTAMP, "another-secret", header)


def test_a_wrong_timestamp_does_not_verify():
    header = signature.sign(BODY, TIMESTAMP, WEBHOOK_SECRET)
    assert not signature.verify(BODY, "2026-06-01T14:00:00.124+0000", WEBHOOK_SECRET, header)


def test_a_changed_body_does_not_verify():
    header = signature.sign(BODY, TIMESTAMP, WEBHOOK_SECRET)
    assert not signature.verify(BODY.replace(b"12.50", b"99.50"), TIMESTAMP, WEBHOOK_SECRET, header)


@pytest.mark.parametrize("header", [None, "", "garbage", "é"])
def test_a_missing_or_malformed_header_does_not_verify(header):
    assert not signature.verify(BODY, TIMESTAMP, WEBHOOK_SECRET, header)


def test_nothing_verifies_without_a_secret_or_a_timestamp():
    header = signature.sign(BODY, TIMESTAMP, "")
    assert not signature.verify(BODY, TIMESTAMP, "", header)
    assert not signature.verify(BODY, None, WEBHOOK_SECRET, signature.sign(BODY, "", WEBHOOK_SECRET))


def test_the_comparison_is_constant_time(monkeypatch):
    seen = []

    def spy(a, b):
        seen.append((a, b))
        return a == b

    monkeypatch.setattr(signature.hmac, "compare_digest", spy)
    header = signature.sign(BODY, TIMESTAMP, WEBHOOK_SECRET)

    assert signature.verify(BODY, TIMESTAMP, WEBHOOK_SECRET, header)
    assert seen == [(header.encode(), header.encode())]


def test_a_numeric_timestamp_is_signed_as_its_exact_text_in_the_body():
    body = b'{"timestamp": 1717236000000, "guid": "e"}'
    assert signature.envelope_timestamp(body) == "1717236000000"
    assert signature.envelope_timestamp(b'{"timestamp": 1.5e3}') == "1.5e3"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"guid": "e"}', b'{"timestamp": null}', b'{"timestamp": {"a": 1}}', b"\xff\xfe"],
)
def test_an_envelope_without_a_usable_timestamp_yields_none(body):
    assert signature.envelope_timestamp(body) is None
