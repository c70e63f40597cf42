"""Pydantic models of the merchants file (`MERCHANTS_CONFIG`, spec/merchants.md).

Unknown keys are refused everywhere. Money is `Decimal` (floats go through
`str()`), secrets `SecretStr`, ids exact strings, instants aware UTC datetimes.
Messages never quote the input, so a secret can't leak through them."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .loyalty import LoyaltyConfig, channel_problem, ledger_only_problems
from .unique import detail, duplicate_errors
from .webhooks_out import WebhookOut

REWARD_TYPES = ("redemption", "discount_percent_based", "discount_value_based", "access")
REDEMPTION_METHODS = ("code", "store_link", "promo_code", "achievement", "pos")
ROUNDINGS = ("floor", "round", "ceil")
ELIGIBLE_SPENDS = ("subtotal", "total")
DEFAULT_TIMEZONE = "UTC"  # spec/merchants.md: "optional; UTC when omitted"
_MAX_EPOCH_SECONDS = 10**11  # larger values are almost surely milliseconds
# What the columns hold (models/tables.py): beyond it PostgreSQL refuses the sync with a raw error.
_INT_MAX, _BIGINT_MAX = 2**31 - 1, 2**63 - 1
_MAX_DAYS = 36500  # a hundred years: dates further out overflow Python's datetime


def _fail(message: str) -> PydanticCustomError:
    """An error whose message is exactly `message` (it never quotes the input)."""
    return PydanticCustomError("invalid", message)


def _matching(pattern: str, message: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise _fail(message)
        return value

    return BeforeValidator(check)


def _one_of(choices: tuple[str, ...]) -> BeforeValidator:
    return _matching("|".join(map(re.escape, choices)), "must be one of " + ", ".join(choices))


def _secret(value: Any) -> Any:
    value = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(value, str) or not value.strip():
        raise _fail("must be a non-empty string (quote it in YAML)")
    return value


MAX_SECRETS = 5  # a rotation needs two; more is a file nobody cleaned up


def _secret_or_list(value: Any) -> Any:
    """One secret, or a list of them that verification tries in turn (rotation without downtime)."""
    if not isinstance(value, list):
        return SecretStr(_secret(value))
    if not 1 <= len(value) <= MAX_SECRETS:
        raise _fail(f"must be a secret or a list of 1 to {MAX_SECRETS} secrets")
    secrets = []
    for index, item in enumerate(value):
        try:
            secrets.append(SecretStr(_secret(item)))
        except PydanticCustomError:
            raise _fail(f"item {index}: must be a non-empty string (quote it in YAML)") from None
    return secrets


def _id_string(value: Any) -> str:
    # A YAML float (or Decimal) would have lost digits or gained a '.0'.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise _fail("must be a string or a whole number; quote long ids")
    return str(value).strip()


def _uuid_string(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise _fail("must be a UUID") from None


def _http_url(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(r"https?://[^\s/]+", value):
        raise _fail("must be an http:// or https:// URL")
    return value.rstrip("/")


def _utc_instant(value: Any) -> datetime | None:
    """Date, ISO datetime or epoch seconds -> aware UTC datetime. Values without
    an offset are UTC here; `MerchantConfig` first reads them in its timezone."""
    if value is None or value == "":
        return None
    value = _local_instant(value, UTC)
    try:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_EPOCH_SECONDS:
            return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _fail("must be a date, an ISO datetime or whole epoch seconds (not milliseconds)")


def _parse_text_instant(text: str) -> Any:
    """`-?digits` -> epoch int, else an ISO date or datetime; raises ValueError."""
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else datetime.fromisoformat(text)


def _json_safe(value: Any) -> Any:
    """Metadata is open JSON: decimals become numbers, dates ISO strings."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise _fail("must contain only JSON values (finite numbers, strings, lists, mappings)")


