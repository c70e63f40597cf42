"""The merchant's ``loyalty`` block: which program engine runs its points (the built-in ledger or a provider).

One model per provider, chosen by ``provider``; a key the chosen provider does
not use is an error with its path (``merchants[0].loyalty.app_token: ...``),
so a block copied from another provider cannot half-work. Secrets are
``SecretStr`` and never quoted in a message.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    StringConstraints,
    Tag,
    field_validator,
)
from pydantic_core import PydanticCustomError

PROVIDERS = ("punchcard", "hang", "voucherify", "altcraft", "inveterate")
REMOTE = PROVIDERS[1:]
ENGINES = ("punchcard", "hang", "altcraft", "voucherify", "inveterate")  # the providers this version can run


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


def _secret(value: Any) -> Any:
    value = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(value, str) or not value.strip():
        raise _fail("must be a non-empty string (quote it in YAML)")
    return value


def _base_url(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise _fail("must be an http:// or https:// URL without a query")
    return value.rstrip("/")


Secret = Annotated[SecretStr, BeforeValidator(_secret)]
BaseUrl = Annotated[str, BeforeValidator(_base_url)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^\S+$")]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class PunchcardLoyalty(_Block):
    """The built-in ledger (the default when the block is absent)."""

    provider: Literal["punchcard"]


class _Remote(_Block):
    base_url: BaseUrl
    provider: str

    @field_validator("provider")
    @classmethod
    def _runnable(cls, provider: str) -> str:
        # Validated to the letter already, so a block written today keeps working when its engine arrives.
        if provider not in ENGINES:
            raise _fail(f"{provider} is not available in this version of Punchcard (available: {', '.join(ENGINES)})")
        return provider

    # Per call; the POS's synchronous calls use min(this, 1.5) so Toast's 5 s never runs out.
    timeout_seconds: float = Field(default=5, gt=0, le=60)


class HangLoyalty(_Remote):
    """Hang's partner API: members, purchase activities that Hang's rules turn into points, its rewards."""

    provider: Literal["hang"]
    api_key: Secret
    activity_type_id: Word


class VoucherifyLoyalty(_Remote):
    """A Voucherify Loyalty v2 program."""

    provider: Literal["voucherify"]
    app_id: Secret
    app_token: Secret
    program_id: Annotated[str, StringConstraints(pattern=r"^lprg_[A-Za-z0-9]+$")]

    @field_validator("base_url")
    @classmethod
    def _api_root(cls, base_url: str) -> str:
        # Calls are /v1/customers and /v2/loyalties/...: a base ending in a version would double it.
        if re.search(r"/v[0-9]+$", base_url):
            raise _fail("must be Voucherify's API root (e.g. https://api.voucherify.io), without /v1 or /v2")
        return base_url


class AltcraftLoyalty(_Remote):
    """Altcraft's loyalty API v1.1."""

    provider: Literal["altcraft"]
    token: Secret
    loyalty_program_id: int = Field(gt=0)
    points_currency_eid: Word | None = None
    matching: Literal["phone", "email"] = "phone"


class InveterateLoyalty(_Remote):
    """Inveterate's Public API 2.0: store credit for Shopify members."""

    provider: Literal["inveterate"]
    api_key: Secret
    credit_rate: Decimal = Field(gt=0, le=1, description="store credit per 1.00 of eligible spend")


def channel_problem(loyalty: Any, *, on_shopify: bool) -> str | None:
    """Why the block cannot work with the merchant's channels, or None (Inveterate's members are Shopify customers)."""
    if getattr(loyalty, "provider", None) == "inveterate" and not on_shopify:
        return "provider inveterate keys its members by Shopify customer id: the merchant needs a shopify block"
    return None


# What the built-in ledger alone can do on Shopify: a provider keeps the points, so Punchcard has none to spend as
# a discount code or to show on the customer (decisions.md).
LEDGER_ONLY_SHOPIFY = ("redemption_codes", "customer_metafields")


def ledger_only_problems(loyalty: Any, shopify: Any) -> list[tuple[str, str]]:
    """``(shopify key, message)`` for each ledger-only Shopify feature a provider-backed merchant turned on."""
    provider = getattr(loyalty, "provider", "punchcard")
    if provider == "punchcard" or shopify is None:
        return []
    return [
        (name, f"not available with loyalty.provider {provider}: the points live in {provider}, not in Punchcard")
        for name in LEDGER_ONLY_SHOPIFY
        if getattr(shopify, name, None) is not None
    ]


def _provider_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("provider") if value.get("provider") in PROVIDERS else None
    return getattr(value, "provider", None)


LoyaltyConfig = Annotated[
    Annotated[PunchcardLoyalty, Tag("punchcard")]
    | Annotated[HangLoyalty, Tag("hang")]
    | Annotated[VoucherifyLoyalty, Tag("voucherify")]
    | Annotated[AltcraftLoyalty, Tag("altcraft")]
    | Annotated[InveterateLoyalty, Tag("inveterate")],
    Discriminator(
        _provider_of,
        custom_error_type="invalid",
        custom_error_message="provider must be one of " + ", ".join(PROVIDERS),
    ),
]
