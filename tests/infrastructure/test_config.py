"""Environments from CDK context: cdk.json's dev and prod parse, and every mistake is refused with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app_builder import read_cdk_json_context
from infra.config import ConfigError, load_config, parse_environment


def _context(**values: Any) -> dict[str, Any]:
    return {"copytrader:environments": {"dev": {}, "prod": {"masters": ["alpha", "beta"]}}, **values}


def test_cdk_json_environments_parse_with_the_intended_differences() -> None:
    context = read_cdk_json_context()
    dev = load_config(context.get, {})
    prod = load_config({**context, "env": "prod"}.get, {})
    assert (dev.name, prod.name) == ("dev", "prod")
    assert dev.bybit_testnet and not prod.bybit_testnet
    assert prod.reserve_concurrency and not dev.reserve_concurrency
    assert prod.require_built_lambda_asset and not dev.require_built_lambda_asset
    assert prod.retain_state and prod.deletion_protection
    assert dev.account is None and dev.region is None  # nothing account-specific in the repository


def test_account_and_region_come_from_the_cdk_cli_environment() -> None:
    config = load_config(_context(env="prod").get, {"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "x"})
    assert (config.account, config.region, config.masters) == ("123456789012", "x", ("alpha", "beta"))


def test_region_setting_wins_over_the_cli_default() -> None:
    context = {"copytrader:environments": {"dev": {"region": "eu-central-1"}}}
    assert load_config(context.get, {"CDK_DEFAULT_REGION": "us-east-1"}).region == "eu-central-1"


def test_unknown_environment_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'staging'.*\['dev', 'prod'\].*-c env=NAME"):
        load_config(_context(env="staging").get, {})


def test_missing_environments_say_to_run_from_the_repository_root() -> None:
    empty: dict[str, Any] = {}
    with pytest.raises(ConfigError, match="run from the repository root"):
        load_config(empty.get, {})


def test_a_typo_in_a_key_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigError, match=r"unknown keys \['executorConcurency'\]"):
        parse_environment("dev", {"executorConcurency": 4})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"reserveConcurrency": "yes"}, "expected true or false"),
        ({"executorConcurrency": 1}, "executorConcurrency must be 2..1000"),
        ({"executorConcurrency": True}, "expected a whole number"),
        ({"masters": []}, "masters is empty"),
        ({"masters": ["Main Account"]}, "master id 'Main Account'"),
        ({"masters": ["a", "a"]}, "lists a master twice"),
        ({"logRetentionDays": 10}, "logRetentionDays must be one of"),
        ({"listenerCpu": 256, "listenerMemoryMib": 4096}, "is not a Fargate size"),
        ({"auditRateMinutes": 0}, "auditRateMinutes must be 1..60"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_environment("dev", raw)
