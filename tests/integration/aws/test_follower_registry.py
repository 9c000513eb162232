"""The follower registry in DynamoDB (moto server) and `copytrader aws followers`: add, list, pause, resume,
remove without redeploying; the pause flag is the one the executor reads through the store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.adapters.dynamodb.followers import (
    FollowerExistsError,
    FollowerNotRegisteredError,
    FollowerRegistry,
    RegistryError,
)
from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.store import DynamoDBStore
from runtime.cli.main import main
from runtime.config import FollowerConfig
from tests.integration.aws.local_aws import REGION, LocalAws, local_aws


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws() as server:
        yield server


@pytest.fixture
def tables(aws: LocalAws) -> TableNames:
    return aws.fresh_tables()


@pytest.fixture
def registry(aws: LocalAws, tables: TableNames) -> FollowerRegistry:
    return FollowerRegistry(aws.client("dynamodb"), tables.followers, clock_ms=lambda: 1_700_000_000_000)


def bybit(follower_id: str = "alice", **overrides: Any) -> FollowerConfig:
    fields: dict[str, Any] = {
        "id": follower_id,
        "venue": "bybit",
        "api_key_env": "ALICE_KEY",
        "api_secret_env": "ALICE_SECRET",
        "sizing": {"margin_pct": "0.10"},
    }
    fields.update(overrides)
    return FollowerConfig.model_validate(fields)


def hyperliquid() -> FollowerConfig:
    return FollowerConfig.model_validate(
        {
            "id": "hl-carol",
            "venue": "hyperliquid",
            "account_address": "0x" + "ab" * 20,
            "agent_private_key_env": "CAROL_AGENT_KEY",
            "sizing": {"mode": "fixed_margin", "margin_usdt": "123456789.123456789"},
            "leverage": "5",
            "max_leverage": "10",
            "symbols_allow": ["btcusdt", "ETHUSDT"],
            "max_notional_per_symbol": "0.00000001",
        }
    )


def test_put_and_get_round_trip_the_whole_config(registry: FollowerRegistry) -> None:
    for config in (bybit(), hyperliquid()):
        registry.put(config)
        stored = registry.get(config.id)
        assert stored is not None and stored.config == config
        assert stored.paused is False and stored.copying and stored.updated_ms == 1_700_000_000_000
    carol = registry.require("hl-carol").config
    assert carol.sizing.margin_usdt == Decimal("123456789.123456789")
    assert carol.max_notional_per_symbol == Decimal("0.00000001")
    assert registry.get("nobody") is None


def test_secret_id_is_recorded_when_given(registry: FollowerRegistry) -> None:
    registry.put(bybit(), secret_id="copytrader/prod/followers/alice")
    registry.put(bybit("bob"))
    assert registry.require("alice").secret_id == "copytrader/prod/followers/alice"
    assert registry.require("bob").secret_id is None


def test_adding_a_registered_id_needs_replace_and_replace_keeps_the_pause(registry: FollowerRegistry) -> None:
    registry.put(bybit())
    registry.pause("alice")
    with pytest.raises(FollowerExistsError, match="--replace"):
        registry.put(bybit(sizing={"margin_pct": "0.5"}))
    registry.put(bybit(sizing={"margin_pct": "0.5"}), replace=True)
    stored = registry.require("alice")
    assert stored.config.sizing.margin_pct == Decimal("0.5") and stored.paused is True


def test_pause_is_the_flag_the_store_reads(aws: LocalAws, tables: TableNames, registry: FollowerRegistry) -> None:
    store = DynamoDBStore(aws.client("dynamodb"), tables)
    registry.put(bybit())
    registry.pause("alice")
    assert store.is_follower_paused("alice") is True
    assert store.list_paused_followers() == ["alice"]
    registry.resume("alice")
    assert store.is_follower_paused("alice") is False
    store.set_follower_paused("alice", True)  # the kill switch through the store, e.g. from the executor's side
    assert registry.require("alice").copying_paused is True


def test_a_bare_pause_flag_is_not_a_registered_follower(
    aws: LocalAws, tables: TableNames, registry: FollowerRegistry
) -> None:
    DynamoDBStore(aws.client("dynamodb"), tables).set_follower_paused("ghost", True)
    assert registry.get("ghost") is None
    assert registry.list_followers() == []
    registry.put(bybit("ghost"))  # registering it later is allowed and keeps the flag
    assert registry.require("ghost").paused is True


def test_list_is_sorted_and_filters_followers_that_copy(registry: FollowerRegistry) -> None:
    registry.put(bybit("zed"))
    registry.put(bybit("bob", enabled=False))
    registry.put(bybit("amy", paused=True))
    registry.put(bybit("kim"))
    registry.pause("kim")
    registry.put(bybit("dan"))
    assert [f.follower_id for f in registry.list_followers()] == ["amy", "bob", "dan", "kim", "zed"]
    assert [f.follower_id for f in registry.list_followers(copying_only=True)] == ["dan", "zed"]


def test_unknown_ids_are_refused_with_the_way_out(registry: FollowerRegistry) -> None:
    for action in (registry.pause, registry.resume, registry.remove, registry.require):
        with pytest.raises(FollowerNotRegisteredError, match=r"'nobody'.*followers list"):
            action("nobody")


def test_remove_returns_the_follower_and_forgets_it(registry: FollowerRegistry) -> None:
    registry.put(bybit())
    registry.pause("alice")
    removed = registry.remove("alice")
    assert removed.config == bybit() and removed.paused is True
    assert registry.get("alice") is None
    with pytest.raises(FollowerNotRegisteredError):
        registry.remove("alice")


def test_an_invalid_stored_config_names_the_follower_and_the_fix(aws: LocalAws, registry: FollowerRegistry) -> None:
    aws.client("dynamodb").put_item(
        TableName=registry.table_name,
        Item={
            "follower_id": {"S": "broken"},
            "config": {"S": '{"id": "broken", "venue": "okx", "sizing": {"margin_pct": "0.1"}}'},
            "updated_ms": {"N": "1"},
        },
    )
    with pytest.raises(RegistryError, match=r"'broken'.*venue.*--replace"):
        registry.get("broken")


# --- the command line ---------------------------------------------------------------------------------------------
FOLLOWERS_TOML = """
[[followers]]
id = "alice"
venue = "bybit"
api_key_env = "ALICE_KEY"
api_secret_env = "ALICE_SECRET"
sizing = { margin_pct = "0.10" }

