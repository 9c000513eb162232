"""The demo's JSON report: every check's records and an overall ``verdict`` ("pass" or "fail").

Numbers are strings, as in the scenario (Decimal text, never a float), except timings (seconds, milliseconds).
Besides the checks: every audit step's findings (``audits``) and every alert raised during the run (``alerts``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from runtime.demo.alert_log import AlertSeen
from runtime.demo.checks import CheckRecord, CheckResult
from runtime.demo.operator import AuditRun
from runtime.demo.player import PlayResult
from runtime.demo.scenario import Scenario
from runtime.domain.values import decimal_str

PASS = "pass"
FAIL = "fail"


@dataclass(frozen=True)
class DemoRun:
    scenario: Scenario
    play: PlayResult
    started_at: datetime
    duration_s: float
    counters: dict[str, object]
    setup_error: str = ""
    alerts: tuple[AlertSeen, ...] = ()
    host: str = "local"  # runtime.demo.hosts: where the engine ran

    @property
    def error(self) -> str:
        return self.setup_error or self.play.error

    @property
    def verdict(self) -> str:
        checks = self.play.checks
        return PASS if not self.error and checks and all(check.passed for check in checks) else FAIL


def build_report(run: DemoRun) -> dict[str, Any]:
    checks = run.play.checks
    return {
        "scenario": run.scenario.name,
        "description": run.scenario.description,
        "host": run.host,
        "verdict": run.verdict,
        "error": run.error,
        "started_at": run.started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "duration_s": round(run.duration_s, 3),
        "checks_passed": sum(1 for check in checks if check.passed),
        "checks_total": len(checks),
        "followers": [
            {
                "id": follower.id,
                "venue": follower.venue.value,
                "balance": decimal_str(follower.balance),
                "position_mode": follower.position_mode.value,
                "sizing": _plain(follower.sizing.model_dump(exclude_none=True)),
            }
            for follower in run.scenario.followers
        ],
        "steps": [
            {
                "index": event.index + 1,
                "step": event.text,
                "status": event.phase,
                "at_s": round(event.elapsed_s, 3),
                **({"error": event.error} if event.error else {}),
            }
            for event in run.play.steps
        ],
        "checks": [check_json(check) for check in checks],
        "audits": [audit_json(audit) for audit in run.play.audits],
        "alerts": [alert.to_json() for alert in run.alerts],
        "engine": _plain(run.counters),
    }


def audit_json(audit: AuditRun) -> dict[str, Any]:
    """An audit step: its findings (kind, follower, symbol, expected, actual, deviation, alerted / realerted /
    suppressed / resolved) and the legs it left out with the reason (in_grace, paused, ...)."""
    report = audit.report.to_dict()
    return {
        "audit": audit.index,
        "name": audit.name,
        "step": audit.step_index + 1,
        "grace_s": audit.grace_s,
        "legs_checked": report["legs_checked"],
        "discrepancies": report["discrepancies"],
        "findings": report["findings"],
        "skipped": report["skipped"],
    }


def check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "check": check.index,
        "name": check.name,
        "step": check.step_index + 1,
        "passed": check.passed,
        "settled": check.settled,
        "waited_s": round(check.waited_s, 3),
        "records": [record_json(record) for record in check.records],
    }


def record_json(record: CheckRecord) -> dict[str, Any]:
    return {
        "follower": record.follower_id,
        "venue": record.venue.value,
        "symbol": record.symbol,
        "venue_symbol": record.venue_symbol,
        "leg": record.leg,
        "master_size": decimal_str(record.master_size),
        "follower_size": decimal_str(record.follower_size),
        "k": [decimal_str(k) for k in record.k],
        "ideal_target": decimal_str(record.ideal_target),
        "qty_step": decimal_str(record.qty_step),
        "deviation_steps": decimal_str(record.deviation_steps),
        "orders": [
            {
                "client_order_id": order.client_order_id,
                "side": order.side,
                "qty": decimal_str(order.qty),
                "reduce_only": order.reduce_only,
                "status": order.status,
                "copy_latency_ms": order.latency_ms,
            }
            for order in record.orders
        ],
        "refusals": [
            {"client_order_id": refusal.client_order_id, "reason": refusal.reason, "message": refusal.message}
            for refusal in record.refusals
        ],
        "alerts": [alert.to_json() for alert in record.alerts],
        "master_leverage": _optional(record.master_leverage),
        "follower_leverage": _optional(record.follower_leverage),
        "passed": record.passed,
        "note": record.note,
    }


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else decimal_str(value)


def write_report(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _plain(value: Any) -> Any:
    """JSON-ready: Decimals as text, containers recursively."""
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
