"""The merchant's ``webhooks_out``: endpoints that receive signed events (events.md), and what each subscribes to."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

EVENT_TYPES = (
    "membership.created",
    "membership.updated",
    "points.earned",
    "points.earn_reversed",
    "points.spent",
    "points.spend_refunded",
    "points.expired",
    "reward.redeemed",
    "tier.changed",
)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


def _secret(value: Any) -> SecretStr:
    """A Standard Webhooks secret: ``whsec_`` and base64 of at least 24 bytes; never quoted back."""
    value = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(value, str) or not value.startswith("whsec_"):
        raise _fail("must be a Standard Webhooks secret: whsec_ followed by base64")
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise _fail("must be a Standard Webhooks secret: whsec_ followed by base64") from None
    if len(key) < 24:
        raise _fail("must hold at least 24 random bytes (192 bits)")
    return SecretStr(value)


def _secrets(value: Any) -> list[SecretStr]:
    # One secret, or two while rotating: every delivery is signed with each.
    values = value if isinstance(value, list) else [value]
    if not 1 <= len(values) <= 2:
        raise _fail("must be one secret, or a list of two while rotating")
    return [_secret(v) for v in values]


def _url(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+(/[^\s#]*)?", value):
        raise _fail("must be an http:// or https:// URL")
    return value


class WebhookOut(BaseModel):
    """One endpoint of the merchant's own systems."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: Annotated[str, BeforeValidator(_url), Field(max_length=2000)]
    secret: Annotated[list[SecretStr], BeforeValidator(_secrets)]
    events: list[str] | None = None  # omitted: every type

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str] | None) -> list[str] | None:
        if events is not None:
            unknown = [e for e in events if e not in EVENT_TYPES]
            if unknown or not events:
                raise _fail("must list event types among " + ", ".join(EVENT_TYPES))
        return events
