"""The audit function on the local AWS host: the EventBridge schedule, and passes on demand (the demo's ``audit``
step). The function's reserved concurrency is 1 (alert de-duplication assumes one pass at a time), so every pass
takes one lock."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from runtime.hosts.aws import AwsServices
from runtime.hosts.aws_audit import heal_publisher
from runtime.hosts.aws_local.lambda_context import LambdaContext, scheduled_event
from runtime.hosts.aws_local.poller import Handler
from runtime.services.audit import AuditService
from runtime.services.audit_report import AuditReport

log = logging.getLogger(__name__)

T = TypeVar("T")


class AuditRuns:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def schedule(self, handler: Handler, interval_s: float, rule_name: str) -> None:
        """The rule: one invocation of ``handler`` per interval, the first one interval after the start."""
        while True:
            await asyncio.sleep(interval_s)
            context = LambdaContext("copytrader-local-audit", timeout_s=interval_s)
            call = functools.partial(handler, scheduled_event(rule_name), context)
            try:
                await asyncio.to_thread(self._locked, call)
            except Exception:  # EventBridge does not retry (retry_attempts=0): log; the next tick runs anyway
                log.exception("the scheduled audit failed; the next one runs in %g s", interval_s)

    async def once(self, services: AwsServices, grace_s: float | None = None) -> AuditReport:
        """One pass now, as the function runs it (``runtime.hosts.aws_audit.run_audit``: alerts, dedup state, heal
        jobs on queue 2), with ``grace_s`` as this pass's grace period when given."""
        return await asyncio.to_thread(self._locked, lambda: services.run(audit_pass(services, grace_s)))

    def _locked(self, run: Callable[[], T]) -> T:
        with self._lock:
            return run()


async def audit_pass(services: AwsServices, grace_s: float | None) -> AuditReport:
    audit = await services.audit(heal=heal_publisher(services.follower_orders))
    if grace_s is not None:
        audit = AuditService(
            audit.store,
            audit.clients,
            audit.followers,
            audit.symbol_map,
            audit.master_id,
            notify=audit.notify,
            heal=audit.heal,
            settings=replace(audit.settings, grace_s=grace_s),
            clock_ms=audit.clock_ms,
        )
    try:
        return await audit.run_once()
    finally:
        await services.flush_alerts()
