"""The audit service (design brief section 6): every ``interval`` it compares each follower with the master, tells
people about discrepancies without repeating itself, and (in heal mode) asks the executor to fix them.

One pass (``run_once``):
1. the master's legs from the store (the latest confirmed snapshots, flat legs included);
2. each audited follower's live positions, all followers concurrently (a paused follower is not audited: its
   differences are intended; a follower whose venue does not answer is reported and its alerts left alone);
3. per leg: ``runtime.domain.audit`` judges it (grace, one step, threshold) and deduplicates against the stored
   ``AlertState`` (new -> alert, moved >= 1 pp -> alert again, steady -> nothing, cleared -> "resolved");
4. state is written (put/delete), notices go to ``notify`` (non-blocking: the alert pipeline delivers them), and in
   heal mode every open discrepancy is handed to ``heal`` (the host turns it into a HEAL job on the follower's queue).

Severities: MissingPosition and ExtraPosition are **critical** (the follower lacks protection the master has, or
carries exposure the master does not: both need a human now); a SizeMismatch is a **warning**, **critical** when
the follower is on the wrong side; "resolved" is **info**.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from runtime.config.model import FollowerConfig
from runtime.config.sections import EngineConfig
from runtime.domain.audit import (
    AlertAction,
    AlertDecision,
    AuditThresholds,
    Discrepancy,
    DiscrepancyKind,
    LegComparison,
    Verdict,
    assess,
    decide_alert,
    describe,
)
from runtime.domain.positions import FollowerPosition
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import AlertState, MasterSnapshot, StateStore
from runtime.services.alerts.model import Alert, Severity
from runtime.services.audit_legs import FollowerAuditor, FollowerLegs, SkippedLeg, SkipReason
from runtime.services.audit_report import AuditFinding, AuditReport

log = logging.getLogger(__name__)

KEY_PREFIX = "audit:"

HealCallback = Callable[[str, str, PositionIdx, str], Awaitable[None]]
Notify = Callable[[Alert], None]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class AuditSettings:
    """``dry_run`` = report only: no state written, no notices, no heals (``copytrader audit``'s one-shot view)."""

    interval_s: float = 60.0
    grace_s: float = 60.0
    mismatch_threshold_pct: Decimal = Decimal(5)
    realert_step_pp: Decimal = Decimal(1)
    heal: bool = False
    dry_run: bool = False

    @staticmethod
    def from_engine(engine: EngineConfig, *, dry_run: bool = False) -> AuditSettings:
        return AuditSettings(
            interval_s=engine.audit_interval_s,
            grace_s=engine.audit_grace_s,
            mismatch_threshold_pct=engine.mismatch_threshold_pct,
            realert_step_pp=engine.realert_step_pp,
            heal=engine.heal,
            dry_run=dry_run,
        )

    @property
    def thresholds(self) -> AuditThresholds:
        return AuditThresholds(round(self.grace_s * 1000), self.mismatch_threshold_pct, self.realert_step_pp)


def severity_of(kind: DiscrepancyKind, action: AlertAction, wrong_side: bool = False) -> Severity:
    if action is AlertAction.RESOLVE:
        return Severity.INFO
    if kind is DiscrepancyKind.SIZE_MISMATCH and not wrong_side:
        return Severity.WARNING
    return Severity.CRITICAL


@dataclass
class _Pass:
    """What one run collects before it becomes a report."""

    now_ms: int
    findings: list[AuditFinding] = field(default_factory=list)
    skipped: list[SkippedLeg] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)
    legs_checked: int = 0


async def _no_heal(follower_id: str, symbol: str, position_idx: PositionIdx, sync_round: str) -> None:
    return None


