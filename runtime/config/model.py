"""The typed configuration: the master, the followers with their sizing and limits, and the top-level ``AppConfig``.

Credentials are never values here, only the names of the environment variables that hold them
(``runtime.config.credentials`` reads them). Numbers are exact ``Decimal``; see ``runtime.config.fields``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from runtime.config.fields import (
    ConfigModel,
    EnvVarName,
    Identifier,
    LiteralSecretTrap,
    PositiveDecimal,
    Url,
)
from runtime.config.sections import AlertsConfig, EngineConfig, StateConfig, SymbolOverrides, build_symbol_map
from runtime.domain.sizing import EquityRatio, FixedMargin, MarginRatio, SizingError, SizingRule
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionMode, Venue, decimal_str

_HL_ADDRESS_LENGTH = 42  # 0x + 40 hex digits


def field_error(field: str, detail: str) -> PydanticCustomError:
    """An error about ``field`` found by a model-level check; the loader appends ``field`` to the model's path."""
    return PydanticCustomError("config_field", "{detail}", {"field": field, "detail": detail})


SizingMode = Literal["margin_ratio", "equity_ratio", "fixed_margin"]
_SIZING_PARAMETER: dict[str, str] = {
    "margin_ratio": "margin_pct",
    "equity_ratio": "multiplier",
    "fixed_margin": "margin_usdt",
}
_SIZING_EXAMPLE = {"margin_pct": '"0.10"', "multiplier": '"1"', "margin_usdt": '"100"'}


class SizingConfig(ConfigModel):
    """How a follower's copy ratio k is computed (docs/sizing.md): one mode and that mode's one parameter."""

    mode: SizingMode = "margin_ratio"
    margin_pct: PositiveDecimal | None = None  # fraction of follower equity: 0.10 = 10%
    multiplier: PositiveDecimal | None = None
    margin_usdt: PositiveDecimal | None = None

    @model_validator(mode="after")
    def _one_parameter_for_the_mode(self) -> SizingConfig:
        wanted = _SIZING_PARAMETER[self.mode]
        for mode, parameter in _SIZING_PARAMETER.items():
            given = getattr(self, parameter) is not None
            if parameter == wanted and not given:
                raise field_error(
                    parameter,
                    f"is required for sizing mode {mode}: add {parameter} = {_SIZING_EXAMPLE[parameter]}",
                )
            if parameter != wanted and given:
                raise field_error(
                    parameter, f'belongs to sizing mode {mode}, not {self.mode}: remove it or set mode = "{mode}"'
                )
        try:
            self.rule()
        except SizingError as exc:
            # The domain names the parameter "margin_ratio.margin_pct ..."; the loader already prints the path.
            message = str(exc).removeprefix(f"{self.mode}.{wanted} ")
            raise field_error(wanted, message) from None
        return self

    def rule(self) -> SizingRule:
        """The domain sizing rule (``runtime.domain.sizing``) this section describes."""
        if self.mode == "margin_ratio":
            assert self.margin_pct is not None
            return MarginRatio(self.margin_pct)
        if self.mode == "equity_ratio":
            assert self.multiplier is not None
            return EquityRatio(self.multiplier)
        assert self.margin_usdt is not None
        return FixedMargin(self.margin_usdt)

    def describe(self) -> str:
        parameter = _SIZING_PARAMETER[self.mode]
        value = getattr(self, parameter)
        return f"{self.mode} {parameter}={decimal_str(value)}"


class LeverageConfig(ConfigModel):
    """``follow`` copies the master's leverage (capped by ``max_leverage``); ``fixed`` always uses ``value``."""

    mode: Literal["follow", "fixed"] = "follow"
    value: PositiveDecimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        # leverage = "follow" or leverage = 5 / "5" (fixed) are accepted besides the table form.
        if isinstance(data, str) and data.strip().lower() in ("follow", "fixed"):
            return {"mode": data.strip().lower()}
        if isinstance(data, (str, int, float)) and not isinstance(data, bool):
            return {"mode": "fixed", "value": data}
        return data

    @model_validator(mode="after")
    def _value_matches_mode(self) -> LeverageConfig:
        if self.mode == "fixed" and self.value is None:
            raise field_error("value", 'is required when leverage mode is fixed, e.g. leverage = "5"')
        if self.mode == "follow" and self.value is not None:
            raise field_error("value", 'is only used with mode = "fixed"; remove it to follow the master')
        return self


class MasterConfig(ConfigModel):
    """The Bybit account being copied. ``position_mode`` is a hint; ``auto`` reads it from the account."""

    id: Identifier = "master"
    venue: Literal["bybit"] = "bybit"
    api_key_env: EnvVarName = "BYBIT_MASTER_API_KEY"
    api_secret_env: EnvVarName = "BYBIT_MASTER_API_SECRET"
    position_mode: Literal["auto", "one_way", "hedge"] = "auto"
    rest_url: Url | None = None
    ws_url: Url | None = None
    api_key: LiteralSecretTrap = None
    api_secret: LiteralSecretTrap = None

    @property
    def position_mode_hint(self) -> PositionMode | None:
        return None if self.position_mode == "auto" else PositionMode(self.position_mode)


