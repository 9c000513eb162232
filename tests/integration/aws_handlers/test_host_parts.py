"""The AWS host's small parts without AWS: settings, secret shapes, the start-up catch-up, the heartbeat, SNS
parsing, the retry decision, and that the runtime's copy of the contract names agrees with infra/contract.py."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from infra import contract
from runtime.config.credentials import ApiCredentials, HyperliquidCredentials
from runtime.config.model import FollowerConfig
from runtime.domain.correlator_state import MasterLegState
from runtime.domain.events import ChangeKind, Lifecycle
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.hosts import aws_names
from runtime.hosts.aws_execute import is_retryable
from runtime.hosts.aws_listener import Heartbeat, stale_open_symbols, startup_changes
from runtime.hosts.aws_notify import ALARM_KIND, alert_from_sns
from runtime.hosts.aws_observability import CopyMetrics
from runtime.hosts.aws_secrets import SecretError, follower_credentials, parse_secret
from runtime.hosts.aws_settings import AwsSettings, AwsSettingsError, MissingSettingError
from runtime.listener.stream_stats import StreamStats
from runtime.ports.store import MasterSnapshot
from runtime.services.alerts.model import Severity
from runtime.services.jobs import JobOutcome, OrderRecord, OrderStatus, SkipReason

LIFE = Lifecycle("BTCUSDT:0:10", Decimal(600), Decimal(10000), 10)


def test_the_runtime_copy_of_the_contract_names_agrees_with_infra() -> None:
    for name in (
        "ENV_NAME", "MASTER_ID", "ALERTS_TOPIC_ARN", "FOLLOWER_SECRET_PREFIX", "MASTER_API_KEY", "MASTER_API_SECRET",
        "BYBIT_TESTNET", "LISTENER_HEARTBEAT_FILE", "TELEGRAM_SECRET_ARN", "TWILIO_SECRET_ARN", "HEARTBEAT_PATH",
        "METRICS_NAMESPACE", "HOP_DIMENSION", "MASTER_DIMENSION", "COPY_LATENCY_MS", "ORDERS_PLACED",
        "ORDERS_REFUSED", "ORDERS_FAILED", "AUDIT_DISCREPANCIES", "STREAM_RECONNECTS", "GAP_REPLAYS",
        "LISTENER_HEARTBEAT",
    ):  # fmt: skip
        assert getattr(aws_names, name) == getattr(contract, name), name
    assert contract.MASTER_CHANGES.url_env_var == aws_names.MASTER_CHANGES_QUEUE_URL
    assert contract.FOLLOWER_ORDERS.url_env_var == aws_names.FOLLOWER_ORDERS_QUEUE_URL
    assert [hop.value for hop in aws_names.Hop] == [hop.value for hop in contract.Hop]


def test_settings_read_the_stack_variables_and_name_what_is_missing() -> None:
    settings = AwsSettings.from_environ(
        {"CLAIMS_TABLE": "c", "BYBIT_TESTNET": "true", "AUDIT_HEAL": "", "FOLLOWER_SECRET_PREFIX": "p/"}
    )
    assert (settings.bybit_testnet, settings.audit_heal, settings.master_id) == (True, False, "main")
    assert settings.table_names().claims == "c"
    assert settings.table_names().followers == "unset-FOLLOWERS_TABLE"
    with pytest.raises(MissingSettingError, match="FOLLOWER_ORDERS_QUEUE_URL is not set; the dispatcher needs it"):
        settings.require("follower_orders_queue_url", "the dispatcher")
    with pytest.raises(AwsSettingsError, match="BYBIT_TESTNET"):
        AwsSettings.from_environ({"BYBIT_TESTNET": "perhaps"})


def bybit_follower() -> FollowerConfig:
    return FollowerConfig.model_validate(
        {
            "id": "a",
            "venue": "bybit",
            "sizing": {"mode": "margin_ratio", "margin_pct": "0.1"},
            "api_key_env": "K",
            "api_secret_env": "S",
        }
    )


def test_secret_shapes_per_venue() -> None:
    keys = follower_credentials(bybit_follower(), "s", {"api_key": "k", "api_secret": "x"})
    assert isinstance(keys, ApiCredentials) and keys.api_key.get_secret_value() == "k"
    sizing = {"mode": "margin_ratio", "margin_pct": "0.1"}
    hl = FollowerConfig.model_validate(
        {"id": "h", "venue": "hyperliquid", "sizing": sizing, "account_address_env": "A", "agent_private_key_env": "P"}
    )
    wallet = follower_credentials(hl, "s", {"account_address": "0xABC", "agent_private_key": "0x1"})
    assert isinstance(wallet, HyperliquidCredentials) and wallet.account_address == "0xabc"
    with pytest.raises(SecretError, match="lacks api_secret"):
        follower_credentials(bybit_follower(), "copytrader/dev/followers/a", {"api_key": "k"})
    with pytest.raises(SecretError, match="not a JSON object"):
        parse_secret("s", "REPLACE_MEabc")
    assert parse_secret("s", json.dumps({"to_numbers": ["+1", "+2"]})) == {"to_numbers": "+1,+2"}


def snapshot(size: str, seq: int, leverage: str = "10") -> MasterSnapshot:
    return MasterSnapshot(
        "main", "BTCUSDT", PositionIdx.ONE_WAY, seq, Decimal(size), Decimal(60), Decimal(leverage), Decimal(60000),
        LIFE if Decimal(size) != 0 else None, 1, 1,
    )  # fmt: skip


def leg(size: str, seq: int, leverage: str = "10", symbol: str = "BTCUSDT") -> MasterLegState:
    lifecycle = Lifecycle(f"{symbol}:0:{seq}", Decimal(60), Decimal(10000), seq) if Decimal(size) else None
    return MasterLegState(
        LegKey(symbol, PositionIdx.ONE_WAY), Decimal(size), seq, Decimal(60), Decimal(leverage), Decimal(60000),
        Decimal(60000), lifecycle,
    )  # fmt: skip


def test_startup_catch_up_sends_what_changed_while_no_listener_ran() -> None:
    stored = [snapshot("0.1", 10)]
    assert startup_changes("main", stored, [leg("0.1", 10)]) == []  # nothing new
    assert startup_changes("main", stored, [leg("0.1", 12)]) == []  # a newer seq, same size and leverage

    [closed] = startup_changes("main", stored, [leg("0", 12)])
    assert (closed.kind, closed.prev_size, closed.lifecycle) == (ChangeKind.FULL_CLOSE, Decimal("0.1"), LIFE)

    [flipped] = startup_changes("main", stored, [leg("-0.2", 13)])
    assert flipped.kind is ChangeKind.FLIP and flipped.previous_lifecycle_id == LIFE.id

    [opened] = startup_changes("main", [], [leg("0.5", 3, symbol="ETHUSDT")])
    assert (opened.kind, opened.symbol, opened.seq) == (ChangeKind.OPEN, "ETHUSDT", 3)

    [lever] = startup_changes("main", stored, [leg("0.1", 11, leverage="5")])
    assert lever.kind is ChangeKind.LEVERAGE_ONLY

    assert stale_open_symbols([*stored, snapshot("0", 5)], [leg("0.5", 3, symbol="ETHUSDT")]) == ["BTCUSDT"]


def test_the_heartbeat_touches_its_file_and_reports_reconnects_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = StreamStats(master="main")
    now = [100.0]
    beat = Heartbeat(tmp_path / "hb", "main", CopyMetrics(), lambda: stats, metric_interval_s=60, clock=lambda: now[0])
    stats.reconnects, stats.gap_replays = 2, 3
    beat.beat()
    os.utime(tmp_path / "hb", (0, 0))
    now[0] += 10
    beat.beat()  # within the minute: the file is touched, no metrics
    assert (tmp_path / "hb").stat().st_mtime > 0
    now[0] += 60
    stats.reconnects = 3
    beat.beat()

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("ListenerHeartbeat") for line in lines if "ListenerHeartbeat" in line] == [[1.0], [1.0]]
    assert [line["Master"] for line in lines if "ListenerHeartbeat" in line] == ["main", "main"]
    assert [line["StreamReconnects"] for line in lines if "StreamReconnects" in line] == [[2.0], [1.0]]
    assert [line["GapReplays"] for line in lines if "GapReplays" in line] == [[3.0], [0.0]]


def test_sns_messages_become_alerts() -> None:
    alarm = alert_from_sns({"Message": json.dumps({"AlarmName": "x-dlq", "NewStateValue": "ALARM"})})
    assert (alarm.kind, alarm.severity) == (ALARM_KIND, Severity.CRITICAL)
    ok = alert_from_sns({"Message": json.dumps({"AlarmName": "x-dlq", "NewStateValue": "OK"})})
    assert ok.severity is Severity.INFO
    text = alert_from_sns({"Message": "disk full", "MessageAttributes": {"severity": {"Value": "warning"}}})
    assert (text.severity, text.text) == (Severity.WARNING, "disk full")


def outcome(**fields: object) -> JobOutcome:
    return JobOutcome("a", Venue.BYBIT, "BTCUSDT", "BTCUSDT", PositionIdx.ONE_WAY, 1, **fields)  # type: ignore[arg-type]


def order(status: OrderStatus) -> OrderRecord:
    return OrderRecord("cid", Side.BUY, Decimal(1), False, status)


def test_what_makes_sqs_deliver_a_job_again() -> None:
    assert is_retryable(outcome(orders=(order(OrderStatus.FAILED),)))
    assert is_retryable(outcome(skip_reason=SkipReason.READ_FAILED))
    assert is_retryable(outcome(skip_reason=SkipReason.ERROR))
    assert not is_retryable(outcome(orders=(order(OrderStatus.REFUSED),)))
    assert not is_retryable(outcome(orders=(order(OrderStatus.PLACED),)))
    for reason in (SkipReason.ON_TARGET, SkipReason.ALREADY_DONE, SkipReason.PAUSED, SkipReason.LEVERAGE_ONLY):
        assert not is_retryable(outcome(skip_reason=reason))