class AuditService:
    """The periodic audit of every follower against the master. ``clients`` and ``followers`` are keyed by
    follower id; ``notify`` must not block (``AlertDispatcher.notify``); ``heal`` is awaited once per open
    discrepancy in heal mode and should only enqueue."""

    def __init__(
        self,
        store: StateStore,
        clients: Mapping[str, ExchangeClient],
        followers: Mapping[str, FollowerConfig],
        symbol_map: SymbolMap,
        master_id: str,
        *,
        notify: Notify | None = None,
        heal: HealCallback | None = None,
        settings: AuditSettings | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.clients = dict(clients)
        self.followers = dict(followers)
        self.symbol_map = symbol_map
        self.master_id = master_id
        self.notify = notify or (lambda alert: None)
        self.heal = heal or _no_heal
        self.settings = settings or AuditSettings()
        self.clock_ms = clock_ms

    # ----- one pass ---------------------------------------------------------------------------------------------

    async def run_once(self) -> AuditReport:
        run = _Pass(now_ms=self.clock_ms())
        snapshots = self.store.list_master_snapshots(self.master_id)
        followers = self._followers_to_audit(run)
        results = await asyncio.gather(*(self._follower_legs(follower, snapshots) for follower in followers))
        for follower, found in zip(followers, results, strict=True):
            if isinstance(found, SkippedLeg):  # its venue did not answer: reported, its alert state left alone
                run.skipped.append(found)
                continue
            run.audited.append(follower.id)
            run.skipped.extend(found.skipped)
            await self._judge_follower(follower, found, run)
        return AuditReport(
            started_ms=run.now_ms,
            finished_ms=self.clock_ms(),
            followers_audited=tuple(run.audited),
            legs_checked=run.legs_checked,
            findings=tuple(run.findings),
            skipped=tuple(run.skipped),
            dry_run=self.settings.dry_run,
        )

    async def run_forever(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Audit every ``interval_s`` until cancelled. A failed pass is logged and the next one runs on time."""
        while True:
            try:
                report = await self.run_once()
                if report.discrepancies:
                    log.warning("audit: %d discrepancies", len(report.discrepancies))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audit pass failed; the next pass runs in %.0f s", self.settings.interval_s)
            await sleep(self.settings.interval_s)

    def _followers_to_audit(self, run: _Pass) -> list[FollowerConfig]:
        chosen: list[FollowerConfig] = []
        for follower_id, follower in sorted(self.followers.items()):
            if not follower.enabled or follower_id not in self.clients:
                continue
            if follower.paused or self.store.is_follower_paused(follower_id):
                detail = "copying is paused (kill switch): differences are expected until it is resumed"
                run.skipped.append(SkippedLeg(follower_id, "*", SkipReason.PAUSED, detail))
                continue
            chosen.append(follower)
        return chosen

    async def _follower_legs(
        self, follower: FollowerConfig, snapshots: list[MasterSnapshot]
    ) -> FollowerLegs | SkippedLeg:
        client = self.clients[follower.id]
        auditor = FollowerAuditor(follower, client, self.store, self.symbol_map)
        try:
            positions: list[FollowerPosition] = await client.positions()
            return await auditor.legs(snapshots, positions)
        except Exception as exc:  # one follower's venue failing must not stop the others' audit
            log.warning("audit: follower %s not audited: %s", follower.id, exc)
            return SkippedLeg(follower.id, "*", SkipReason.READ_FAILED, f"positions could not be read: {exc}")

    # ----- judging, dedup and side effects ----------------------------------------------------------------------

    async def _judge_follower(self, follower: FollowerConfig, found: FollowerLegs, run: _Pass) -> None:
        thresholds = self.settings.thresholds
        untouched = {leg.alert_key for leg in found.skipped if leg.alert_key is not None}
        judged: set[str] = set()
        for comparison in found.comparisons:
            key = comparison.alert_key
            assessment = assess(comparison, run.now_ms, thresholds)
            if assessment.verdict is Verdict.IN_GRACE:
                untouched.add(key)
                run.skipped.append(
                    SkippedLeg(follower.id, comparison.symbol, SkipReason.IN_GRACE, "", comparison.position_idx)
                )
                continue
            run.legs_checked += 1
            judged.add(key)
            previous = self.store.get_alert(key)
            found_now = assessment.discrepancy
            decision = decide_alert(key, comparison, found_now, previous, run.now_ms, thresholds.realert_step_pp)
            await self._apply(follower, comparison, found_now, previous, decision, run)
        # Alerts of this follower whose leg no longer shows up at all (an extra position closed on a symbol the
        # master never traded): the discrepancy is gone, so it resolves; legs left out this pass stay as they are.
        for state in self.store.list_alerts():
            if state.follower_id != follower.id or not state.key.startswith(KEY_PREFIX):
                continue
            if state.key in judged or state.key in untouched or state.symbol in found.skipped_symbols:
                continue
            await self._resolve_vanished(follower, state, run)

    async def _apply(
        self,
        follower: FollowerConfig,
        comparison: LegComparison,
        discrepancy: Discrepancy | None,
        previous: AlertState | None,
        decision: AlertDecision,
        run: _Pass,
    ) -> None:
        self._persist(comparison.alert_key, decision)
        if decision.action is None:
            return
        if discrepancy is not None:
            kind, expected, actual, deviation = (
                discrepancy.kind,
                discrepancy.expected,
                discrepancy.actual,
                discrepancy.deviation_pct,
            )
            wrong_side = discrepancy.wrong_side
        else:  # resolved: report the kind that was alerted, with today's (agreeing) sizes
            kind = DiscrepancyKind(previous.kind) if previous is not None else DiscrepancyKind.SIZE_MISMATCH
            expected, actual, deviation, wrong_side = comparison.expected, comparison.follower_size, Decimal(0), False
        finding = AuditFinding(
            kind=kind,
            follower_id=follower.id,
            venue=follower.venue,
            symbol=comparison.symbol,
            follower_symbol=comparison.follower_symbol,
            position_idx=comparison.position_idx,
            expected=expected,
            actual=actual,
            deviation_pct=deviation,
            status=decision.action,
            severity=severity_of(kind, decision.action, wrong_side),
            message="",
        )
        finding = replace(finding, message=self._message(finding))
        if decision.action is not AlertAction.SUPPRESS:
            self._send(finding, comparison.alert_key, run.now_ms)
        if discrepancy is not None:
            finding = await self._heal(finding, comparison, run.now_ms)
        run.findings.append(finding)

    async def _resolve_vanished(self, follower: FollowerConfig, state: AlertState, run: _Pass) -> None:
        action = AlertAction.RESOLVE if state.last_alert_ms is not None else None
        if not self.settings.dry_run:
            self.store.delete_alert(state.key)
        if action is None:
            return
        kind = DiscrepancyKind(state.kind)
        finding = AuditFinding(
            kind=kind,
            follower_id=follower.id,
            venue=follower.venue,
            symbol=state.symbol,
            follower_symbol=state.symbol,
            position_idx=state.position_idx,
            expected=Decimal(0),
            actual=Decimal(0),
            deviation_pct=Decimal(0),
            status=action,
            severity=Severity.INFO,
            message="",
        )
        finding = replace(finding, message=self._message(finding))
        self._send(finding, state.key, run.now_ms)
        run.findings.append(finding)

    def _persist(self, key: str, decision: AlertDecision) -> None:
        if self.settings.dry_run:
            return
        if decision.delete:
            self.store.delete_alert(key)
        elif decision.store is not None:
            self.store.put_alert(decision.store)

    def _send(self, finding: AuditFinding, key: str, now_ms: int) -> None:
        if self.settings.dry_run:
            return
        title = f"{finding.kind.value} resolved" if finding.status is AlertAction.RESOLVE else finding.kind.value
        alert = Alert(
            key=key,
            kind=finding.kind.value if finding.status is not AlertAction.RESOLVE else f"{finding.kind.value}Resolved",
            severity=finding.severity,
            title=title,
            text=finding.message,
            created_ms=now_ms,
            follower_id=finding.follower_id,
            symbol=finding.symbol,
        )
        try:
            self.notify(alert)
        except Exception:  # a notifier must never break the audit (it is non-blocking; this is belt and braces)
            log.exception("audit: could not hand alert %s to the notifier", key)

    async def _heal(self, finding: AuditFinding, comparison: LegComparison, now_ms: int) -> AuditFinding:
        if not self.settings.heal or self.settings.dry_run:
            return finding
        # For a netted comparison the executor nets both legs whatever leg it is given; name a real master leg.
        legs = [leg.position_idx for leg in comparison.master_legs]
        position_idx = legs[0] if legs and comparison.position_idx is PositionIdx.ONE_WAY else comparison.position_idx
        sync_round = f"audit-{now_ms}"
        try:
            await self.heal(finding.follower_id, comparison.symbol, position_idx, sync_round)
        except Exception as exc:
            log.exception("audit: heal of %s %s failed", finding.follower_id, comparison.symbol)
            return replace(finding, heal_error=str(exc))
        return replace(finding, heal_requested=True)

    @staticmethod
    def _message(finding: AuditFinding) -> str:
        leg = f" leg {int(finding.position_idx)}" if finding.position_idx is not PositionIdx.ONE_WAY else ""
        where = f"{finding.follower_symbol} on {finding.venue.value}{leg}"
        if finding.status is AlertAction.RESOLVE:
            return f"{where}: {finding.kind.value} cleared, the follower is back in line with the master"
        return f"{where}: {describe(finding.kind, finding.expected, finding.actual, finding.deviation_pct)}"
