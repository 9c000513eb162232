"""What watches the local host's copy path: the alert pipeline, the periodic audit and the master stream watch.

None of it can block or fail a copy: alerts are queued and delivered in the background (``AlertDispatcher``), the
audit and the stream watch are tasks of their own whose failures are logged, and the audit's heal only enqueues a
HEAL job on the follower's queue.

Order with the engine (``runtime.bootstrap.Engine``): ``start_alerts`` before the host starts (so a start-up
refusal is delivered), ``start_watchers`` once it runs, ``stop_watchers`` before the host stops (no heal after the
workers are gone), ``close_alerts`` after it (the last alerts are delivered).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from runtime.services.alerts.dispatcher import AlertDispatcher
from runtime.services.audit import AuditService
from runtime.services.audit_report import AuditReport
from runtime.services.stream_alerts import MasterStreamWatch

log = logging.getLogger(__name__)

ALERT_DRAIN_TIMEOUT_S = 2.0


class Supervisor:
    """Owns the alert dispatcher's lifecycle and the audit and stream-watch tasks."""

    def __init__(
        self,
        alerts: AlertDispatcher,
        audit: AuditService,
        stream_watch: MasterStreamWatch,
        *,
        periodic_audit: bool = True,
    ) -> None:
        self.alerts = alerts
        self.audit = audit
        self.stream_watch = stream_watch
        self.periodic_audit = periodic_audit
        self._audit_lock = asyncio.Lock()  # one pass at a time: a pass on demand never interleaves a periodic one
        self._tasks: list[asyncio.Task[None]] = []

    async def start_alerts(self) -> None:
        await self.alerts.start()

    def start_watchers(self) -> None:
        if self._tasks:
            return
        if self.periodic_audit:
            self._tasks.append(asyncio.create_task(self._audit_loop(), name="audit"))
        self._tasks.append(asyncio.create_task(self.stream_watch.run_forever(), name="master-stream-watch"))

    async def audit_once(self, *, grace_s: float | None = None) -> AuditReport:
        """One audit pass now, exactly as the periodic one (alerts, dedup state, heal); ``grace_s`` overrides the
        configured grace period for this pass only."""
        service = self.audit
        if grace_s is not None:
            service = AuditService(
                service.store,
                service.clients,
                service.followers,
                service.symbol_map,
                service.master_id,
                notify=service.notify,
                heal=service.heal,
                settings=replace(service.settings, grace_s=grace_s),
                clock_ms=service.clock_ms,
            )
        async with self._audit_lock:
            return await service.run_once()

    async def _audit_loop(self) -> None:
        """``AuditService.run_forever``'s loop, with two differences: the first pass comes one interval after the
        start (the start-up SYNC round lands first instead of being reported as discrepancies), and each pass holds
        the lock ``audit_once`` takes."""
        interval = self.audit.settings.interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._audit_lock:
                    report = await self.audit.run_once()
                if report.discrepancies:
                    log.warning("audit: %d discrepancies", len(report.discrepancies))
            except Exception:
                log.exception("audit pass failed; the next pass runs in %.0f s", interval)

    async def stop_watchers(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            try:
                self.stream_watch.poll()  # what the stream did since the last poll is still told
            except Exception:  # stopping must go on
                log.exception("the last master stream watch poll failed")

    async def close_alerts(self, drain_timeout_s: float = ALERT_DRAIN_TIMEOUT_S) -> None:
        await self.alerts.close(drain_timeout_s=drain_timeout_s)
