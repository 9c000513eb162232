"""The scenario file: the contract shape from issue 5 parses; every mistake is named with its path."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.demo.builtin_scenario import builtin_scenario
from runtime.demo.player import describe
from runtime.demo.scenario import (
    CheckStep,
    DisconnectStep,
    LeverageStep,
    MarkStep,
    OrderStep,
    ScenarioError,
    WaitStep,
    load_scenario,
    parse_scenario,
)
from runtime.demo.world import listed_symbols
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"

# The example of issue 5, verbatim: the contract.
CONTRACT = {
    "marks": {"BTCUSDT": "61000"},
    "master": {"balance": "100000", "position_mode": "one_way"},
    "followers": [
        {"id": "a", "venue": "bybit", "balance": "5000", "position_mode": "hedge",
         "sizing": {"mode": "margin_ratio", "margin_pct": "0.2"}},
        {"id": "b", "venue": "binance", "balance": "20000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
        {"id": "c", "venue": "hyperliquid", "balance": "800", "sizing": {"mode": "fixed_margin", "margin_usdt": "100"}},
    ],
    "steps": [
        {"do": "leverage", "symbol": "BTCUSDT", "leverage": "10"},
        {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.5"},
        {"do": "mark", "symbol": "BTCUSDT", "price": "62000"},
        {"do": "order", "symbol": "BTCUSDT", "side": "Sell", "qty": "0.2", "reduce_only": True},
        {"do": "disconnect"},
        {"do": "wait", "seconds": 1},
        {"do": "check"},
    ],
}  # fmt: skip


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(raw)
    return list(raised.value.problems)


def test_the_contract_example_parses_with_its_defaults() -> None:
    scenario = parse_scenario(CONTRACT)
    assert scenario.marks == {"BTCUSDT": Decimal("61000")}
    assert scenario.master.position_mode is PositionMode.ONE_WAY
    assert [f.venue for f in scenario.followers] == [Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID]
    assert scenario.followers[0].position_mode is PositionMode.HEDGE
    assert scenario.followers[1].position_mode is PositionMode.ONE_WAY
    assert [type(step) for step in scenario.steps] == [
        LeverageStep, OrderStep, MarkStep, OrderStep, DisconnectStep, WaitStep, CheckStep
    ]  # fmt: skip
    buy, sell = scenario.steps[1], scenario.steps[3]
    assert isinstance(buy, OrderStep) and isinstance(sell, OrderStep)
    assert (buy.side, buy.qty, buy.reduce_only, buy.position_idx) == (Side.BUY, Decimal("0.5"), False, PositionIdx(0))
    assert sell.reduce_only is True
    assert scenario.followers[0].sizing.to_config().describe() == "margin_ratio margin_pct=0.2"


def test_every_mistake_is_reported_with_its_path() -> None:
    raw = json.loads(json.dumps(CONTRACT))
    raw["steps"][1]["qty"] = 0.5
    raw["steps"][2]["do"] = "marx"
    raw["followers"][0]["sizing"]["margin_pct"] = "20"
    raw["followers"][1]["colour"] = "red"
    found = problems(raw)
    assert (
        'steps[1].qty: is a JSON float (0.5); numbers are strings in scenarios so no digit is lost: write "0.5"'
        in found
    )
    assert (
        "steps[2].do: must be one of leverage, order, mark, disconnect, wait, check, audit, follower_order, pause, "
        "resume, close_all" in found
    )
    assert any(p.startswith("followers[0].sizing.margin_pct:") and "did you mean 0.2?" in p for p in found)
    assert any(p.startswith("followers[1].colour: is not a known field") for p in found)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["followers"][2].update(position_mode="hedge"), "hyperliquid has one-way positions only"),
        (lambda r: r["followers"][1].update(id="a"), "followers[1].id: 'a' is used twice"),
        (lambda r: r["steps"][1].update(position_idx=1), "steps[1].position_idx: is only for a hedge-mode master"),
        (lambda r: r.update(steps=[{"do": "wait", "seconds": 1}]), 'steps: has no {"do": "check"}'),
        (lambda r: r["followers"][1]["sizing"].update(margin_pct="0.1"), "belongs to sizing mode margin_ratio"),
        (lambda r: r["steps"][5].update(seconds=True), "steps[5].seconds: must be a number of seconds"),
        (lambda r: r["master"].pop("balance"), "master.balance: is required but missing"),
    ],
)
def test_semantic_mistakes_name_the_field_and_the_fix(
    change: Callable[[dict[str, Any]], object], expected: str
) -> None:
    raw = json.loads(json.dumps(CONTRACT))
    change(raw)
    assert any(expected in problem for problem in problems(raw)), problems(raw)


def test_a_hedge_master_needs_a_leg_on_every_order() -> None:
    raw = json.loads(json.dumps(CONTRACT))
    raw["master"]["position_mode"] = "hedge"
    assert any("steps[1].position_idx: the master is in hedge mode" in p for p in problems(raw))
    for step in raw["steps"]:
        if step["do"] == "order":
            step["position_idx"] = 1
    assert parse_scenario(raw).master.position_mode is PositionMode.HEDGE


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"master": ', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken.json: is not valid JSON: .* line 1"):
        load_scenario(broken)


def test_unknown_or_unlisted_symbols_are_refused_before_anything_starts() -> None:
    raw = json.loads(json.dumps(CONTRACT))
    raw["steps"][1]["symbol"] = "ADAUSDT"  # derivable, but not listed by the simulators
    scenario = parse_scenario(raw)
    with pytest.raises(ScenarioError, match=r"ADAUSDT: bybit \(ADAUSDT\) is not listed by the simulator"):
        scenario.check_symbols(SymbolMap(), listed_symbols())
    parse_scenario(CONTRACT).check_symbols(SymbolMap(), listed_symbols())


def test_the_builtin_scenario_covers_every_step_type_on_every_venue() -> None:
    scenario = builtin_scenario()
    kinds = {step.do for step in scenario.steps}
    assert kinds == {"leverage", "order", "mark", "disconnect", "wait", "check"}
    assert {f.venue for f in scenario.followers} == set(Venue)
    assert {f.sizing.mode for f in scenario.followers} == {"margin_ratio", "equity_ratio", "fixed_margin"}
    assert any(f.position_mode is PositionMode.HEDGE for f in scenario.followers)
    scenario.check_symbols(SymbolMap(), listed_symbols())


def test_the_example_files_parse_and_the_builtin_file_matches_the_builtin() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert files, "examples/scenarios/ has no scenario"
    for path in files:
        load_scenario(path).check_symbols(SymbolMap(), listed_symbols())
    assert load_scenario(EXAMPLES / "builtin.json") == builtin_scenario()


def test_steps_are_described_in_plain_words() -> None:
    scenario = parse_scenario(CONTRACT)
    assert [describe(step) for step in scenario.steps] == [
        "master sets BTCUSDT leverage to 10x",
        "master buys 0.5 BTCUSDT",
        "mark of BTCUSDT moves to 62000",
        "master sells 0.2 BTCUSDT reduce-only",
        "the master's stream is cut (the engine must reconnect and replay the gap)",
        "wait 1 s",
        "check",
    ]
