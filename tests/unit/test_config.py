"""The typed configuration: loading, every kind of bad field, secrets by env-var reference, and `config check`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from runtime.cli.main import main
from runtime.config import (
    ApiCredentials,
    AppConfig,
    ConfigError,
    HyperliquidCredentials,
    MissingSecretError,
    follower_credentials,
    load_config,
    master_credentials,
    missing_secrets,
    parse_config,
    require_secrets,
)
from runtime.domain.sizing import EquityRatio, FixedMargin, MarginRatio
from runtime.domain.values import PositionMode, Venue

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "copytrader.example.toml"
FIXTURES = REPO / "tests" / "fixtures" / "config"

FOLLOWER = """
[[followers]]
id = "alice"
venue = "bybit"
api_key_env = "ALICE_KEY"
api_secret_env = "ALICE_SECRET"
"""


def parse(text: str) -> AppConfig:
    return parse_config(tomllib.loads(text))


def problem_text(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


# --- valid files ----------------------------------------------------------------------------------------------
def test_example_file_loads() -> None:
    config = load_config(EXAMPLE)
    assert [f.id for f in config.followers] == ["alice-bybit", "bob-binance", "carol-hyperliquid"]
    assert [f.venue for f in config.followers] == [Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID]
    assert config.followers[0].sizing.rule() == MarginRatio(Decimal("0.10"))
    assert config.followers[1].sizing.rule() == EquityRatio(Decimal("1"))
    assert config.followers[2].sizing.rule() == FixedMargin(Decimal("250"))
    assert config.state.sqlite_path == str(EXAMPLE.parent / "copytrader.db")  # anchored at the file
    assert config.symbol_map().resolve("SHIB1000USDT", Venue.HYPERLIQUID).symbol == "kSHIB"


def test_minimal_file_gets_defaults() -> None:
    config = load_config(FIXTURES / "minimal.toml")
    assert config.master.id == "master" and config.master.api_key_env == "BYBIT_MASTER_API_KEY"
    assert config.master.position_mode_hint is None
    follower = config.followers[0]
    assert follower.sizing.mode == "margin_ratio" and follower.sizing.margin_pct == Decimal("0.2")
    assert follower.enabled and not follower.paused and follower.position_mode is PositionMode.ONE_WAY
    assert follower.leverage.mode == "follow" and follower.max_leverage is None
    assert config.engine.audit_interval_s == 60 and config.engine.audit_grace_s == 60
    assert config.engine.mismatch_threshold_pct == Decimal(5) and config.engine.realert_step_pp == Decimal(1)
    assert config.state.backend == "sqlite" and config.state.sqlite_pool_size == 4
    assert config.alerts.channel_names() == ["console"]


def test_full_file_reads_every_section() -> None:
    config = load_config(FIXTURES / "valid_full.toml")
    assert config.master.id == "lead" and config.master.position_mode_hint is PositionMode.HEDGE
    assert config.master.rest_url == "http://127.0.0.1:18001"  # trailing slash dropped
    bybit, binance, hyperliquid = config.followers
    assert bybit.max_leverage == Decimal(10) and bybit.max_notional_per_symbol == Decimal("1000.50")
    assert bybit.leverage.mode == "fixed" and bybit.leverage.value == Decimal(3)
    assert bybit.allows_symbol("BTCUSDT") and not bybit.allows_symbol("SOLUSDT")
    assert binance.leverage.value == Decimal(7) and not binance.enabled
    assert not binance.allows_symbol("dogeusdt") and binance.allows_symbol("SOLUSDT")
    assert hyperliquid.paused and hyperliquid.sizing.margin_usdt == Decimal(100)
    assert config.enabled_followers == (bybit, hyperliquid)
    assert config.symbol_map().unit_ratio("10000SATSUSDT", Venue.BINANCE) == Decimal(10)
    assert config.alerts.telegram is not None and config.alerts.telegram.chat_id == "-100123"
    assert config.alerts.channel_names() == ["telegram", "twilio", "sns", "webhook"]
    assert config.state.backend == "dynamodb" and config.state.sqlite_path == "/var/lib/copytrader/state.db"
    assert config.engine.pending_fill_timeout_s == 2.5 and config.engine.heal


# --- each kind of bad field names its path ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fixture", "field", "words"),
    [
        ("bad_float_money.toml", "followers[1].sizing.margin_pct", 'margin_pct = "0.2"'),
        ("bad_literal_secret.toml", "followers[0].api_secret", "environment variable"),
        ("bad_unknown_venue.toml", "followers[0].venue", "'bybit', 'binance' or 'hyperliquid'"),
        ("bad_duplicate_ids.toml", "followers[1].id", "already the id of followers[0]"),
        ("bad_sizing_mode.toml", "followers[0].sizing.mode", "'margin_ratio', 'equity_ratio' or 'fixed_margin'"),
        ("bad_missing_field.toml", "followers[0].sizing", "required but missing"),
        ("bad_wrong_type.toml", "followers[0].enabled", "true or false"),
    ],
)
def test_bad_file_names_the_file_and_field(fixture: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / fixture)
    message = str(caught.value)
    assert str(FIXTURES / fixture) in message
    assert f"{field}: " in message and words in message


def test_literal_secret_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / "bad_literal_secret.toml")
    assert "hunter2" not in str(caught.value)
    assert 'api_secret_env = "' in str(caught.value)


def test_secret_pasted_into_an_env_field_is_refused_without_echo() -> None:
    text = FOLLOWER.replace('"ALICE_SECRET"', '"sk/live+9f8e7d6c5b4a"') + 'sizing = { margin_pct = "0.1" }\n'
    message = problem_text(text)
    assert "followers[0].api_secret_env: must be the NAME of an environment variable" in message
    assert "9f8e7d6c5b4a" not in message


def test_unknown_secret_like_key_explains_env_vars() -> None:
    message = problem_text(FOLLOWER + 'passphrase = "x"\nsizing = { margin_pct = "0.1" }\n')
    assert "followers[0].passphrase: looks like a secret" in message


def test_typo_suggests_the_known_setting() -> None:
    message = problem_text(FOLLOWER + 'sizing = { margin_pct = "0.1" }\nmax_leverge = "5"\n')
    assert "followers[0].max_leverge: is not a known setting; did you mean max_leverage?" in message


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ('sizing = { margin_pct = "10" }', "followers[0].sizing.margin_pct", "did you mean 0.1"),
        ('sizing = { mode = "equity_ratio" }', "followers[0].sizing.multiplier", "required for sizing mode"),
        ('sizing = { margin_pct = "0.1", margin_usdt = "5" }', "followers[0].sizing.margin_usdt", "belongs to"),
        ('sizing = { margin_pct = "-1" }', "followers[0].sizing.margin_pct", "greater than 0"),
        ('sizing = { margin_pct = "abc" }', "followers[0].sizing.margin_pct", "is not a number"),
        (
            'sizing = { margin_pct = "0.1" }\nmax_notional_per_symbol = 100.5',
            "followers[0].max_notional_per_symbol",
            'max_notional_per_symbol = "100.5"',
        ),
        ('sizing = { margin_pct = "0.1" }\nleverage = "fixed"', "followers[0].leverage.value", "required"),
        (
            'sizing = { margin_pct = "0.1" }\nleverage = "9"\nmax_leverage = "5"',
            "followers[0].leverage.value",
            "above max_leverage 5",
        ),
        ('sizing = { margin_pct = "0.1" }\nrest_url = "localhost:8000"', "followers[0].rest_url", "full URL"),
        (
            'sizing = { margin_pct = "0.1" }\nsymbols_allow = ["BTCUSDT"]\nsymbols_deny = ["btcusdt"]',
            "followers[0].symbols_deny",
            "BTCUSDT",
        ),
    ],
)
def test_follower_field_problems(extra: str, field: str, words: str) -> None:
    message = problem_text(FOLLOWER + extra + "\n")
    assert f"{field}: " in message and words in message


def test_hyperliquid_credentials_shape() -> None:
    base = '[[followers]]\nid = "hl"\nvenue = "hyperliquid"\nsizing = { margin_pct = "0.1" }\n'
    assert "followers[0].account_address: " in problem_text(base + 'agent_private_key_env = "K"\n')
    assert "followers[0].agent_private_key_env: is required" in problem_text(base + 'account_address_env = "A"\n')
    bad_address = problem_text(base + 'account_address = "0x123"\nagent_private_key_env = "K"\n')
    assert "followers[0].account_address: must be the account's public address" in bad_address
    with_keys = problem_text(base + 'account_address_env = "A"\nagent_private_key_env = "K"\napi_key_env = "X"\n')
    assert "followers[0].api_key_env: is not used by hyperliquid" in with_keys
    hedge = problem_text(base + 'account_address_env = "A"\nagent_private_key_env = "K"\nposition_mode = "hedge"\n')
    assert "followers[0].position_mode: hyperliquid has one-way positions only" in hedge


def test_api_key_venue_needs_both_env_names() -> None:
    text = '[[followers]]\nid = "bo"\nvenue = "binance"\napi_key_env = "K"\nsizing = { margin_pct = "0.1" }\n'
    assert "followers[0].api_secret_env: is required for a binance follower" in problem_text(text)


def test_other_sections_name_their_fields() -> None:
    text = (
        FOLLOWER
        + 'sizing = { margin_pct = "0.1" }\n'
        + '[master]\nvenue = "binance"\n'
        + "[engine]\nmismatch_threshold_pct = 5.5\naudit_interval_s = 0\n"
        + '[state]\nsqlite_path = ":memory:"\n'
        + '[alerts.sns]\ntopic_arn = "my-topic"\n'
        + '[alerts.telegram]\nbot_token = "123:abc"\nchat_id = 1\n'
        + '[symbols.FOOUSDT]\nokx = "FOO"\n'
    )
    message = problem_text(text)
    for field in (
        "master.venue: must be 'bybit'",
        "engine.mismatch_threshold_pct: is written as a TOML float (5.5)",
        "engine.audit_interval_s: must be greater than 0",
        "state.sqlite_path: cannot be :memory:",
        "alerts.sns.topic_arn: must be an SNS topic ARN",
        "alerts.telegram.bot_token: a secret may not be written",
        "symbols.FOOUSDT.okx: must be 'bybit', 'binance' or 'hyperliquid'",
    ):
        assert field in message
    assert "123:abc" not in message


def test_no_followers_and_master_id_clash() -> None:
    assert "followers: is required but missing" in problem_text("[master]\n")
    assert "followers: needs at least one follower" in problem_text("followers = []\n")
    clash = problem_text(FOLLOWER.replace('"alice"', '"master"') + 'sizing = { margin_pct = "0.1" }\n')
    assert "followers[0].id: 'master' is the master's id" in clash


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(FIXTURES / "bad_toml_syntax.toml")
    assert "line 1" in str(caught.value)


# --- secrets ----------------------------------------------------------------------------------------------------
ENV = {
    "BYBIT_MASTER_API_KEY": "master-key-value",
    "BYBIT_MASTER_API_SECRET": "master-secret-value",
    "ALICE_BYBIT_API_KEY": "alice-key",
    "ALICE_BYBIT_API_SECRET": "alice-secret-value",
    "BOB_BINANCE_API_KEY": "bob-key",
    "BOB_BINANCE_API_SECRET": "bob-secret",
    "CAROL_HL_AGENT_PRIVATE_KEY": "0x" + "11" * 32,
    "TELEGRAM_BOT_TOKEN": "123:telegram-token",
}


def test_secrets_resolve_from_the_environment_and_stay_hidden() -> None:
    config = load_config(EXAMPLE)
    assert missing_secrets(config, ENV) == []
    require_secrets(config, ENV)
    master = master_credentials(config, ENV)
    assert master.api_secret.get_secret_value() == "master-secret-value"
    assert "master-secret-value" not in repr(master) and "master-secret-value" not in str(master)
    alice = follower_credentials(config, "alice-bybit", ENV)
    assert isinstance(alice, ApiCredentials) and alice.api_key.get_secret_value() == "alice-key"
    carol = follower_credentials(config, "carol-hyperliquid", ENV)
    assert isinstance(carol, HyperliquidCredentials)
    assert carol.account_address == "0x0000000000000000000000000000000000c0ffee"
    assert "11111111" not in repr(carol)


def test_missing_secret_names_the_variable_and_field() -> None:
    config = load_config(EXAMPLE)
    env = {k: v for k, v in ENV.items() if k != "BOB_BINANCE_API_SECRET"} | {"ALICE_BYBIT_API_KEY": "  "}
    assert [ref.env_var for ref in missing_secrets(config, env)] == ["ALICE_BYBIT_API_KEY", "BOB_BINANCE_API_SECRET"]
    with pytest.raises(MissingSecretError) as caught:
        follower_credentials(config, "bob-binance", env)
    assert "followers[1].api_secret_env: environment variable BOB_BINANCE_API_SECRET is not set" in str(caught.value)
    with pytest.raises(MissingSecretError, match="ALICE_BYBIT_API_KEY"):
        require_secrets(config, env)


def test_hyperliquid_address_from_env_and_disabled_followers_skipped() -> None:
    config = load_config(FIXTURES / "valid_full.toml")
    env_vars = {ref.env_var for ref in missing_secrets(config, {})}
    assert "T_BINANCE_KEY" not in env_vars  # disabled follower
    assert {"T_HL_ADDRESS", "T_TW_SID", "T_TW_TOKEN", "T_WEBHOOK_URL", "T_TG_TOKEN"} <= env_vars
    creds = follower_credentials(config, "f-hl", {"T_HL_ADDRESS": "0xABC", "T_HL_AGENT_KEY": "k" * 64})
    assert isinstance(creds, HyperliquidCredentials) and creds.account_address == "0xabc"


# --- the CLI ----------------------------------------------------------------------------------------------------
def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_check_valid_prints_summary(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli(["config", "check", "--config", str(EXAMPLE), "--require-secrets"], capsys)
    assert code == 0 and err == ""
    assert "master     master (bybit" in out
    assert "carol-hyperliquid  hyperliquid  fixed_margin margin_usdt=250" in out


def test_cli_warns_about_missing_secrets(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(["config", "check", "--config", str(EXAMPLE)], capsys)
    assert code == 0 and "configuration OK" in out
    assert "warning: 8 secret variable(s) not set" in err and "CAROL_HL_AGENT_PRIVATE_KEY" in err


def test_cli_require_secrets_fails(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(["config", "check", "--config", str(EXAMPLE), "--require-secrets"], capsys)
    assert code == 2 and out == ""
    assert "BYBIT_MASTER_API_KEY (master.api_key_env" in err


@pytest.mark.parametrize("fixture", ["bad_float_money.toml", "bad_duplicate_ids.toml", "bad_toml_syntax.toml"])
def test_cli_bad_file_exits_2(fixture: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["config", "check", "--config", str(FIXTURES / fixture)], capsys)
    assert code == 2 and out == ""
    assert str(FIXTURES / fixture) in err and "Traceback" not in err


def test_cli_subprocess_bad_file_has_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "config",
            "check",
            "--config",
            str(FIXTURES / "bad_sizing_mode.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "followers[0].sizing.mode: must be 'margin_ratio', 'equity_ratio' or 'fixed_margin'" in result.stderr


def test_run_check_writes_to_given_streams() -> None:
    from argparse import Namespace

    from runtime.cli.config_cmd import run_check

    out, err = io.StringIO(), io.StringIO()
    code = run_check(Namespace(config=str(FIXTURES / "minimal.toml"), require_secrets=False), out=out, err=err)
    assert code == 0 and "solo" in out.getvalue() and "SOLO_API_SECRET" in err.getvalue()
