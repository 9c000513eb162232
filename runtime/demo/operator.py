"""What a scenario does besides the master's trading: a follower's owner trading behind the engine's back, the kill
switch, and an audit pass on demand.

- ``follower_order`` trades on the follower's own account through the venue adapter (the venue's real API, as the
  follower's own tool would), with a client of its own, not the engine's: the engine learns about it only by
  reading the follower's position, as the audit does.
- ``pause`` / ``resume`` / ``close_all`` use ``KillSwitch`` on the engine's state store, as ``copytrader follower``
  does from another terminal; the running engine sees the flag on its very next job and order.
- ``audit`` runs one pass of the engine's own audit (alerts, dedup state and, with ``heal``, HEAL jobs on the
  followers' queues) with the step's grace period.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from runtime.adapters.common.redaction import SecretRegistry
from runtime.demo.hosts import DemoEngine
from runtime.demo.scenario import AuditStep, CloseAllStep, FollowerOrderStep, KillSwitchStep, PauseStep, ResumeStep
from runtime.demo.world import DemoWorld
from runtime.domain.client_ids import ClientOrderKey, client_order_id
from runtime.domain.positions import LegKey
from runtime.domain.values import decimal_str
from runtime.ports.exchange import ExchangeClient, OrderRequest
from runtime.services.audit_report import AuditReport
from runtime.services.client_factory import ClientFactory
from runtime.services.kill_switch import KillSwitch

ALERT_SETTLE_S = 1.0  # how long an audit step waits for its alerts to reach the demo's alert feed


class DemoStepError(Exception):
    """A step could not do what it says (a close-all that left a position open, ...)."""


@dataclass(frozen=True)
class AuditRun:
    """One audit step: its number (1-based), the step, the grace period used and the pass's report."""

    index: int
    step_index: int
    name: str
    grace_s: float
    report: AuditReport


class DemoOperator:
    def __init__(self, world: DemoWorld[DemoEngine], *, secrets: SecretRegistry | None = None) -> None:
        self.world = world
        self._factory = ClientFactory(secrets=secrets)
        self._hands: dict[str, ExchangeClient] = {}
        self._audits = 0

    async def follower_order(self, step: FollowerOrderStep) -> None:
        config = self.world.config.follower(step.follower)
        client = self._hand(step.follower)
        symbol = self.world.venue_symbol(step.symbol, config.venue)
        # A client id of the follower's own (random, outside the engine's deterministic id space).
        key = ClientOrderKey(f"hand-{uuid.uuid4().hex}", "by-hand", 1, LegKey(symbol, step.position_idx))
        request = OrderRequest(
            symbol,
            step.side,
            step.qty,
            client_order_id(key, config.venue),
            reduce_only=step.reduce_only,
            position_idx=step.position_idx,
        )
        await client.place_market_order(request)

    async def kill_switch(self, step: KillSwitchStep) -> None:
        switch = KillSwitch(self.world.engine.store)
        if isinstance(step, PauseStep):
            switch.pause(step.follower)
        elif isinstance(step, ResumeStep):
            switch.resume(step.follower)
        elif isinstance(step, CloseAllStep):
            report = await switch.close_all(step.follower, self.world.engine.clients[step.follower])
            if not report.ok:
                still = ", ".join(f"{p.symbol} {decimal_str(p.size)}" for p in report.remaining) or "nothing"
                failed = [o.message for o in report.orders if not o.ok]
                raise DemoStepError(f"close-all of {step.follower} left {still} open; failed orders: {failed}")

    async def audit(self, step_index: int, step: AuditStep) -> AuditRun:
        grace = step.grace_s if step.grace_s is not None else self.world.scenario.audit_grace_s
        report = await self.world.engine.audit_once(grace_s=grace)
        # Alerts are delivered in the background; let them reach the feed so the live view and the next check
        # show them next to this step.
        await self.world.engine.alerts.drain(ALERT_SETTLE_S)
        self._audits += 1
        return AuditRun(self._audits, step_index, step.name or f"audit {self._audits}", grace, report)

    def _hand(self, follower_id: str) -> ExchangeClient:
        if follower_id not in self._hands:
            self._hands[follower_id] = self._factory.build_all(self.world.config, [follower_id])[follower_id]
        return self._hands[follower_id]

    async def close(self) -> None:
        await self._factory.close()
