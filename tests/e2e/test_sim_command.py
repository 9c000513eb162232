"""`copytrader sim` as a newcomer uses it: start it, read the printed URLs, trade with pybit (docs/simulators.md)."""

import os
import re
import signal
import subprocess
import sys
import time

import requests
from pybit.unified_trading import HTTP

URL_LINE = re.compile(r"^(bybit|binance|hyperliquid)\s+rest (\S+)\s+ws (\S+)$")


def _start_sim() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli.main", "sim"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while len(urls) < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = URL_LINE.match(line.strip())
        if match:
            urls[match.group(1)] = match.group(2)
    return proc, urls


def test_sim_command_serves_all_three_and_pybit_can_trade_on_it() -> None:
    proc, urls = _start_sim()
    try:
        assert set(urls) == {"bybit", "binance", "hyperliquid"}, f"sim printed {urls}"
        sim = urls["bybit"]
        account = requests.post(f"{sim}/admin/accounts", json={"name": "alice", "balance": "10000"}, timeout=5).json()
        session = HTTP(api_key=account["api_key"], api_secret=account["api_secret"])
        session.endpoint = sim
        placed = session.place_order(
            category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01", orderLinkId="first-order"
        )
        assert placed["retCode"] == 0
        position = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
        assert position["size"] == "0.01" and position["side"] == "Buy"
        # The other two answer their own public endpoints.
        assert requests.get(f"{urls['binance']}/fapi/v1/ping", timeout=5).status_code == 200
        meta = requests.post(f"{urls['hyperliquid']}/info", json={"type": "meta"}, timeout=5).json()
        assert meta["universe"][0]["name"] == "BTC"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
