"""Deployment environments (dev, prod) read from CDK context.

cdk.json holds the settings of each environment under ``copytrader:environments``; ``-c env=prod`` picks one
(default: the ``env`` value in cdk.json). The account and region come from the CDK CLI's credentials
(CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION) or an optional ``region`` setting: no account id or secret is ever
written in the repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

ENV_CONTEXT_KEY = "env"
ENVIRONMENTS_CONTEXT_KEY = "copytrader:environments"

_MASTER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")


class ConfigError(ValueError):
    """The CDK context does not describe a usable environment; the message names the key and the fix."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between dev and prod. Field names map to camelCase keys in cdk.json."""

    name: str
    masters: tuple[str, ...] = ("main",)
    region: str | None = None
    account: str | None = None
    bybit_testnet: bool = True
    # Parallel executor invocations = followers copied at the same time (SQS event source maximum concurrency).
    executor_concurrency: int = 10
    # Parallel dispatcher invocations; FIFO never runs two batches of one master leg at once, so this only needs
    # to cover legs changing together.
    dispatcher_concurrency: int = 2
    # Reserve the same concurrency on the functions. New accounts have a limit of 10 and refuse reservations that
    # leave fewer than 10 unreserved, so dev leaves this off until the quota is raised.
    reserve_concurrency: bool = False
    audit_rate_minutes: int = 1
    log_retention_days: int = 14
    latency_alarm_ms: int = 3000
    listener_arm64: bool = True
    listener_cpu: int = 256
    listener_memory_mib: int = 512
    # Where `make lambda-asset` puts the dependencies + code; prod refuses to synthesize without it.
    lambda_build_dir: str = "build/lambda"
    require_built_lambda_asset: bool = False
    # Keep the disposable tables and the secrets too when a stack is deleted (ledger tables are always kept).
    retain_state: bool = False
    deletion_protection: bool = False
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _ENV_NAME.match(self.name):
            problems.append(f"environment name {self.name!r} must be 2-12 lowercase letters/digits (e.g. dev, prod)")
        if not self.masters:
            problems.append('masters is empty: list at least one master id, e.g. ["main"]')
        for master in self.masters:
            if not _MASTER_ID.match(master):
                problems.append(f"master id {master!r} must be lowercase letters, digits and '-', at most 31 chars")
        if len(set(self.masters)) != len(self.masters):
            problems.append(f"masters {list(self.masters)} lists a master twice")
        if not 2 <= self.executor_concurrency <= 1000:
            problems.append("executorConcurrency must be 2..1000 (the SQS event source's maximum concurrency range)")
        if not 2 <= self.dispatcher_concurrency <= 1000:
            problems.append("dispatcherConcurrency must be 2..1000 (the SQS event source's maximum concurrency range)")
        if not 1 <= self.audit_rate_minutes <= 60:
            problems.append("auditRateMinutes must be 1..60")
        if self.log_retention_days not in _LOG_RETENTION_DAYS:
            problems.append(f"logRetentionDays must be one of {sorted(_LOG_RETENTION_DAYS)} (CloudWatch Logs values)")
        if self.latency_alarm_ms <= 0:
            problems.append("latencyAlarmMs must be positive")
        if (self.listener_cpu, self.listener_memory_mib) not in _FARGATE_SIZES:
            problems.append(
                f"listenerCpu/listenerMemoryMib {self.listener_cpu}/{self.listener_memory_mib} is not a Fargate size; "
                f"use one of {sorted(_FARGATE_SIZES)}"
            )
        if problems:
            raise ConfigError(f"environment {self.name!r} in cdk.json context is invalid: " + "; ".join(problems))

    @property
    def prefix(self) -> str:
        return f"copytrader-{self.name}"

    @property
    def stack_prefix(self) -> str:
        return f"CopyTrader-{self.name}"


_LOG_RETENTION_DAYS = frozenset({1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653})
_FARGATE_SIZES = frozenset({(256, 512), (256, 1024), (256, 2048), (512, 1024), (512, 2048), (1024, 2048)})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_SETTABLE = {_camel(f.name): f.name for f in fields(EnvironmentConfig) if f.name not in ("name", "account")}


def parse_environment(name: str, raw: Mapping[str, Any], *, account: str | None = None) -> EnvironmentConfig:
    """Build one environment from its cdk.json mapping; unknown keys and wrong types are errors (typos would
    otherwise silently deploy the defaults)."""
    unknown = sorted(set(raw) - set(_SETTABLE))
    if unknown:
        raise ConfigError(
            f"environment {name!r} in cdk.json context has unknown keys {unknown}; known keys: {sorted(_SETTABLE)}"
        )
    defaults = EnvironmentConfig(name="dev")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        attr = _SETTABLE[key]
        values[attr] = _coerce(name, key, value, getattr(defaults, attr))
    return EnvironmentConfig(name=name, account=account, **values)


def _coerce(env_name: str, key: str, value: Any, default: Any) -> Any:
    where = f"environment {env_name!r}, key {key!r}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{where}: expected an object of string values, got {value!r}")
        return dict(value)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def load_config(get_context: Callable[[str], Any], environ: Mapping[str, str] | None = None) -> EnvironmentConfig:
    """The environment selected by the ``env`` context key. ``get_context`` is ``app.node.try_get_context``."""
    env = os.environ if environ is None else environ
    environments = get_context(ENVIRONMENTS_CONTEXT_KEY)
    if not isinstance(environments, dict) or not environments:
        raise ConfigError(
            f"CDK context {ENVIRONMENTS_CONTEXT_KEY!r} is missing or empty: run from the repository root so cdk.json "
            "is read, or pass the environments with -c"
        )
    name = get_context(ENV_CONTEXT_KEY) or "dev"
    if name not in environments:
        raise ConfigError(f"unknown environment {name!r}: choose one of {sorted(environments)} with -c env=NAME")
    raw = environments[name]
    if not isinstance(raw, dict):
        raise ConfigError(f"environment {name!r} in cdk.json context must be an object, got {raw!r}")
    config = parse_environment(name, raw, account=env.get("CDK_DEFAULT_ACCOUNT") or None)
    if config.region is None and env.get("CDK_DEFAULT_REGION"):
        config = replace(config, region=env["CDK_DEFAULT_REGION"])
    return config
