"""The scenario steps added with the audit and the kill switch: ``audit``, ``follower_order``, ``pause``, ``resume``,
``close_all``, and the scenario-level ``heal`` and ``audit_grace_s``; each mistake named with its path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.demo.player import describe
from runtime.demo.scenario import (
    AuditStep,
    CheckStep,
    CloseAllStep,
    FollowerOrderStep,
    PauseStep,
    ResumeStep,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from runtime.demo.world import listed_symbols
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, Side

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"

BASE: dict[str, Any] = {
    "master": {"balance": "100000"},
    "followers": [
        {"id": "a", "venue": "bybit", "balance": "5000", "position_mode": "hedge",
         "sizing": {"mode": "margin_ratio", "margin_pct": "0.2"}},
        {"id": "b", "venue": "binance", "balance": "20000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
    ],
    "steps": [{"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.5"}, {"do": "check"}],
}  # fmt: skip


def with_steps(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(json.dumps(BASE))
    raw["steps"][1:1] = list(steps)
    raw.update(top)
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(raw)
    return list(raised.value.problems)


def test_the_new_steps_parse_with_their_defaults() -> None:
    scenario = parse_scenario(
        with_steps(
            {"do": "follower_order", "follower": "b", "symbol": "ETHUSDT", "side": "Sell", "qty": "0.01",
             "reduce_only": True},
            {"do": "follower_order", "follower": "a", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.002",
             "position_idx": 1},
            {"do": "audit"},
            {"do": "audit", "name": "in grace", "grace_s": 60},
            {"do": "pause", "follower": "a"},
            {"do": "resume", "follower": "a"},
            {"do": "close_all", "follower": "b"},
        )
    )  # fmt: skip
    steps = scenario.steps
    assert [type(step) for step in steps] == [
        type(steps[0]), FollowerOrderStep, FollowerOrderStep, AuditStep, AuditStep, PauseStep, ResumeStep,
        CloseAllStep, CheckStep,
    ]  # fmt: skip
    sell, buy, audit, graced = steps[1], steps[2], steps[3], steps[4]
    assert isinstance(sell, FollowerOrderStep) and isinstance(buy, FollowerOrderStep)
    assert (sell.follower, sell.symbol, sell.side, sell.qty) == ("b", "ETHUSDT", Side.SELL, Decimal("0.01"))
    assert sell.reduce_only and sell.position_idx is PositionIdx.ONE_WAY
    assert buy.position_idx is PositionIdx.HEDGE_LONG and not buy.reduce_only
    assert isinstance(audit, AuditStep) and (audit.name, audit.grace_s) == ("", None)
    assert isinstance(graced, AuditStep) and (graced.name, graced.grace_s) == ("in grace", 60.0)
    assert (scenario.heal, scenario.audit_grace_s) == (False, 0.0)  # the demo's defaults
    assert "ETHUSDT" in scenario.symbols()  # a follower's symbol is checked against the simulators too


def test_heal_and_the_grace_period_can_be_set_for_the_whole_scenario() -> None:
    scenario = parse_scenario(with_steps({"do": "audit"}, heal=True, audit_grace_s="2.5"))
    assert scenario.heal is True and scenario.audit_grace_s == 2.5


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"do": "pause", "follower": "zed"}, "steps[1].follower: 'zed' is not one of the followers (a, b)"),
        ({"do": "close_all"}, "steps[1].follower: is required but missing"),
        ({"do": "follower_order", "follower": "b", "symbol": "BTCUSDT", "side": "Sell", "qty": 0.01},
         'steps[1].qty: is a JSON float (0.01); numbers are strings in scenarios so no digit is lost: write "0.01"'),
        ({"do": "follower_order", "follower": "a", "symbol": "BTCUSDT", "side": "Buy", "qty": "1"},
         "steps[1].position_idx: follower a is in hedge mode: give 1 (long) or 2 (short)"),
        ({"do": "follower_order", "follower": "b", "symbol": "BTCUSDT", "side": "Buy", "qty": "1", "position_idx": 2},
         "steps[1].position_idx: is only for a hedge-mode follower; b is one-way"),
        ({"do": "follower_order", "follower": "b", "symbol": "BTCUSDT", "side": "Hold", "qty": "1"},
         "steps[1].side: "),
        ({"do": "audit", "grace_s": -1}, "steps[1].grace_s: "),
        ({"do": "audit", "grace": 5}, "steps[1].grace: is not a known field"),
        ({"do": "resume", "follower": "a", "close": True}, "steps[1].close: is not a known field"),
    ],
)  # fmt: skip
def test_each_mistake_in_a_new_step_is_named_with_its_path(step: dict[str, Any], expected: str) -> None:
    found = problems(with_steps(step))
    assert any(problem.startswith(expected) for problem in found), found


def test_a_follower_symbol_the_simulators_do_not_list_is_refused_before_anything_starts() -> None:
    step = {"do": "follower_order", "follower": "b", "symbol": "NOPEUSDT", "side": "Buy", "qty": "1"}
    scenario = parse_scenario(with_steps(step))
    with pytest.raises(ScenarioError, match="NOPEUSDT"):
        scenario.check_symbols(SymbolMap(), listed_symbols())


def test_each_new_step_has_a_line_for_the_live_view_and_the_report() -> None:
    scenario = parse_scenario(
        with_steps(
            {"do": "follower_order", "follower": "b", "symbol": "BTCUSDT", "side": "Sell", "qty": "0.01",
             "reduce_only": True},
            {"do": "audit", "name": "drift"},
            {"do": "pause", "follower": "a"},
            {"do": "resume", "follower": "a"},
            {"do": "close_all", "follower": "b"},
        )
    )  # fmt: skip
    lines = [describe(step) for step in scenario.steps[1:6]]
    assert lines == [
        "follower b sells 0.01 BTCUSDT reduce-only behind the engine's back",
        "audit: drift",
        "kill switch: pause a (no new copies; closes go through)",
        "kill switch: resume a",
        "kill switch: close all of b (pause, then reduce-only closes)",
    ]


def test_the_audit_and_kill_switch_example_is_valid_and_uses_every_new_step() -> None:
    scenario = load_scenario(EXAMPLES / "audit_and_kill_switch.json")
    kinds = {type(step) for step in scenario.steps}
    assert {AuditStep, FollowerOrderStep, PauseStep, ResumeStep, CloseAllStep} <= kinds
    assert scenario.heal is True
    scenario.check_symbols(SymbolMap(), listed_symbols())
