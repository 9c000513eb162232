"""The typed configuration: ``load_config(path) -> AppConfig`` and the resolution of the secrets it names.

See docs/configuration.md for every field; ``examples/copytrader.example.toml`` is a complete example.
"""

from runtime.config.credentials import (
    ApiCredentials,
    HyperliquidCredentials,
    MissingSecretError,
    SecretReference,
    follower_credentials,
    master_credentials,
    missing_secrets,
    read_secret,
    require_secrets,
    secret_references,
)
from runtime.config.errors import ConfigError, ConfigProblem
from runtime.config.loader import load_config, parse_config
from runtime.config.model import AppConfig, FollowerConfig, LeverageConfig, MasterConfig, SizingConfig
from runtime.config.sections import (
    AlertsConfig,
    EngineConfig,
    SnsConfig,
    StateConfig,
    SymbolOverride,
    TelegramConfig,
    TwilioConfig,
    WebhookConfig,
)

__all__ = [
    "AlertsConfig",
    "ApiCredentials",
    "AppConfig",
    "ConfigError",
    "ConfigProblem",
    "EngineConfig",
    "FollowerConfig",
    "HyperliquidCredentials",
    "LeverageConfig",
    "MasterConfig",
    "MissingSecretError",
    "SecretReference",
    "SizingConfig",
    "SnsConfig",
    "StateConfig",
    "SymbolOverride",
    "TelegramConfig",
    "TwilioConfig",
    "WebhookConfig",
    "follower_credentials",
    "load_config",
    "master_credentials",
    "missing_secrets",
    "parse_config",
    "read_secret",
    "require_secrets",
    "secret_references",
]
