"""The smaller configuration sections: symbol overrides, alert channels, the state backend and engine tuning."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from runtime.config.fields import (
    ConfigModel,
    EnvVarName,
    LiteralSecretTrap,
    PositiveDecimal,
    Seconds,
    SecondsOrZero,
    Url,
)
from runtime.domain.symbols import SymbolMap, VenueSymbol
from runtime.domain.values import Venue

Severity = Literal["info", "warning", "critical"]


class SymbolOverride(ConfigModel):
    """A follower venue's name for a master symbol, and how many base tokens one unit of its quantity is."""

    symbol: str = Field(min_length=1)
    unit_multiplier: PositiveDecimal = Decimal(1)

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, data: object) -> object:
        # binance = "1000SHIBUSDT" is short for binance = { symbol = "1000SHIBUSDT" }.
        return {"symbol": data} if isinstance(data, str) else data


# [symbols.SHIB1000USDT] binance = "1000SHIBUSDT"; hyperliquid = { symbol = "kSHIB", unit_multiplier = "1000" }
SymbolOverrides = dict[str, dict[Venue, SymbolOverride]]


def build_symbol_map(overrides: SymbolOverrides) -> SymbolMap:
    """The engine's symbol map: these overrides first, then the built-in table, then derivation by base asset."""
    return SymbolMap(
        {
            master_symbol.upper(): {venue: VenueSymbol(o.symbol, o.unit_multiplier) for venue, o in venues.items()}
            for master_symbol, venues in overrides.items()
        }
    )


class TelegramConfig(ConfigModel):
    bot_token_env: EnvVarName = "TELEGRAM_BOT_TOKEN"
    chat_id: str
    base_url: Url = "https://api.telegram.org"
    min_severity: Severity = "warning"
    bot_token: LiteralSecretTrap = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value: object) -> object:
        # Chat ids are integers (negative for groups); TOML may give either form.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class TwilioConfig(ConfigModel):
    """SMS for critical alerts only by default: texts cost money and wake people."""

    account_sid_env: EnvVarName = "TWILIO_ACCOUNT_SID"
    auth_token_env: EnvVarName = "TWILIO_AUTH_TOKEN"
    from_number: str = Field(min_length=2)
    to_numbers: tuple[str, ...] = Field(min_length=1)
    base_url: Url = "https://api.twilio.com"
    min_severity: Severity = "critical"
    auth_token: LiteralSecretTrap = None
    account_sid: LiteralSecretTrap = None


class SnsConfig(ConfigModel):
    topic_arn: str
    region: str | None = None
    min_severity: Severity = "warning"

    @field_validator("topic_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not value.startswith("arn:") or ":sns:" not in value:
            raise PydanticCustomError(
                "arn", "must be an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:copytrader-alerts"
            )
        return value


class WebhookConfig(ConfigModel):
    """A URL that receives each alert as JSON. Chat webhooks embed a secret in the URL: prefer ``url_env`` then."""

    url: Url | None = None
    url_env: EnvVarName | None = None
    min_severity: Severity = "info"

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        if (self.url is None) == (self.url_env is None):
            raise PydanticCustomError("webhook_url", "give exactly one of url or url_env")
        return self


class AlertsConfig(ConfigModel):
    """Alert channels; every one is optional except the console, which is on unless turned off."""

    console: bool = True
    console_min_severity: Severity = "info"
    telegram: TelegramConfig | None = None
    twilio: TwilioConfig | None = None
    sns: SnsConfig | None = None
    webhook: WebhookConfig | None = None

    def channel_names(self) -> list[str]:
        names = ["console"] if self.console else []
        return names + [name for name in ("telegram", "twilio", "sns", "webhook") if getattr(self, name) is not None]


class StateConfig(ConfigModel):
    """Where claims, ratios, snapshots and alert state live. A relative ``sqlite_path`` is relative to the config
    file's directory."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    sqlite_path: str = Field(default="copytrader.db", min_length=1)
    sqlite_pool_size: int = Field(default=4, ge=1, le=64)
    dynamodb_table_prefix: str = Field(default="copytrader", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    dynamodb_region: str | None = None

    @field_validator("sqlite_path")
    @classmethod
    def _not_memory(cls, value: str) -> str:
        if value == ":memory:":
            raise PydanticCustomError(
                "sqlite_memory", "cannot be :memory: (state would vanish on exit and not be shared); give a file path"
            )
        return value


class EngineConfig(ConfigModel):
    """Tuning. Percentages here are percent (5 = 5%), unlike sizing's margin_pct, which is a fraction."""

    audit_interval_s: Seconds = 60.0
    audit_grace_s: SecondsOrZero = 60.0
    mismatch_threshold_pct: PositiveDecimal = Decimal(5)
    realert_step_pp: PositiveDecimal = Decimal(1)
    pending_fill_timeout_s: Seconds = 5.0
    heal: bool = False