def _one_line(value: str) -> str:
    # PostgreSQL text cannot hold NUL; a newline or tab in a name is a paste accident.
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise _fail("must be one line of text without control characters")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line)]
Name200 = Annotated[Text, StringConstraints(max_length=200)]  # merchants.name, rewards.name
Days = Annotated[int, Field(ge=0, le=_MAX_DAYS)]
Secret = Annotated[SecretStr, BeforeValidator(_secret)]
Secrets = Annotated[SecretStr | list[SecretStr], BeforeValidator(_secret_or_list)]
Money = Annotated[Decimal, BeforeValidator(lambda v: Decimal(str(v)) if isinstance(v, float) else v)]
IdString = Annotated[str, BeforeValidator(_id_string)]
UuidString = Annotated[str, BeforeValidator(_uuid_string)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
Instant = Annotated[datetime | None, BeforeValidator(_utc_instant)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class TierConfig(_Strict):
    """A tier reached by lifetime earned points; `multiplier` defaults to 1."""

    name: Annotated[Text, StringConstraints(max_length=100)]
    min_lifetime_points: int = Field(ge=0, le=_BIGINT_MAX)
    multiplier: Money = Field(default=Decimal(1), ge=1, max_digits=20)


class ProgramConfig(_Strict):
    """Earning rules. Defaults: rounding `floor`, no pending period,
    points never expire (`expiration_days: 0`), holds live 900 s, a Toast
    REDEEM hold whose check is neither paid nor voided lives 86400 s
    (`toast_hold_ttl_seconds`), no tiers.
    Tiers are returned sorted by `min_lifetime_points`."""

    points_per_currency_unit: Money = Field(gt=0, le=1_000_000)  # points per unit; more is a typo, not a program
    rounding: Annotated[str, _one_of(ROUNDINGS)] = "floor"
    pending_days: Days = 0
    expiration_days: Days = 0
    hold_ttl_seconds: int = Field(default=900, gt=0, le=_MAX_DAYS * 86400)
    toast_hold_ttl_seconds: int = Field(default=86400, gt=0, le=_MAX_DAYS * 86400)
    tiers: list[TierConfig] = Field(default_factory=list)

    @field_validator("tiers")
    @classmethod
    def _check_tiers(cls, tiers: list[TierConfig]) -> list[TierConfig]:
        names = [tier.name.casefold() for tier in tiers]
        if len(set(names)) != len(names):
            raise _fail("tier names must be unique (case-insensitively)")
        thresholds = [tier.min_lifetime_points for tier in tiers]
        if len(set(thresholds)) != len(thresholds):
            raise _fail("two tiers have the same min_lifetime_points")
        if tiers and 0 not in thresholds:
            raise _fail("needs a tier with min_lifetime_points 0")
        return sorted(tiers, key=lambda tier: tier.min_lifetime_points)


class ToastApiConfig(_Strict):
    """Toast API credentials for order look-ups and reconciliation polls."""

    base_url: HttpUrl = "https://ws-api.toasttab.com"
    client_id: Text
    client_secret: Secret


class ToastConfig(_Strict):
    """A merchant on Toast: its restaurants and the secrets Toast calls us with."""

    restaurant_guids: list[UuidString] = Field(min_length=1)
    webhook_secret: Secrets  # a list while rotating: any of them verifies
    loyalty_api_key: Secret
    api: ToastApiConfig | None = None


class ShopifyAdminApiConfig(_Strict):
    """Admin API access (customer tagging). `base_url` defaults to
    `https://<shop_domain>`; `version` defaults to 2025-07."""

    base_url: HttpUrl | None = None
    access_token: Secret
    version: Annotated[str, _matching(r"\d{4}-\d{2}|unstable", "must be like 2025-07 (or unstable)")] = "2025-07"


class CombinesWithConfig(_Strict):
    """Which other discounts a reward's code combines with at checkout (Shopify's `combinesWith`)."""

    order_discounts: bool = False
    product_discounts: bool = False
    shipping_discounts: bool = True


class RedemptionCodesConfig(_Strict):
    """Rewards redeemed online become single-use Shopify discount codes (webhooks.md).
    Defaults: prefix `PC-`, codes live 30 days (0 = never expire), no minimum
    subtotal, combine with shipping discounts only."""

    prefix: Annotated[str, _matching(r"[A-Za-z0-9_-]{0,20}", "must be at most 20 letters, digits, - or _")] = "PC-"
    expires_after_days: Days = 30
    minimum_subtotal: Money | None = Field(default=None, gt=0, max_digits=20)
    combines_with: CombinesWithConfig = Field(default_factory=CombinesWithConfig)


class CustomerMetafieldsConfig(_Strict):
    """The balance and tier written on the Shopify customer (`<namespace>.points`, `.pending_points`, `.tier`)."""

    # Shopify: a namespace is 3 to 255 characters of letters, digits, - and _.
    namespace: Annotated[str, _matching(r"[A-Za-z0-9_-]{3,255}", "must be 3 to 255 letters, digits, - or _")] = (
        "punchcard"
    )


class ShopifyConfig(_Strict):
    """A merchant on Shopify. Defaults: no member tags, `eligible_spend: subtotal`,
    no discount codes, no customer metafields (both need `admin_api`)."""

    shop_domain: str
    webhook_secret: Secrets  # a list while rotating: any of them verifies
    admin_api: ShopifyAdminApiConfig | None = None
    member_tags: list[Annotated[str, _matching(r"[^,]*[^,\s][^,]*", "must be a non-empty tag without commas")]] = Field(
        default_factory=list
    )
    eligible_spend: Annotated[str, _one_of(ELIGIBLE_SPENDS)] = "subtotal"
    redemption_codes: RedemptionCodesConfig | None = None
    customer_metafields: CustomerMetafieldsConfig | None = None

    @field_validator("shop_domain", mode="before")
    @classmethod
    def _check_domain(cls, value: Any) -> str:
        domain = value.strip().lower() if isinstance(value, str) else ""
        if not domain.endswith(".myshopify.com"):
            raise _fail("must end with .myshopify.com")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", domain):
            raise _fail("must be <shop>.myshopify.com, the shop name in letters, digits and hyphens")
        return domain

    @model_validator(mode="after")
    def _writes_need_the_admin_api(self) -> ShopifyConfig:
        missing = [name for name in ("redemption_codes", "customer_metafields") if getattr(self, name) is not None]
        if missing and self.admin_api is None:
            raise _fail(f"{' and '.join(missing)} need admin_api (a token with write access)")
        return self

    @model_validator(mode="after")
    def _default_admin_base_url(self) -> ShopifyConfig:
        if self.admin_api is not None and self.admin_api.base_url is None:
            self.admin_api.base_url = f"https://{self.shop_domain}"
        return self


class RewardConfig(_Strict):
    """A reward with every property of the rewards seed document, plus
    `points_price` and `active`.

    Required: `uuid`, `name`, `reward_type`, `points_price` (so a forgotten
    price never makes a reward free). Defaults: priority 0, reward_value 0,
    redemption_method `code`, interval and limit 0 (no limit), no dates
    (always), minimum_quantity 1, no discount cap, combinable with other
    rewards, no item or group ids (check-level), empty metadata, active.
    Discount rewards need `reward_value > 0` (a percentage at most 100);
    `redemption_method: achievement` needs an `achievement_id`.
    """

    uuid: UuidString
    name: Name200
    priority: int = Field(default=0, ge=-_INT_MAX - 1, le=_INT_MAX)
    description: str | None = None
    reward_type: Annotated[str, _one_of(REWARD_TYPES)]
    reward_value: Money = Field(default=Decimal(0), ge=0)
    points_price: int = Field(ge=0, le=_BIGINT_MAX)
    redemption_method: Annotated[str, _one_of(REDEMPTION_METHODS)] = "code"
    redemption_instruction: str | None = None
    interval: Days = 0
    limit: int = Field(default=0, ge=0)
    start_date: Instant = None
    end_date: Instant = None
    minimum_quantity: int = Field(default=1, ge=1)
    maximum_discount_value: Money | None = Field(default=None, gt=0)
    can_be_combined_with_other_rewards: bool = True
    applicable_menu_item_multi_location_ids: list[IdString] = Field(default_factory=list)
    applicable_menu_group_multi_location_ids: list[IdString] = Field(default_factory=list)
    image_url: HttpUrl | None = None
    video_url: HttpUrl | None = None
    terms_and_conditions: str | None = None
    achievement_id: IdString | None = Field(default=None, validate_default=True)
    metadata: Annotated[dict[str, Any], BeforeValidator(_json_safe)] = Field(default_factory=dict)
    active: bool = True

    @field_validator("reward_value")
    @classmethod
    def _check_value(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        reward_type = info.data.get("reward_type")
        if reward_type in REWARD_TYPES[1:3] and value <= 0:  # the discount types
            raise _fail("must be greater than 0 for a discount reward")
        if reward_type == "discount_percent_based" and value > 100:
            raise _fail("must be at most 100 for discount_percent_based")
        return value

    @field_validator("end_date")
    @classmethod
    def _check_end(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start_date")
        if end is not None and start is not None and end <= start:
            raise _fail("must be after start_date")
        return end

    @field_validator("achievement_id")
    @classmethod
    def _check_achievement(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("redemption_method") == "achievement":
            raise _fail("is required when redemption_method is achievement")
        return value


class MerchantConfig(_Strict):
    """One merchant. Required: slug, name, currency, program.
    Defaults: timezone UTC, no API keys, not on Toast, not on Shopify, no rewards.
    Reward dates without an offset (plain dates included) are read in the
    merchant's timezone, then stored in UTC."""

    slug: Annotated[
        str,
        _matching(r"[a-z0-9-]+", "must be lower-case letters, digits and hyphens"),
        StringConstraints(max_length=64),
    ]
    name: Name200
    currency: Annotated[str, _matching(r"[A-Z]{3}", "must be a three-letter ISO 4217 code in capitals, e.g. USD")]
    timezone: str = DEFAULT_TIMEZONE
    api_keys: list[Secret] = Field(default_factory=list)
    # Partner API requests per minute per key; omitted: API_RATE_LIMIT_PER_MINUTE (600).
    api_rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    program: ProgramConfig
    toast: ToastConfig | None = None
    shopify: ShopifyConfig | None = None
    loyalty: LoyaltyConfig | None = None  # the program engine (providers.md); absent: the built-in ledger
    webhooks_out: list[WebhookOut] = Field(default_factory=list)  # signed events to the merchant (events.md)
    rewards: list[RewardConfig] = Field(default_factory=list)

    @field_validator("loyalty")
    @classmethod
    def _check_loyalty_channels(cls, value: Any, info: ValidationInfo) -> Any:
        # A shopify block that failed validation is absent from info.data: reported there, not here too.
        problem = channel_problem(value, on_shopify=info.data.get("shopify", True) is not None)
        if problem:
            raise _fail(problem)
        return value

    @model_validator(mode="after")
    def _ledger_only_features(self) -> MerchantConfig:
        # Reported at the Shopify key: that is what the merchant turned on that cannot work.
        problems = ledger_only_problems(self.loyalty, self.shopify)
        if problems:
            errors = [detail("provider_managed", message, ("shopify", name)) for name, message in problems]
            raise ValidationError.from_exception_data(type(self).__name__, errors, hide_input=True)
        return self

    @field_validator("timezone", mode="before")
    @classmethod
    def _check_timezone(cls, value: Any) -> str:
        if value is None:  # `timezone:` left empty, as if omitted
            return DEFAULT_TIMEZONE
        if _zone(value) is None:
            raise _fail("must be an IANA time zone such as America/New_York")
        return value

    @model_validator(mode="before")
    @classmethod
    def _localize_reward_dates(cls, data: Any) -> Any:
        zone = _zone(data.get("timezone") or DEFAULT_TIMEZONE) if isinstance(data, dict) else None
        rewards = data.get("rewards") if zone is not None else None
        if not isinstance(rewards, list):
            return data
        return {**data, "rewards": [_localize(reward, zone) for reward in rewards]}


class MerchantsFile(_Strict):
    """The whole file. Slugs, reward uuids, shop domains, Toast restaurant
    GUIDs and API keys must be unique across it; a duplicate is reported at
    its later occurrence as `duplicate of <path of the first>`."""

    merchants: list[MerchantConfig]

    @model_validator(mode="wrap")
    @classmethod
    def _check_unique(cls, data: Any, handler: Any) -> MerchantsFile:
        errors = duplicate_errors(data)
        try:
            model = handler(data)
        except ValidationError as exc:  # keep every error, then add the duplicates
            errors[:0] = [detail(e["type"], e["msg"], e["loc"], e.get("ctx")) for e in exc.errors()]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors, hide_input=True)
        return model


def _zone(name: Any) -> tzinfo | None:
    """The zone named `name` if it is one of the IANA database's names, else None.

    `ZoneInfo` alone also opens any file under the zoneinfo directories
    (`localtime`, the host's own zone; `posix/...`, `right/...` copies with
    leap seconds), which are not zone names and differ between hosts."""
    if not isinstance(name, str) or name not in _iana_names():
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


@functools.cache
def _iana_names() -> frozenset[str]:
    # `Factory` is tzdata's placeholder for "no zone configured", not a place.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def _localize(reward: Any, zone: tzinfo) -> Any:
    if not isinstance(reward, dict):
        return reward
    keys = [key for key in ("start_date", "end_date") if key in reward]
    return {**reward, **{key: _local_instant(reward[key], zone) for key in keys}}


def _local_instant(value: Any, zone: tzinfo) -> Any:
    """Text, date or naive datetime -> datetime, in `zone` unless it has an offset."""
    try:
        value = _parse_text_instant(value) if isinstance(value, str) else value
    except ValueError:
        return value  # reported by RewardConfig
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone)
    return value
