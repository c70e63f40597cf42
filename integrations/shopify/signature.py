"""Shopify webhook HMAC verification over the exact raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, secret: str, header_value: str | None) -> bool:
    """True when ``header_value`` is the HMAC of ``body``; compared in constant time."""
    if not header_value or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"), header_value.strip().encode("ascii", "replace"))
