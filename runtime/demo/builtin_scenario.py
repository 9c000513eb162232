"""The built-in demo scenario (``copytrader demo`` without ``--scenario``).

Kept as JSON text so it goes through the same loader as a scenario file; ``examples/scenarios/builtin.json`` is the
same scenario as a file to copy and edit (a test keeps the two equal). See docs/scenarios.md for the story it tells.
"""

from __future__ import annotations

import json

from runtime.demo.scenario import Scenario, parse_scenario

BUILTIN_SCENARIO_JSON = """\
{
  "name": "built-in demo",
  "description": "A one-way Bybit master copied into four followers on three venues (docs/scenarios.md)",
  "settle_timeout_s": 15,
  "marks": {"BTCUSDT": "60000", "ETHUSDT": "3000"},
  "master": {"balance": "100000", "position_mode": "one_way"},
  "followers": [
    {"id": "alice", "venue": "bybit", "balance": "5000", "position_mode": "hedge",
     "sizing": {"mode": "margin_ratio", "margin_pct": "0.2"}},
    {"id": "bob", "venue": "binance", "balance": "20000",
     "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
    {"id": "carol", "venue": "hyperliquid", "balance": "800",
     "sizing": {"mode": "fixed_margin", "margin_usdt": "100"}},
    {"id": "dave", "venue": "binance", "balance": "300",
     "sizing": {"mode": "fixed_margin", "margin_usdt": "9"}}
  ],
  "steps": [
    {"do": "leverage", "symbol": "BTCUSDT", "leverage": "10"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.5"},
    {"do": "check", "name": "open"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.3"},
    {"do": "check", "name": "increase"},
    {"do": "mark", "symbol": "BTCUSDT", "price": "62000"},
    {"do": "check", "name": "mark move"},
    {"do": "leverage", "symbol": "BTCUSDT", "leverage": "5"},
    {"do": "check", "name": "leverage change"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Sell", "qty": "0.2", "reduce_only": true},
    {"do": "check", "name": "partial close"},
    {"do": "disconnect"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Sell", "qty": "0.1", "reduce_only": true},
    {"do": "wait", "seconds": 1},
    {"do": "check", "name": "dropped stream"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Sell", "qty": "1"},
    {"do": "check", "name": "flip"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.2", "reduce_only": true},
    {"do": "check", "name": "partial close of the short"},
    {"do": "order", "symbol": "ETHUSDT", "side": "Buy", "qty": "2"},
    {"do": "check", "name": "second symbol"},
    {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.3", "reduce_only": true},
    {"do": "order", "symbol": "ETHUSDT", "side": "Sell", "qty": "2", "reduce_only": true},
    {"do": "check", "name": "full close"}
  ]
}
"""


def builtin_scenario() -> Scenario:
    return parse_scenario(json.loads(BUILTIN_SCENARIO_JSON))