class FollowerConfig(ConfigModel):
    """One follower account. Bybit and Binance use an API key + secret; Hyperliquid uses the account's address and
    an API (agent) wallet's private key."""

    id: Identifier
    venue: Venue
    sizing: SizingConfig
    enabled: bool = True
    paused: bool = False
    api_key_env: EnvVarName | None = None
    api_secret_env: EnvVarName | None = None
    account_address: str | None = None
    account_address_env: EnvVarName | None = None
    agent_private_key_env: EnvVarName | None = None
    position_mode: PositionMode = PositionMode.ONE_WAY
    symbols_allow: tuple[str, ...] = ()
    symbols_deny: tuple[str, ...] = ()
    max_notional_per_symbol: PositiveDecimal | None = None
    max_leverage: PositiveDecimal | None = None
    leverage: LeverageConfig = Field(default_factory=LeverageConfig)
    rest_url: Url | None = None
    ws_url: Url | None = None
    api_key: LiteralSecretTrap = None
    api_secret: LiteralSecretTrap = None
    agent_private_key: LiteralSecretTrap = None
    private_key: LiteralSecretTrap = None

    @field_validator("symbols_allow", "symbols_deny")
    @classmethod
    def _upper_symbols(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(symbol.strip().upper() for symbol in symbols)

    @field_validator("account_address")
    @classmethod
    def _address_format(cls, address: str | None) -> str | None:
        if address is None:
            return None
        hex_part = address[2:]
        if len(address) != _HL_ADDRESS_LENGTH or not address.startswith("0x") or not _is_hex(hex_part):
            raise PydanticCustomError("address", "must be the account's public address: 0x followed by 40 hex digits")
        return address.lower()

    @model_validator(mode="after")
    def _venue_rules(self) -> FollowerConfig:
        if self.venue is Venue.HYPERLIQUID:
            self._check_hyperliquid()
        else:
            self._check_api_key_venue()
        both = sorted(set(self.symbols_allow) & set(self.symbols_deny))
        if both:
            raise field_error("symbols_deny", f"lists {', '.join(both)}, also in symbols_allow; keep each in one list")
        cap, fixed = self.max_leverage, self.leverage.value
        if self.leverage.mode == "fixed" and cap is not None and fixed is not None and fixed > cap:
            raise field_error(
                "leverage.value",
                f"{decimal_str(fixed)} is above max_leverage {decimal_str(cap)}; lower one of them",
            )
        return self

    def _check_api_key_venue(self) -> None:
        venue = self.venue.value
        for name in ("api_key_env", "api_secret_env"):
            if getattr(self, name) is None:
                what = "API key" if name == "api_key_env" else "API secret"
                example = f"{self.id.upper().replace('-', '_').replace('.', '_')}_{name[:-4].upper()}"
                raise field_error(
                    name,
                    f"is required for a {venue} follower: name the environment variable holding its {what}, "
                    f'e.g. {name} = "{example}"',
                )
        for name in ("account_address", "account_address_env", "agent_private_key_env"):
            if getattr(self, name) is not None:
                raise field_error(
                    name, f"is for hyperliquid followers; a {venue} follower uses api_key_env and api_secret_env"
                )

    def _check_hyperliquid(self) -> None:
        for name in ("api_key_env", "api_secret_env"):
            if getattr(self, name) is not None:
                raise field_error(
                    name,
                    "is not used by hyperliquid: give account_address (or account_address_env) "
                    "and agent_private_key_env",
                )
        if (self.account_address is None) == (self.account_address_env is None):
            raise field_error(
                "account_address",
                "a hyperliquid follower needs exactly one of account_address (the public 0x address of the account "
                "being traded) or account_address_env",
            )
        if self.agent_private_key_env is None:
            raise field_error(
                "agent_private_key_env",
                "is required for a hyperliquid follower: name the environment variable holding the API (agent) "
                'wallet\'s private key, e.g. agent_private_key_env = "HL_AGENT_PRIVATE_KEY"',
            )
        if self.position_mode is PositionMode.HEDGE:
            raise field_error("position_mode", 'hyperliquid has one-way positions only; use "one_way"')

    def allows_symbol(self, master_symbol: str) -> bool:
        """Whether this follower copies the master's ``master_symbol`` (deny wins; an empty allow list allows all)."""
        symbol = master_symbol.upper()
        if symbol in self.symbols_deny:
            return False
        return not self.symbols_allow or symbol in self.symbols_allow


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


class AppConfig(ConfigModel):
    """The whole configuration file."""

    master: MasterConfig = Field(default_factory=MasterConfig)
    followers: tuple[FollowerConfig, ...]
    symbols: SymbolOverrides = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @field_validator("followers")
    @classmethod
    def _at_least_one(cls, followers: tuple[FollowerConfig, ...]) -> tuple[FollowerConfig, ...]:
        # A check after validation, not min_length: that would also complain when a follower is merely invalid.
        if not followers:
            raise PydanticCustomError("no_followers", "needs at least one follower: add a [[followers]] table")
        return followers

    @model_validator(mode="after")
    def _unique_ids(self) -> AppConfig:
        seen: dict[str, int] = {}
        for index, follower in enumerate(self.followers):
            if follower.id in seen:
                raise field_error(
                    f"followers[{index}].id",
                    f"'{follower.id}' is already the id of followers[{seen[follower.id]}]; every follower needs "
                    "its own id (it keys the follower's claims, ratios and alerts in the state store)",
                )
            if follower.id == self.master.id:
                raise field_error(f"followers[{index}].id", f"'{follower.id}' is the master's id; pick another")
            seen[follower.id] = index
        return self

    @property
    def enabled_followers(self) -> tuple[FollowerConfig, ...]:
        return tuple(follower for follower in self.followers if follower.enabled)

    def follower(self, follower_id: str) -> FollowerConfig:
        for follower in self.followers:
            if follower.id == follower_id:
                return follower
        raise KeyError(f"no follower with id {follower_id!r} in the config")

    def symbol_map(self) -> SymbolMap:
        return build_symbol_map(self.symbols)
