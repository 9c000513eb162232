"""The demo on screen: a rich live view while it runs, then a summary table of every check.

Without a terminal (CI, a pipe) the live view is replaced by one plain line per step. Alerts are shown as they fire
(the newest few under the steps in the live view; one line each without a terminal), and the summary lists every
audit step's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from runtime.cli.status_view import engine_view
from runtime.demo.alert_log import AlertSeen
from runtime.demo.checks import CheckResult
from runtime.demo.operator import AuditRun
from runtime.demo.player import StepEvent
from runtime.demo.report import PASS, DemoRun
from runtime.domain.audit import display_size
from runtime.domain.values import decimal_str
from runtime.services.observers import EngineCounters, StatusBoard


class DemoLiveView:
    """A step listener that keeps a live view up to date (or prints plain lines without a terminal)."""

    def __init__(
        self,
        console: Console,
        title: str,
        *,
        live: bool,
    ) -> None:
        self.console = console
        self.title = title
        self._connected: Callable[[], bool | None] = lambda: None
        self._board: StatusBoard | None = None
        self._counters: EngineCounters | None = None
        self._venues: Mapping[str, str] = {}
        self._current = "starting the simulators and the engine"
        self._done: list[str] = []
        self._alerts: list[AlertSeen] = []
        self._live = (
            Live(console=console, get_renderable=self._render, refresh_per_second=8, transient=True) if live else None
        )

    def attach(
        self,
        board: StatusBoard,
        counters: EngineCounters,
        venues: Mapping[str, str],
        connected: Callable[[], bool | None],
    ) -> None:
        self._board, self._counters, self._venues, self._connected = board, counters, venues, connected

    def __enter__(self) -> DemoLiveView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def on_step(self, event: StepEvent) -> None:
        position = f"[{event.index + 1}/{event.total}]"
        if event.phase == "start":
            self._current = f"{position} {event.text}"
            return
        mark = "ok"
        if event.phase == "failed":
            mark = "FAILED"
        elif event.check is not None:
            mark = "passed" if event.check.passed else "FAILED"
        line = f"{position} {event.text}: {mark} ({event.elapsed_s:.1f} s)"
        if event.error:
            line += f"\n    {event.error}"
        self._done.append(line)
        if self._live is None:
            self.console.print(line, highlight=False)

    def on_alert(self, alert: AlertSeen) -> None:
        self._alerts.append(alert)
        if self._live is None:
            self.console.print(Text(f"    alert {alert.headline()}", style=_SEVERITY_STYLE.get(alert.severity, "")))

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = [Text(self.title, style="bold")]
        parts += [Text(line, style=_style(line)) for line in self._done[-8:]]
        parts.append(Text(f"> {self._current}", style="bold cyan"))
        if self._alerts:
            parts.append(Text(f"alerts ({len(self._alerts)}), newest last:", style="bold"))
            parts += [
                Text(f"  {alert.at_s:5.1f}s {alert.headline()}", style=_SEVERITY_STYLE.get(alert.severity, ""))
                for alert in self._alerts[-5:]
            ]
        if self._board is not None and self._counters is not None:
            parts.append(engine_view(self._board, self._counters, self._venues, self._connected()))
        return Group(*parts)


def _style(line: str) -> str:
    return "red" if "FAILED" in line else "green"


_SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def summary_table(run: DemoRun) -> RenderableType:
    """A title, then one small table per check: a row per follower and symbol (k, client ids and refusal messages
    are in the JSON report)."""
    checks = run.play.checks
    passed = sum(check.passed for check in checks)
    parts: list[RenderableType] = [
        Text(
            f"{run.scenario.name}: {run.verdict.upper()} "
            f"({passed}/{len(checks)} checks passed, {run.duration_s:.1f} s)",
            style="bold green" if run.verdict == PASS else "bold red",
        )
    ]
    for check in checks:
        title = Text(f"{check.index}. {check.name}: ", style="bold")
        title.append("passed" if check.passed else "FAILED", style="green" if check.passed else "bold red")
        if not check.settled:
            title.append(" (followers did not settle in time)", style="red")
        parts.append(_check_table(check, title))
        for record in check.records:
            for refusal in record.refusals[-1:]:
                parts.append(
                    Text(
                        f"  {record.follower_id} {record.symbol}: refused ({refusal.reason}): {refusal.message}",
                        "yellow",
                    )
                )
    parts += [_audit_summary(audit) for audit in run.play.audits]
    if run.alerts:
        counts = ", ".join(f"{sum(a.severity == s for a in run.alerts)} {s}" for s in _SEVERITY_STYLE)
        parts.append(Text(f"{len(run.alerts)} alerts ({counts}); every one is in the JSON report", style="bold"))
    return Group(*parts)


def _audit_summary(audit: AuditRun) -> RenderableType:
    report = audit.report
    head = Text(f"audit {audit.index}. {audit.name} (grace {audit.grace_s:g} s): ", style="bold")
    head.append(f"{len(report.discrepancies)} discrepancies, {report.legs_checked} legs checked")
    lines: list[RenderableType] = [head]
    for finding in report.findings:
        heal = ", heal queued" if finding.heal_requested else ""
        lines.append(
            Text(
                f"  {finding.follower_id} {finding.symbol}: {finding.kind.value} {finding.status.value} "
                f"(expected {display_size(finding.expected)}, holds {display_size(finding.actual)}, "
                f"{decimal_str(finding.deviation_pct)}% off{heal})",
                "green" if not finding.is_open else "yellow",
            )
        )
    return Group(*lines)


def _check_table(check: CheckResult, title: Text) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("follower", no_wrap=True)
    table.add_column("leg", no_wrap=True)
    for name in ("master", "size", "ideal", "dev", "orders", "latency"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for record in check.records:
        latencies = [order.latency_ms for order in record.orders if order.latency_ms is not None]
        result = Text("ok", style="green") if record.passed else Text("FAIL", style="bold red")
        if record.refusals:
            result.append("*", style="yellow")  # the refusal is printed under the table
        table.add_row(
            record.follower_id,
            f"{record.symbol.removesuffix('USDT')}:{record.leg}",
            _short(record.master_size),
            _short(record.follower_size),
            _short(record.ideal_target),
            f"{record.deviation_steps:.2f}",
            str(len(record.orders)),
            f"{max(latencies):.0f}ms" if latencies else "-",
            result,
        )
    return table


def _short(value: Decimal) -> str:
    """At most 4 significant digits, for the table (the report has every digit)."""
    return decimal_str(Decimal(format(value, ".4g")))
