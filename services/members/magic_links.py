"""Magic links: signed, expiring links to a member's page (``/m/<token>``).

The token is an itsdangerous ``URLSafeTimedSerializer`` payload signed with
the app's ``SECRET_KEY``. It names the member and its merchant and nothing
personal, so a forwarded link leaks no phone or email. It lives ``TTL``
(seven days: long enough to sit in an SMS or email for a week, short enough
that an old message found later no longer opens the card). Its timestamp
comes from the runtime's clock, so tests and the server agree on expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from services.runtime import Runtime

TTL = timedelta(days=7)
PATH = "/m/"
_SALT = "punchcard.member-page"


@dataclass(frozen=True)
class MagicLink:
    """A link to a member's page and the instant it stops working."""

    url: str
    expires_at: datetime


class InvalidLink(Exception):
    """The token was not signed by us (tampered with, truncated, another key)."""


class ExpiredLink(Exception):
    """The token was ours but its time to live has passed."""


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the runtime's clock instead of ``time.time()``."""

    def __init__(self, *args, clock, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


def _serializer(rt: Runtime) -> URLSafeTimedSerializer:
    # The wiring always hands over SECRET_KEY (settings refuse the development
    # value in production); only a Runtime built by hand has an empty key.
    # itsdangerous signs with the last key of the list and verifies with any: SECRET_KEY_FALLBACKS
    # keep the links sent before a rotation working.
    keys = [*rt.secret_key_fallbacks, rt.secret_key]
    return URLSafeTimedSerializer(keys, salt=_SALT, signer=_ClockSigner, signer_kwargs={"clock": rt.clock})


def issue(rt: Runtime, merchant_id: int, member_id: str) -> MagicLink:
    """A fresh link to ``member_id``'s page on ``rt.public_base_url``, valid for ``TTL``."""
    token = _serializer(rt).dumps({"m": member_id, "k": merchant_id})
    issued = datetime.fromtimestamp(int(rt.clock().timestamp()), UTC)
    return MagicLink(f"{rt.public_base_url.rstrip('/')}{PATH}{token}", issued + TTL)


def verify(rt: Runtime, token: str) -> tuple[int, str]:
    """The ``(merchant_id, member_id)`` a token names; ``ExpiredLink`` or ``InvalidLink`` otherwise."""
    try:
        payload = _serializer(rt).loads(token, max_age=int(TTL.total_seconds()))
    except SignatureExpired:
        raise ExpiredLink(token) from None
    except BadSignature:
        raise InvalidLink(token) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("m"), str):
        raise InvalidLink(token)
    return payload.get("k"), payload["m"]
