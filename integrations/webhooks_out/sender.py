"""One Standard Webhooks delivery (standardwebhooks.com): signed with every secret of the endpoint, posted once.

``webhook-signature`` carries ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``
for each secret (two during a rotation), space-separated, computed by the
``standardwebhooks`` library itself, so any of its verifiers accepts it. The
request carries nothing but the event: no credential, no internal header,
and redirects are not followed (a redirect could lead anywhere).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from standardwebhooks import Webhook

TIMEOUT = 15.0  # seconds: events.md, "an attempt succeeds on any 2xx within 15 s"


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to: the receiver's status (None when it never answered) and why it failed."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        """Any 2xx is a delivery."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """A short fixed word for metrics: ``delivered``, ``rejected`` (a non-2xx), ``timeout`` or ``unreachable``."""
        if self.status is not None:
            return "delivered" if self.delivered else "rejected"
        return "timeout" if (self.error or "").startswith("no answer") else "unreachable"


def headers(*, event_id: str, timestamp: datetime, body: str, secrets: list[str]) -> dict[str, str]:
    """The Standard Webhooks headers of ``body``, signed with each of ``secrets``."""
    signatures = " ".join(Webhook(secret).sign(event_id, timestamp, body) for secret in secrets)
    return {
        "Content-Type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }


def post(session: requests.Session, url: str, body: str, signed: dict[str, str]) -> Attempt:
    """POST the event once; never raises for the receiver's failures."""
    try:
        response = session.post(url, data=body.encode(), headers=signed, timeout=TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        return Attempt(None, f"no answer within {TIMEOUT:.0f} s")
    except requests.RequestException as exc:
        return Attempt(None, f"unreachable: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None)
    return Attempt(response.status_code, f"HTTP {response.status_code}")


def private_address(url: str) -> str | None:
    """The loopback, private, link-local or otherwise internal address ``url``'s host resolves to, if any.

    Production refuses to deliver there (events.md): a merchant's URL must
    not reach into the network Punchcard runs in.
    """
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return None  # unresolvable: the attempt fails as unreachable
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            return str(address)
    return None
