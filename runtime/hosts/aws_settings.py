"""The AWS components' environment, typed: one pydantic model over the variables ``infra/contract.py`` names
(read through the runtime's copy of them, ``aws_names``).

Validated once, when the composition root is first built (never at import). Every component gets only its own
subset from the stacks (docs/deploy.md, "Environment variables"), so every component-specific value is optional
here and ``require`` names a missing one together with who is supposed to set it.

Plain pydantic rather than pydantic-settings: the Lambda asset ships only ``requirements.txt``, and reading a
mapping is all this needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from runtime.adapters.dynamodb.schema import TABLES, TableNames
from runtime.hosts import aws_names as names

# Optional variables the stacks do not set (local runs, the local AWS host, tests).
AUDIT_HEAL = "AUDIT_HEAL"
SECRET_CACHE_SECONDS = "SECRET_CACHE_SECONDS"
TELEGRAM_API_URL = "TELEGRAM_API_URL"
TWILIO_API_URL = "TWILIO_API_URL"
MASTER_REST_URL = "MASTER_REST_URL"  # the listener against a simulator instead of Bybit
MASTER_WS_URL = "MASTER_WS_URL"

_WHO_SETS = {
    names.MASTER_CHANGES_QUEUE_URL: "the compute stack sets it on the listener",
    names.FOLLOWER_ORDERS_QUEUE_URL: "the compute stack sets it on the dispatcher and the audit",
    names.ALERTS_TOPIC_ARN: "the compute stack sets it on the executor, the audit and the listener",
    names.FOLLOWER_SECRET_PREFIX: "the compute stack sets it on the executor and the audit",
    names.MASTER_API_KEY: "ECS injects it into the listener from the master's secret",
    names.MASTER_API_SECRET: "ECS injects it into the listener from the master's secret",
}


class AwsSettingsError(ValueError):
    """The environment holds a value that cannot be used; the message names each variable and what is wrong."""


class MissingSettingError(LookupError):
    """A component needs an environment variable that is not set."""

    def __init__(self, env_var: str, purpose: str) -> None:
        who = _WHO_SETS.get(env_var, "set it in the function's or the task's environment")
        super().__init__(f"environment variable {env_var} is not set; {purpose} needs it ({who})")
        self.env_var = env_var


class AwsSettings(BaseModel):
    """Field aliases are the environment variable names; ``from_environ`` reads them."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    env_name: str = Field("dev", alias=names.ENV_NAME)
    master_id: str = Field("main", alias=names.MASTER_ID)
    master_changes_queue_url: str | None = Field(None, alias=names.MASTER_CHANGES_QUEUE_URL)
    follower_orders_queue_url: str | None = Field(None, alias=names.FOLLOWER_ORDERS_QUEUE_URL)
    alerts_topic_arn: str | None = Field(None, alias=names.ALERTS_TOPIC_ARN)
    follower_secret_prefix: str | None = Field(None, alias=names.FOLLOWER_SECRET_PREFIX)
    telegram_secret_arn: str | None = Field(None, alias=names.TELEGRAM_SECRET_ARN)
    twilio_secret_arn: str | None = Field(None, alias=names.TWILIO_SECRET_ARN)
    bybit_testnet: bool = Field(False, alias=names.BYBIT_TESTNET)
    heartbeat_file: str = Field(names.HEARTBEAT_PATH, alias=names.LISTENER_HEARTBEAT_FILE)
    master_api_key: SecretStr | None = Field(None, alias=names.MASTER_API_KEY)
    master_api_secret: SecretStr | None = Field(None, alias=names.MASTER_API_SECRET)
    master_rest_url: str | None = Field(None, alias=MASTER_REST_URL)
    master_ws_url: str | None = Field(None, alias=MASTER_WS_URL)
    audit_heal: bool = Field(False, alias=AUDIT_HEAL)
    secret_cache_s: float = Field(300.0, ge=0, alias=SECRET_CACHE_SECONDS)
    telegram_api_url: str = Field("https://api.telegram.org", alias=TELEGRAM_API_URL)
    twilio_api_url: str = Field("https://api.twilio.com", alias=TWILIO_API_URL)
    tables: dict[str, str] = Field(default_factory=dict)  # env var -> physical name, only those that are set

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An empty variable means "not set" (a stack or a shell may export NAME= without a value).
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {name: value for name, value in env.items() if value.strip()}
        values["tables"] = {table.env_var: env[table.env_var] for table in TABLES if env.get(table.env_var, "").strip()}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
            )
            raise AwsSettingsError(f"invalid AWS environment: {problems}") from None

    def require(self, field_name: str, purpose: str) -> str:
        """The value of ``field_name`` (a string field), or ``MissingSettingError`` naming its variable."""
        value = getattr(self, field_name)
        if value is None:
            alias = type(self).model_fields[field_name].alias or field_name
            raise MissingSettingError(alias, purpose)
        return str(value)

    def table_names(self) -> TableNames:
        """Every table name; a table this component was not given gets a name that says so, and any request to it
        fails with a StoreError naming that (nonexistent) table instead of touching another component's table."""
        return TableNames(*(self.tables.get(table.env_var, f"unset-{table.env_var}") for table in TABLES))
