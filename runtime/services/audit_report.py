"""The result of one audit pass: what was found, what was said about it, what was left out, and two renderings
(JSON for machines, a rich table for a terminal)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from runtime.domain.audit import AlertAction, DiscrepancyKind, display_size
from runtime.domain.values import PositionIdx, Venue, decimal_str
from runtime.services.alerts.model import Severity
from runtime.services.audit_legs import SkippedLeg


@dataclass(frozen=True)
class AuditFinding:
    """One discrepancy (or one that cleared: ``status`` RESOLVED, ``kind`` the one that was alerted).

    ``expected`` is the ideal follower size and ``actual`` the live one, signed, in the follower venue's units.
    ``status`` says what the deduplication did: alerted (new), realerted (moved >= the re-alert step), suppressed
    (known and steady) or resolved. ``heal_requested`` says a heal sync was handed to the executor.
    """

    kind: DiscrepancyKind
    follower_id: str
    venue: Venue
    symbol: str
    follower_symbol: str
    position_idx: PositionIdx
    expected: Decimal
    actual: Decimal
    deviation_pct: Decimal
    status: AlertAction
    severity: Severity
    message: str
    heal_requested: bool = False
    heal_error: str = ""

    @property
    def is_open(self) -> bool:
        return self.status is not AlertAction.RESOLVE

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "follower_id": self.follower_id,
            "venue": self.venue.value,
            "symbol": self.symbol,
            "follower_symbol": self.follower_symbol,
            "position_idx": int(self.position_idx),
            "expected": decimal_str(self.expected),
            "actual": decimal_str(self.actual),
            "deviation_pct": decimal_str(self.deviation_pct),
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "heal_requested": self.heal_requested,
            "heal_error": self.heal_error,
        }


@dataclass(frozen=True)
class AuditReport:
    started_ms: int
    finished_ms: int
    followers_audited: tuple[str, ...]
    legs_checked: int
    findings: tuple[AuditFinding, ...]
    skipped: tuple[SkippedLeg, ...]
    dry_run: bool = False

    @property
    def discrepancies(self) -> tuple[AuditFinding, ...]:
        """The findings still open (everything but resolved notices)."""
        return tuple(finding for finding in self.findings if finding.is_open)

    def by_status(self, status: AlertAction) -> tuple[AuditFinding, ...]:
        return tuple(finding for finding in self.findings if finding.status is status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_ms": self.started_ms,
            "finished_ms": self.finished_ms,
            "dry_run": self.dry_run,
            "followers_audited": list(self.followers_audited),
            "legs_checked": self.legs_checked,
            "discrepancies": len(self.discrepancies),
            "findings": [finding.to_dict() for finding in self.findings],
            "skipped": [
                {
                    "follower_id": leg.follower_id,
                    "symbol": leg.symbol,
                    "position_idx": None if leg.position_idx is None else int(leg.position_idx),
                    "reason": leg.reason.value,
                    "detail": leg.detail,
                }
                for leg in self.skipped
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


_STATUS_STYLE = {
    AlertAction.ALERT: "bold red",
    AlertAction.REALERT: "red",
    AlertAction.SUPPRESS: "yellow",
    AlertAction.RESOLVE: "green",
}


def findings_table(report: AuditReport) -> Table:
    table = Table(title="Audit findings", title_justify="left")
    for column in ("follower", "venue", "symbol", "leg", "kind", "expected", "actual", "off %", "status"):
        numeric = column in ("expected", "actual", "off %", "leg")
        table.add_column(column, justify="right" if numeric else "left")
    for finding in report.findings:
        symbol = finding.symbol
        if finding.follower_symbol != symbol:
            symbol = f"{symbol} ({finding.follower_symbol})"
        status = f"[{_STATUS_STYLE[finding.status]}]{finding.status.value}[/]"
        table.add_row(
            finding.follower_id,
            finding.venue.value,
            symbol,
            str(int(finding.position_idx)),
            finding.kind.value,
            display_size(finding.expected),
            display_size(finding.actual),
            decimal_str(finding.deviation_pct),
            status + (" +heal" if finding.heal_requested else ""),
        )
    return table


def render_report(report: AuditReport, console: Console) -> None:
    """The report for a terminal: a summary line, the findings table, and the legs left out with the reason."""
    open_count = len(report.discrepancies)
    verdict = "[green]no discrepancies[/]" if open_count == 0 else f"[bold red]{open_count} discrepancies[/]"
    console.print(
        f"Audit of {len(report.followers_audited)} follower(s), {report.legs_checked} leg(s) checked: {verdict}"
    )
    if report.findings:
        console.print(findings_table(report))
    if report.skipped:
        skipped = Table(title="Not audited", title_justify="left")
        for column in ("follower", "symbol", "reason", "detail"):
            skipped.add_column(column)
        for leg in report.skipped:
            skipped.add_row(leg.follower_id, leg.symbol, leg.reason.value, leg.detail)
        console.print(skipped)
