"""End to end: examples/scenarios/audit_and_kill_switch.json on the engine and the three simulators.

Followers changed behind the engine's back are found by the scenario's audit step (SizeMismatch, MissingPosition),
alerted through the alert pipeline, healed through the executor and reported resolved; the kill switch refuses a
paused follower's increase with the reason recorded while its reduction goes through, resumes it, and closes
another follower out. The report carries the audit findings, every alert, and each check record's alerts.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.demo.checks import CheckRecord, CheckResult
from runtime.demo.report import DemoRun, build_report
from runtime.demo.runner import run_demo
from runtime.demo.scenario import load_scenario, parse_scenario

pytestmark = pytest.mark.timeout(90)

D = Decimal
SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "audit_and_kill_switch.json"


def record(check: CheckResult, follower: str) -> CheckRecord:
    (found,) = [r for r in check.records if r.follower_id == follower and r.symbol == "BTCUSDT"]
    return found


@pytest.fixture(scope="module")
def run() -> DemoRun:
    return asyncio.run(run_demo(load_scenario(SCENARIO)))


@pytest.fixture(scope="module")
def report(run: DemoRun) -> dict[str, Any]:
    made: dict[str, Any] = json.loads(json.dumps(build_report(run)))  # exactly what --report writes
    return made


@pytest.fixture(scope="module")
def checks(run: DemoRun) -> dict[str, CheckResult]:
    return {check.name: check for check in run.play.checks}


def findings(report: dict[str, Any], audit: int) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (f["kind"], f["follower_id"], f["expected"], f["actual"], f["deviation_pct"], f["status"])
        for f in report["audits"][audit]["findings"]
    ]


def test_every_check_of_the_scenario_passes(run: DemoRun, report: dict[str, Any]) -> None:
    assert run.verdict == "pass", json.dumps(report, indent=1)[:6000]
    assert report["checks_passed"] == report["checks_total"] == 7
    assert [a["name"] for a in report["audits"]] == [
        "changed behind the engine's back", "after the heal", "within the grace period", "paused follower not audited",
    ]  # fmt: skip


def test_the_audit_finds_what_was_changed_behind_the_engines_back_and_queues_heals(report: dict[str, Any]) -> None:
    drift = report["audits"][0]
    assert drift["grace_s"] == 0.0 and drift["legs_checked"] == 3 and drift["discrepancies"] == 2
    # bob (Binance, k 0.2 of 0.5 BTC) sold half by hand; carol (Hyperliquid) closed hers.
    assert findings(report, 0) == [
        ("SizeMismatch", "bob", "0.1", "0.05", "50", "alerted"),
        ("MissingPosition", "carol", drift["findings"][1]["expected"], "0", "100", "alerted"),
    ]
    assert D(drift["findings"][1]["expected"]).quantize(D("0.00001")) == D("0.03333")  # 200 / 3000 x 0.5
    assert [f["severity"] for f in drift["findings"]] == ["warning", "critical"]
    assert all(f["heal_requested"] and f["heal_error"] == "" for f in drift["findings"])


def test_heal_brings_them_back_and_the_next_audit_reports_them_resolved(
    report: dict[str, Any], checks: dict[str, CheckResult]
) -> None:
    healed = checks["healed"]
    assert record(healed, "bob").follower_size == D("0.1") and record(healed, "carol").follower_size == D("0.03333")
    assert [len(record(healed, f).orders) for f in ("alice", "bob", "carol")] == [0, 1, 1]  # heal orders only
    assert [(a.kind, a.severity) for a in record(healed, "bob").alerts] == [("SizeMismatch", "warning")]
    assert [(a.kind, a.severity) for a in record(healed, "carol").alerts] == [("MissingPosition", "critical")]
    assert [(kind, follower, status) for kind, follower, *_, status in findings(report, 1)] == [
        ("SizeMismatch", "bob", "resolved"), ("MissingPosition", "carol", "resolved"),
    ]  # fmt: skip
    assert report["audits"][1]["discrepancies"] == 0


def test_the_grace_period_and_a_paused_follower_are_not_judged(report: dict[str, Any]) -> None:
    graced, paused = report["audits"][2], report["audits"][3]
    assert graced["grace_s"] == 60.0 and graced["legs_checked"] == 0 and graced["findings"] == []
    assert sorted((s["follower_id"], s["reason"]) for s in graced["skipped"]) == [
        ("alice", "paused"), ("bob", "in_grace"), ("carol", "in_grace"),
    ]  # fmt: skip
    assert paused["legs_checked"] == 2 and paused["findings"] == []
    assert [(s["follower_id"], s["reason"]) for s in paused["skipped"]] == [("alice", "paused")]


def test_a_paused_follower_is_refused_the_increase_with_the_reason_and_its_reduction_passes(
    checks: dict[str, CheckResult],
) -> None:
    refused = record(checks["increase refused while paused"], "alice")
    assert (refused.master_size, refused.follower_size, refused.orders) == (D("0.8"), D("0.166"), ())
    assert [r.reason for r in refused.refusals] == ["copying_paused"] and refused.passed
    assert [(a.kind, a.severity, a.title) for a in refused.alerts] == [
        ("CopyRefused", "info", "Copy refused: copying_paused")
    ]
    assert record(checks["increase refused while paused"], "bob").follower_size == D("0.16")  # others copy on
    reduced = record(checks["reduction passes while paused"], "alice")
    ((order,),) = [reduced.orders]
    assert order.reduce_only and order.status == "placed" and order.side == "Sell"
    assert reduced.follower_size == D("0.133") and reduced.passed
    assert record(checks["resumed"], "alice").follower_size == D("0.166")  # resumed: the next change grows it


def test_close_all_flattens_the_follower_and_keeps_it_paused(checks: dict[str, CheckResult]) -> None:
    bob = record(checks["bob closed out"], "bob")
    assert (bob.master_size, bob.follower_size, bob.passed) == (D("0.5"), D("0"), True)
    assert "paused (kill switch)" in bob.note
    assert record(checks["bob closed out"], "alice").follower_size == D("0.166")  # the others untouched
    assert all(r.master_size == 0 and r.follower_size == 0 for r in checks["full close"].records)


def test_the_report_lists_every_alert_as_it_fired(report: dict[str, Any]) -> None:
    alerts = report["alerts"]
    assert [(a["kind"], a["severity"], a["follower"], a["symbol"]) for a in alerts] == [
        ("SizeMismatch", "warning", "bob", "BTCUSDT"),
        ("MissingPosition", "critical", "carol", "BTCUSDT"),
        ("SizeMismatchResolved", "info", "bob", "BTCUSDT"),
        ("MissingPositionResolved", "info", "carol", "BTCUSDT"),
        ("CopyRefused", "info", "alice", "BTCUSDT"),
    ]
    assert all(a["title"] and a["text"] and a["created_ms"] > 0 for a in alerts)
    times = [a["at_s"] for a in alerts]
    assert times == sorted(times) and 0 < times[0] < report["duration_s"]


async def test_without_heal_a_steady_discrepancy_is_alerted_once_then_suppressed() -> None:
    raw = json.loads(SCENARIO.read_text(encoding="utf-8"))
    raw["heal"] = False
    raw["steps"] = [
        {"do": "leverage", "symbol": "BTCUSDT", "leverage": "10"},
        {"do": "order", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.5"},
        {"do": "check", "name": "open"},
        {"do": "follower_order", "follower": "bob", "symbol": "BTCUSDT", "side": "Sell", "qty": "0.05",
         "reduce_only": True},
        {"do": "audit", "name": "first"},
        {"do": "audit", "name": "again"},
    ]  # fmt: skip
    run = await run_demo(parse_scenario(raw))
    report = json.loads(json.dumps(build_report(run)))
    assert run.verdict == "pass", json.dumps(report, indent=1)[:4000]
    assert findings(report, 0) == [("SizeMismatch", "bob", "0.1", "0.05", "50", "alerted")]
    assert findings(report, 1) == [("SizeMismatch", "bob", "0.1", "0.05", "50", "suppressed")]
    assert not report["audits"][0]["findings"][0]["heal_requested"]
    assert [a["kind"] for a in report["alerts"]] == ["SizeMismatch"]  # told once
