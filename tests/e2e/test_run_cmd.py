"""`copytrader run` as a process: against the simulators (`copytrader sim`, another process), a master fill reaches
the follower; Ctrl-C stops it cleanly (exit 0); no secret reaches the output; bad config, missing secrets and a key
that can withdraw stop the start with exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pybit.unified_trading import HTTP

from runtime.cli.main import main

pytestmark = pytest.mark.timeout(60)
COPYTRADER = [sys.executable, "-m", "runtime.cli.main"]


def admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base_url}/admin/{path}", data=data, method="POST" if body else "GET")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, tuple[str, str]]]:
    process = subprocess.Popen([*COPYTRADER, "sim"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    urls: dict[str, tuple[str, str]] = {}
    assert process.stdout is not None
    while len(urls) < 3:
        line = process.stdout.readline()
        assert line, "copytrader sim ended before printing its URLs"
        parts = line.split()
        if parts and parts[0] in ("bybit", "binance", "hyperliquid"):
            urls[parts[0]] = (parts[2], parts[4])
    yield urls
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)


def write_config(tmp_path: Path, bybit: tuple[str, str], follower_rest: str) -> Path:
    path = tmp_path / "copytrader.toml"
    path.write_text(
        f"""
[master]
api_key_env = "T_MASTER_KEY"
api_secret_env = "T_MASTER_SECRET"
rest_url = "{bybit[0]}"
ws_url = "{bybit[1]}"

[[followers]]
id = "f1"
venue = "bybit"
api_key_env = "T_F1_KEY"
api_secret_env = "T_F1_SECRET"
rest_url = "{follower_rest}"
sizing = {{ mode = "equity_ratio", multiplier = "1" }}

[state]
sqlite_path = "state.db"
""",
        encoding="utf-8",
    )
    return path


def accounts(bybit_url: str, suffix: str, *, can_withdraw: bool = False) -> dict[str, str]:
    master = admin(bybit_url, "accounts", {"name": f"m{suffix}", "balance": "100000"})
    follower = admin(bybit_url, "accounts", {"name": f"f{suffix}", "balance": "10000", "can_withdraw": can_withdraw})
    return {
        "T_MASTER_KEY": master["api_key"],
        "T_MASTER_SECRET": master["api_secret"],
        "T_F1_KEY": follower["api_key"],
        "T_F1_SECRET": follower["api_secret"],
    }


def follower_size(bybit_url: str, name: str) -> str:
    positions = admin(bybit_url, f"accounts/{name}")["positions"]
    return positions[0]["signed_size"] if positions else "0"


def test_run_copies_a_master_fill_and_stops_cleanly_on_ctrl_c(sims: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    bybit = sims["bybit"]
    secrets = accounts(bybit[0], "1")
    config = write_config(tmp_path, bybit, bybit[0])
    env = {**os.environ, **secrets}
    process = subprocess.Popen(
        [*COPYTRADER, "run", "--config", str(config), "--no-live"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        http = HTTP(api_key=secrets["T_MASTER_KEY"], api_secret=secrets["T_MASTER_SECRET"], max_retries=1)
        http.endpoint = bybit[0]
        deadline = time.monotonic() + 20
        while "engine running" not in (line := process.stdout.readline() if process.stdout else ""):
            assert line and time.monotonic() < deadline, "the engine did not start"
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.5")
        while follower_size(bybit[0], "f1") != "0.05":  # equity ratio 10000 / 100000 x 0.5
            assert time.monotonic() < deadline, f"the follower holds {follower_size(bybit[0], 'f1')}"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "stopped cleanly" in output
    for value in secrets.values():
        assert value not in output, "a secret reached the output"
    assert (tmp_path / "state.db").exists()


def test_a_follower_key_that_can_withdraw_is_refused_at_start(sims: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    bybit = sims["bybit"]
    secrets = accounts(bybit[0], "2", can_withdraw=True)
    config = write_config(tmp_path, bybit, bybit[0])
    done = subprocess.run(
        [*COPYTRADER, "run", "--config", str(config), "--no-live"],
        env={**os.environ, **secrets},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "follower f1" in done.stderr and "WITHDRAW" in done.stderr
    assert follower_size(bybit[0], "f2") == "0"


def test_missing_secrets_are_all_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, ("http://127.0.0.1:1", "ws://127.0.0.1:1/v5/private"), "http://127.0.0.1:1")
    for name in ("T_MASTER_KEY", "T_MASTER_SECRET", "T_F1_KEY", "T_F1_SECRET"):
        os.environ.pop(name, None)
    assert main(["run", "--config", str(config), "--no-live"]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in ("T_MASTER_KEY", "T_MASTER_SECRET", "T_F1_KEY", "T_F1_SECRET"))


def test_an_invalid_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[followers]]\nid = 'x'\n", encoding="utf-8")
    assert main(["run", "--config", str(bad), "--no-live"]) == 2
    assert "followers[0].venue" in capsys.readouterr().err


def test_unreachable_venues_stop_the_start_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, ("http://127.0.0.1:9", "ws://127.0.0.1:9/v5/private"), "http://127.0.0.1:9")
    env = {"T_MASTER_KEY": "k" * 18, "T_MASTER_SECRET": "s" * 36, "T_F1_KEY": "f" * 18, "T_F1_SECRET": "g" * 36}
    os.environ.update(env)
    try:
        assert main(["run", "--config", str(config), "--no-live"]) == 2
    finally:
        for name in env:
            os.environ.pop(name, None)
    err = capsys.readouterr().err
    assert "could not check the bybit key" in err and "follower f1" in err and "master master" in err
    assert "s" * 36 not in err
