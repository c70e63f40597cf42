"""Toast webhook ``Toast-Signature`` verification.

Toast signs the raw body followed by the envelope's ``timestamp`` value:
``base64(HMAC-SHA256(secret, body + timestamp))`` (Toast's "Message signing"
guide concatenates ``body + timestamp`` as strings and encodes them as UTF-8,
which for a UTF-8 body is the raw bytes followed by the timestamp's bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

HEADER = "Toast-Signature"


class _RawNumber(str):
    """A JSON number kept as the exact text it had in the body."""


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """The ``Toast-Signature`` value Toast would send for ``body`` stamped ``timestamp``."""
    message = body + timestamp.encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, timestamp: str | None, secret: str, header: str | None) -> bool:
    """True when ``header`` signs ``body`` + ``timestamp`` with ``secret``; compared in constant time."""
    if not header or not secret or timestamp is None:
        return False
    expected = sign(body, timestamp, secret).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("ascii", "replace"))


def envelope_timestamp(body: bytes) -> str | None:
    """The envelope's top-level ``timestamp`` as signed, or None when absent or unreadable.

    Toast documents it as an ISO 8601 string, which is returned decoded (the
    value Toast's signer concatenates). Should it ever arrive as a JSON number,
    its exact text in the raw body is returned (``1717236000000`` stays
    ``"1717236000000"``, ``1.5e3`` stays ``"1.5e3"``), never a re-rendered float.
    """
    try:
        envelope = json.loads(body, parse_int=_RawNumber, parse_float=_RawNumber)
    except (ValueError, UnicodeDecodeError):
        return None
    value = envelope.get("timestamp") if isinstance(envelope, dict) else None
    return str(value) if isinstance(value, str) else None
