"""Merchant onboarding config: parse, interpolate and validate `MERCHANTS_CONFIG`.

`parse_config` / `load_config_file` return a `MerchantsFile` or raise
`ConfigError` with every problem as a `path: message` line.
"""

from .interpolate import InterpolationError, interpolate
from .loader import ConfigError, fallback_secrets, load_config_file, parse_config
from .schema import (
    ELIGIBLE_SPENDS,
    REDEMPTION_METHODS,
    REWARD_TYPES,
    ROUNDINGS,
    MerchantConfig,
    MerchantsFile,
    ProgramConfig,
    RewardConfig,
    ShopifyAdminApiConfig,
    ShopifyConfig,
    TierConfig,
    ToastApiConfig,
    ToastConfig,
)

__all__ = [
    "ConfigError",
    "ELIGIBLE_SPENDS",
    "fallback_secrets",
    "InterpolationError",
    "MerchantConfig",
    "MerchantsFile",
    "ProgramConfig",
    "REDEMPTION_METHODS",
    "REWARD_TYPES",
    "ROUNDINGS",
    "RewardConfig",
    "ShopifyAdminApiConfig",
    "ShopifyConfig",
    "TierConfig",
    "ToastApiConfig",
    "ToastConfig",
    "interpolate",
    "load_config_file",
    "parse_config",
]
