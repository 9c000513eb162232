"""End to end: the engine and the three simulators over real sockets, driven by scenarios as `copytrader demo` is.

The built-in scenario runs in-process (so the per-check numbers can be asserted); the command line runs a short
scenario covering every step type, and a scenario whose master order the venue refuses must exit 1.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from runtime.cli.main import main
from runtime.demo.builtin_scenario import builtin_scenario
from runtime.demo.checks import CheckRecord, CheckResult
from runtime.demo.report import DemoRun, build_report
from runtime.demo.runner import run_demo
from runtime.demo.scenario import load_scenario

pytestmark = pytest.mark.timeout(90)

D = Decimal
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def record(check: CheckResult, follower: str, symbol: str = "BTCUSDT", leg: str = "0") -> CheckRecord:
    found = [r for r in check.records if r.follower_id == follower and r.symbol == symbol and r.leg == leg]
    assert len(found) == 1, f"{check.name}: no single record for {follower} {symbol}:{leg}"
    return found[0]


def explain(run: DemoRun) -> str:
    return json.dumps(build_report(run), indent=1)[:6000]


@pytest.fixture(scope="module")
def builtin_run() -> DemoRun:
    # One run shared by the tests below (its own event loop: a module fixture outlives a test's loop).
    return asyncio.run(run_demo(builtin_scenario()))


@pytest.fixture(scope="module")
def checks(builtin_run: DemoRun) -> dict[str, CheckResult]:
    return {check.name: check for check in builtin_run.play.checks}


def test_the_builtin_demo_passes_every_check(builtin_run: DemoRun) -> None:
    assert builtin_run.verdict == "pass", explain(builtin_run)
    assert [check.name for check in builtin_run.play.checks] == [
        "open", "increase", "mark move", "leverage change", "partial close", "dropped stream", "flip",
        "partial close of the short", "second symbol", "full close",
    ]  # fmt: skip
    assert all(check.settled for check in builtin_run.play.checks)
    assert builtin_run.duration_s < 30
    report = json.loads(json.dumps(build_report(builtin_run)))
    assert report["verdict"] == "pass" and report["checks_passed"] == report["checks_total"] == 10


def test_the_open_is_sized_per_follower_and_the_small_one_is_refused_with_a_reason(
    checks: dict[str, CheckResult],
) -> None:
    opened = checks["open"]
    # Master: 0.5 BTC at 60000, leverage 10 -> IM 3000, equity 100000.
    alice = record(opened, "alice")  # margin_ratio 0.2 of 5000 / 3000
    assert alice.k == (D(5000) * D("0.2") / D(3000),)
    assert alice.follower_size == D("0.166")  # 0.1666.. rounded toward zero to the 0.001 step
    assert alice.master_size == D("0.5") and alice.deviation_steps == D("0.667")
    bob = record(opened, "bob")  # equity_ratio 1: 20000 / 100000
    assert (bob.k, bob.ideal_target, bob.follower_size) == ((D("0.2"),), D("0.1"), D("0.1"))
    carol = record(opened, "carol")  # fixed_margin 100 / 3000, on Hyperliquid (5 size decimals)
    assert carol.venue_symbol == "BTC" and carol.follower_size == D("0.01666")
    dave = record(opened, "dave")  # fixed_margin 9 / 3000 -> 0.0015 -> 0.001 BTC = $60 < Binance's $100
    assert dave.follower_size == 0 and dave.deviation_steps == D("1.5") and dave.orders == ()
    assert [refusal.reason for refusal in dave.refusals] == ["below_min_notional"]
    assert dave.passed and "refusal" in dave.note
    for follower in ("alice", "bob", "carol"):
        (order,) = record(opened, follower).orders
        assert order.client_order_id and order.status == "placed" and order.side == "Buy"
        assert order.latency_ms is not None and 0 < order.latency_ms < 5000


def test_increase_and_partial_closes_track_the_master_with_the_lifecycle_k(
    checks: dict[str, CheckResult],
) -> None:
    increased = checks["increase"]
    assert [record(increased, f).follower_size for f in ("alice", "bob", "carol", "dave")] == [
        D("0.266"), D("0.16"), D("0.02666"), D("0.002")
    ]  # fmt: skip
    assert record(increased, "dave").orders[0].status == "placed"  # $120 now clears the minimum
    for name in ("increase", "partial close", "dropped stream"):
        for follower in ("alice", "bob", "carol", "dave"):
            assert record(checks[name], follower).k == record(checks["open"], follower).k  # one k per lifecycle
    closed = checks["partial close"]
    assert record(closed, "bob").follower_size == D("0.12")
    assert all(order.reduce_only for r in closed.records for order in r.orders)


def test_a_mark_move_alone_places_nothing(checks: dict[str, CheckResult]) -> None:
    moved = checks["mark move"]
    assert all(r.orders == () for r in moved.records)
    assert [r.follower_size for r in moved.records] == [r.follower_size for r in checks["increase"].records]


def test_the_change_made_while_the_stream_was_down_is_copied_once(checks: dict[str, CheckResult]) -> None:
    dropped = checks["dropped stream"]
    assert {r.master_size for r in dropped.records} == {D("0.5")}
    assert record(dropped, "bob").follower_size == D("0.1")
    assert len(record(dropped, "bob").orders) == 1


def test_the_flip_closes_then_opens_with_a_fresh_k(checks: dict[str, CheckResult]) -> None:
    flip = checks["flip"]
    for follower in ("alice", "bob", "carol"):
        after = record(flip, follower)
        assert after.master_size == D("-0.5") and after.follower_size < 0
        assert [order.reduce_only for order in after.orders] == [True, False]  # close fully, then open
    # A fresh k: the margin-based ones follow the master's new IM (0.5 x 62000 / 5 = 6200, not 3000) ...
    for follower in ("alice", "carol"):
        assert record(flip, follower).k != record(checks["open"], follower).k
    assert record(flip, "carol").k == (D(100) / D(6200),)
    # ... while bob's equity ratio is the same, because his equity moved in proportion to the master's.
    assert record(flip, "bob").k == (D("0.2"),) and record(flip, "bob").follower_size == D("-0.1")
    assert record(checks["partial close of the short"], "bob").follower_size < 0


def test_a_second_symbol_and_the_full_close(checks: dict[str, CheckResult]) -> None:
    second = checks["second symbol"]
    assert record(second, "bob", "ETHUSDT").follower_size == D("0.4")  # 2 ETH x equity ratio 0.2
    assert record(second, "carol", "ETHUSDT").venue_symbol == "ETH"
    final = checks["full close"]
    assert all(r.master_size == 0 and r.follower_size == 0 for r in final.records)
    client_ids = [o.client_order_id for check in checks.values() for r in check.records for o in r.orders]
    assert len(client_ids) == len(set(client_ids)), "an order was reported twice"


async def test_a_hedge_master_is_mirrored_leg_by_leg_and_netted_on_one_way_followers() -> None:
    run = await run_demo(load_scenario(EXAMPLES / "hedge_master.json"))
    assert run.verdict == "pass", explain(run)
    both = {check.name: check for check in run.play.checks}["both legs open"]
    assert record(both, "mirror", "ETHUSDT", "1").follower_size == D("0.4")
    assert record(both, "mirror", "ETHUSDT", "2").follower_size == D("-0.15")
    assert record(both, "net-binance", "ETHUSDT", "net").follower_size == D("0.25")
    assert record(both, "net-hl", "ETHUSDT", "net").follower_size == D("0.25")


def test_the_command_plays_a_short_scenario_and_writes_the_report(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    code = main(["demo", "--scenario", str(EXAMPLES / "quick.json"), "--report", str(report_path), "--no-live"])
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert code == 0, json.dumps(report, indent=1)[:4000]
    assert report["verdict"] == "pass" and report["checks_total"] == 3
    flip = report["checks"][1]
    assert {r["master_size"] for r in flip["records"]} == {"-30"}
    assert all(r["passed"] and r["orders"] and r["alerts"] == [] for r in flip["records"])


def test_a_step_the_venue_refuses_fails_the_demo_with_exit_1(tmp_path: Path) -> None:
    scenario = json.loads((EXAMPLES / "quick.json").read_text(encoding="utf-8"))
    scenario["steps"][1]["qty"] = "100000"  # far beyond what the master's balance can carry
    path = tmp_path / "too-big.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    report_path = tmp_path / "report.json"
    assert main(["demo", "--scenario", str(path), "--report", str(report_path), "--no-live"]) == 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["verdict"] == "fail" and "step 2" in report["error"] and report["checks_total"] == 0


def test_an_invalid_scenario_exits_2_naming_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"master": {"balance": 100}, "followers": [], "steps": []}), encoding="utf-8")
    assert main(["demo", "--scenario", str(path), "--no-live"]) == 2
    err = capsys.readouterr().err
    assert "followers: " in err and "steps: " in err


def test_the_leverage_change_reaches_every_follower_at_once(checks: dict[str, CheckResult]) -> None:
    changed = checks["leverage change"]
    assert {r.master_leverage for r in changed.records} == {D(5)}
    assert {r.follower_leverage for r in changed.records} == {D(5)}


def test_the_next_change_carries_the_new_leverage_to_every_follower(checks: dict[str, CheckResult]) -> None:
    trimmed = checks["partial close"]
    assert {r.follower_leverage for r in trimmed.records} == {D(5)}
