"""Resolving the secrets a config refers to: each ``*_env`` field names an environment variable holding it.

Values are wrapped in pydantic's ``SecretStr`` so a repr, a log line or a traceback shows ``**********``; call
``get_secret_value()`` only where the exchange client needs the raw key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from runtime.config.errors import ConfigError, ConfigProblem
from runtime.config.model import AppConfig, FollowerConfig
from runtime.domain.values import Venue


@dataclass(frozen=True)
class SecretReference:
    """One environment variable the config refers to: who uses it, for what, and where the config names it."""

    owner: str  # "master", a follower id, or "alerts.telegram" ...
    purpose: str  # "api_key", "api_secret", "agent_private_key", "account_address", "bot_token", ...
    field: str  # the config path that names it, e.g. "followers[1].api_secret_env"
    env_var: str


class MissingSecretError(ConfigError):
    """One or more referenced environment variables are unset or empty."""

    def __init__(self, missing: list[SecretReference]) -> None:
        super().__init__(
            None,
            [
                ConfigProblem(
                    ref.field,
                    f"environment variable {ref.env_var} is not set (the {ref.purpose} of "
                    f"{ref.owner}); export it before starting copytrader",
                )
                for ref in missing
            ],
        )
        self.missing = tuple(missing)


@dataclass(frozen=True)
class ApiCredentials:
    """A Bybit or Binance API key pair."""

    api_key: SecretStr
    api_secret: SecretStr


@dataclass(frozen=True)
class HyperliquidCredentials:
    """The traded account's public address and the API (agent) wallet's private key that signs for it."""

    account_address: str
    agent_private_key: SecretStr


def secret_references(config: AppConfig, *, enabled_only: bool = True) -> list[SecretReference]:
    """Every environment variable the config needs (of enabled followers only, by default)."""
    refs = [
        SecretReference("master", "api_key", "master.api_key_env", config.master.api_key_env),
        SecretReference("master", "api_secret", "master.api_secret_env", config.master.api_secret_env),
    ]
    for index, follower in enumerate(config.followers):
        if follower.enabled or not enabled_only:
            refs.extend(_follower_references(follower, f"followers[{index}]"))
    alerts = config.alerts
    if alerts.telegram is not None:
        refs.append(
            SecretReference(
                "alerts.telegram", "bot_token", "alerts.telegram.bot_token_env", alerts.telegram.bot_token_env
            )
        )
    if alerts.twilio is not None:
        refs.append(
            SecretReference(
                "alerts.twilio", "account_sid", "alerts.twilio.account_sid_env", alerts.twilio.account_sid_env
            )
        )
        refs.append(
            SecretReference("alerts.twilio", "auth_token", "alerts.twilio.auth_token_env", alerts.twilio.auth_token_env)
        )
    if alerts.webhook is not None and alerts.webhook.url_env is not None:
        refs.append(SecretReference("alerts.webhook", "url", "alerts.webhook.url_env", alerts.webhook.url_env))
    return refs


def _follower_references(follower: FollowerConfig, where: str) -> list[SecretReference]:
    names = ("account_address_env", "agent_private_key_env", "api_key_env", "api_secret_env")
    return [
        SecretReference(follower.id, name.removesuffix("_env"), f"{where}.{name}", getattr(follower, name))
        for name in names
        if getattr(follower, name) is not None
    ]


def missing_secrets(
    config: AppConfig, environ: Mapping[str, str] | None = None, *, enabled_only: bool = True
) -> list[SecretReference]:
    """The references whose environment variable is unset or empty."""
    env = os.environ if environ is None else environ
    return [ref for ref in secret_references(config, enabled_only=enabled_only) if not env.get(ref.env_var, "").strip()]


def require_secrets(config: AppConfig, environ: Mapping[str, str] | None = None) -> None:
    """Raise ``MissingSecretError`` listing every missing variable at once (so one run tells the whole story)."""
    missing = missing_secrets(config, environ)
    if missing:
        raise MissingSecretError(missing)


def read_secret(ref: SecretReference, environ: Mapping[str, str] | None = None) -> SecretStr:
    env = os.environ if environ is None else environ
    value = env.get(ref.env_var, "").strip()
    if not value:
        raise MissingSecretError([ref])
    return SecretStr(value)


def _by_purpose(refs: list[SecretReference], environ: Mapping[str, str] | None) -> dict[str, SecretStr]:
    env = os.environ if environ is None else environ
    missing = [ref for ref in refs if not env.get(ref.env_var, "").strip()]
    if missing:
        raise MissingSecretError(missing)
    return {ref.purpose: SecretStr(env[ref.env_var].strip()) for ref in refs}


def master_credentials(config: AppConfig, environ: Mapping[str, str] | None = None) -> ApiCredentials:
    refs = [ref for ref in secret_references(config) if ref.owner == "master"]
    values = _by_purpose(refs, environ)
    return ApiCredentials(values["api_key"], values["api_secret"])


def follower_credentials(
    config: AppConfig, follower_id: str, environ: Mapping[str, str] | None = None
) -> ApiCredentials | HyperliquidCredentials:
    """The follower's credentials; raises ``MissingSecretError`` naming each unset variable."""
    follower = config.follower(follower_id)
    index = config.followers.index(follower)
    values = _by_purpose(_follower_references(follower, f"followers[{index}]"), environ)
    if follower.venue is Venue.HYPERLIQUID:
        address = follower.account_address
        if address is None:
            address = values["account_address"].get_secret_value().lower()
        return HyperliquidCredentials(address, values["agent_private_key"])
    return ApiCredentials(values["api_key"], values["api_secret"])