[[followers]]
id = "bob"
venue = "binance"
api_key_env = "BOB_KEY"
api_secret_env = "BOB_SECRET"
sizing = { mode = "equity_ratio", multiplier = "2" }
"""


def run_cli(aws: LocalAws, tables: TableNames, *args: str) -> int:
    return main(
        ["aws", "followers", *args, "--table", tables.followers, "--region", REGION, "--endpoint-url", aws.endpoint_url]
    )


def test_cli_add_list_pause_resume_remove(
    aws: LocalAws, tables: TableNames, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "followers.toml"
    file.write_text(FOLLOWERS_TOML)
    assert run_cli(aws, tables, "add", "--file", str(file), "--secret-prefix", "copytrader/dev/followers/") == 0
    out = capsys.readouterr().out
    assert "follower bob registered: binance, equity_ratio multiplier=2, enabled" in out
    assert "keys in secret copytrader/dev/followers/alice" in out
    assert run_cli(aws, tables, "pause", "bob") == 0
    assert "follower bob paused" in capsys.readouterr().out
    assert run_cli(aws, tables, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["alice", "bybit", "copying"]
    assert lines[2].split()[:3] == ["bob", "binance", "paused"]
    assert DynamoDBStore(aws.client("dynamodb"), tables).is_follower_paused("bob") is True
    assert run_cli(aws, tables, "resume", "bob") == 0
    assert "resumed" in capsys.readouterr().out
    assert run_cli(aws, tables, "remove", "alice") == 0
    assert "stay open" in capsys.readouterr().out
    assert run_cli(aws, tables, "list") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["bob"]


def test_cli_single_follower_file_and_replace(
    aws: LocalAws, tables: TableNames, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "carol.toml"
    file.write_text(
        'id = "carol"\nvenue = "bybit"\napi_key_env = "C_KEY"\napi_secret_env = "C_SECRET"\n'
        'sizing = { margin_pct = "0.2" }\npaused = true\n'
    )
    assert run_cli(aws, tables, "add", "--file", str(file)) == 0
    assert run_cli(aws, tables, "add", "--file", str(file)) == 2
    assert "already registered: pass --replace" in capsys.readouterr().err
    assert run_cli(aws, tables, "add", "--replace", "--file", str(file)) == 0
    assert run_cli(aws, tables, "resume", "carol") == 0
    assert "config says paused = true" in capsys.readouterr().out


def test_cli_refuses_a_bad_file_naming_the_field(
    aws: LocalAws, tables: TableNames, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(FOLLOWERS_TOML.replace('multiplier = "2"', "multiplier = 2.5"))
    assert run_cli(aws, tables, "add", "--file", str(file)) == 2
    err = capsys.readouterr().err
    assert "followers[1].sizing.multiplier" in err and "float" in err
    assert FollowerRegistry(aws.client("dynamodb"), tables.followers).list_followers() == []  # nothing half-added
    assert run_cli(aws, tables, "add", "--file", str(tmp_path / "missing.toml")) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_needs_a_table_name(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FOLLOWERS_TABLE", raising=False)
    assert main(["aws", "followers", "list"]) == 2
    assert "--table NAME or set FOLLOWERS_TABLE" in capsys.readouterr().err


def test_cli_reports_a_missing_table(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["aws", "followers", "list", "--table", "no-such-table", "--region", REGION, "--endpoint-url", aws.endpoint_url]
    )
    assert code == 2
    assert "no-such-table" in capsys.readouterr().err
