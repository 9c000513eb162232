"""The scenario's ``check`` step: wait until the followers settle, then compare each with the master.

Settled = the engine's snapshot store holds the master's current positions (as the Bybit simulator reports them),
no follower job is queued or running, and the followers' positions did not move over a quiet interval. Positions
are read from the simulators' admin API, not through the engine, so the check does not trust what it checks.

Per follower and master symbol (per leg when both are in hedge mode; netted for a one-way follower of a hedge
master) a record holds the master size, the follower size, k, the ideal target, the deviation in venue quantity
steps, the orders since the previous check (client ids, copy latency), refusals with reasons and the alerts raised
about that follower and symbol since the previous check. It passes when the follower is exactly flat where the
master is flat, within one step of its ideal target otherwise, when the engine recorded a refusal with a reason
(such as min notional) for it, or, for a paused follower (kill switch), when it holds no more than its target on the
master's side (growth is refused while paused; closes go through).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from runtime.demo.alert_log import AlertLog, AlertSeen
from runtime.demo.hosts import DemoEngine
from runtime.demo.world import MASTER_ACCOUNT, DemoWorld
from runtime.domain.sizing import LegTarget, net_target
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Venue, decimal_str
from runtime.services.jobs import FollowerJob, JobOutcome, OrderStatus
from runtime.services.observers import EngineObserver
from runtime.sim.catalogue import catalogue_for

QUIET_S = 0.25
POLL_S = 0.05
LegSizes = dict[PositionIdx, Decimal]


@dataclass(frozen=True)
class AccountView:
    """An account as its simulator reports it: venue symbol -> leg -> signed size, and leverage per symbol."""

    positions: dict[str, LegSizes]
    leverage: dict[str, Decimal]


@dataclass
class OutcomeRecorder(EngineObserver):
    """Keeps every job outcome, in order, so a check can look at what happened since the previous one."""

    outcomes: list[JobOutcome] = field(default_factory=list)

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)


@dataclass(frozen=True)
class OrderSeen:
    client_order_id: str
    side: str
    qty: Decimal
    reduce_only: bool
    status: str
    latency_ms: float | None


@dataclass(frozen=True)
class RefusalSeen:
    client_order_id: str
    reason: str
    message: str


@dataclass(frozen=True)
class CheckRecord:
    follower_id: str
    venue: Venue
    symbol: str
    venue_symbol: str
    leg: str  # "0", "1", "2" or "net"
    master_size: Decimal
    follower_size: Decimal
    k: tuple[Decimal, ...]
    ideal_target: Decimal
    qty_step: Decimal
    deviation_steps: Decimal
    orders: tuple[OrderSeen, ...]
    refusals: tuple[RefusalSeen, ...]
    alerts: tuple[AlertSeen, ...]
    passed: bool
    note: str
    master_leverage: Decimal | None = None  # informational: a follower's leverage may be capped below the master's
    follower_leverage: Decimal | None = None


@dataclass(frozen=True)
class CheckResult:
    index: int  # the check's number (1-based)
    step_index: int
    name: str
    settled: bool
    waited_s: float
    records: tuple[CheckRecord, ...]

    @property
    def passed(self) -> bool:
        return self.settled and all(record.passed for record in self.records)


class Checker:
    def __init__(self, world: DemoWorld[DemoEngine], recorder: OutcomeRecorder, alerts: AlertLog | None = None) -> None:
        self.world = world
        self.recorder = recorder
        self.alerts = alerts or AlertLog()
        self._cursor = 0
        self._alert_cursor = 0
        self._count = 0

    async def check(self, step_index: int, name: str, timeout_s: float) -> CheckResult:
        self._count += 1
        started = time.monotonic()
        settled = await self._settle(started + timeout_s)
        master = await self._account(Venue.BYBIT, MASTER_ACCOUNT)
        outcomes = self.recorder.outcomes[self._cursor :]
        self._cursor = len(self.recorder.outcomes)
        records: list[CheckRecord] = []
        for follower in self.world.scenario.followers:
            held = await self._account(follower.venue, follower.id)
            for symbol in self._symbols(master.positions):
                records += self._records(follower.id, symbol, master, held, outcomes)
        fired, self._alert_cursor = self.alerts.since(self._alert_cursor)
        records = [
            replace(r, alerts=tuple(a for a in fired if a.follower_id == r.follower_id and a.symbol == r.symbol))
            for r in records
        ]
        label = name or f"check {self._count}"
        return CheckResult(self._count, step_index, label, settled, time.monotonic() - started, tuple(records))

    # --- settling ------------------------------------------------------------------------------------------------

    async def _settle(self, deadline: float) -> bool:
        host = self.world.engine.host
        while time.monotonic() < deadline:
            master = await self._positions(Venue.BYBIT, MASTER_ACCOUNT)
            if not self._master_confirmed(master) or not host.is_idle():
                await asyncio.sleep(POLL_S)
                continue
            before = await self._all_followers()
            await asyncio.sleep(QUIET_S)
            if host.is_idle() and before == await self._all_followers():
                return self._master_confirmed(await self._positions(Venue.BYBIT, MASTER_ACCOUNT))
        return False

    def _master_confirmed(self, master: dict[str, LegSizes]) -> bool:
        """The store's snapshots match the master's positions at the venue (the engine has seen every change)."""
        store = self.world.engine.store
        stored = {
            (snap.symbol, snap.position_idx): snap.size
            for snap in store.list_master_snapshots(self.world.config.master.id)
        }
        venue = {(symbol, idx): size for symbol, legs in master.items() for idx, size in legs.items()}
        return all(stored.get(key, ZERO) == venue.get(key, ZERO) for key in set(stored) | set(venue))

    async def _all_followers(self) -> list[dict[str, LegSizes]]:
        return [await self._positions(f.venue, f.id) for f in self.world.scenario.followers]

    async def _positions(self, venue: Venue, account: str) -> dict[str, LegSizes]:
        return (await self._account(venue, account)).positions

    async def _account(self, venue: Venue, account: str) -> AccountView:
        state: dict[str, Any] = await self.world.account(venue, account)
        held: dict[str, LegSizes] = {}
        leverage = {symbol: Decimal(value) for symbol, value in state.get("leverage", {}).items()}
        for item in state["positions"]:
            held.setdefault(item["symbol"], {})[PositionIdx(item["position_idx"])] = Decimal(item["signed_size"])
            leverage[item["symbol"]] = Decimal(item["leverage"])
        return AccountView(held, leverage)

    def _symbols(self, master: dict[str, LegSizes]) -> list[str]:
        traded = {snap.symbol for snap in self.world.engine.store.list_master_snapshots(self.world.config.master.id)}
        return sorted(traded | set(master))

    # --- records -------------------------------------------------------------------------------------------------

    def _records(
        self,
        follower_id: str,
        symbol: str,
        master_account: AccountView,
        account: AccountView,
        outcomes: list[JobOutcome],
    ) -> list[CheckRecord]:
        follower = self.world.config.follower(follower_id)
        venue = follower.venue
        venue_symbol = self.world.venue_symbol(symbol, venue)
        legs = master_account.positions.get(symbol, {})
        mine = account.positions.get(venue_symbol, {})
        leverages = (master_account.leverage.get(symbol), account.leverage.get(venue_symbol))
        hedge_master = self.world.scenario.master.position_mode is PositionMode.HEDGE
        hedge_follower = follower.position_mode is PositionMode.HEDGE and venue is not Venue.HYPERLIQUID
        mine_outcomes = [o for o in outcomes if o.follower_id == follower_id and o.master_symbol == symbol]
        standing = self._standing_refusals(follower_id, symbol)
        if hedge_master and hedge_follower:
            return [
                self._record(
                    follower_id,
                    venue,
                    symbol,
                    venue_symbol,
                    str(int(idx)),
                    {idx: legs.get(idx, ZERO)},
                    mine.get(idx, ZERO),
                    mine_outcomes,
                    standing,
                    leverages,
                )
                for idx in (PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT)
            ]
        master_legs = (
            {idx: legs.get(idx, ZERO) for idx in (PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT)}
            if hedge_master
            else {PositionIdx.ONE_WAY: legs.get(PositionIdx.ONE_WAY, ZERO)}
        )
        label = "net" if hedge_master else "0"
        total = sum(mine.values(), ZERO)  # a hedge follower of a one-way master holds it on one of its two legs
        return [
            self._record(
                follower_id, venue, symbol, venue_symbol, label, master_legs, total, mine_outcomes, standing, leverages
            )
        ]

    def _standing_refusals(self, follower_id: str, symbol: str) -> tuple[RefusalSeen, ...]:
        """The refusals of the follower's latest job on the symbol that decided anything about orders: a refusal
        (min notional, ...) stands until a later job places or plans differently."""
        for outcome in reversed(self.recorder.outcomes):
            if outcome.follower_id == follower_id and outcome.master_symbol == symbol and outcome.orders:
                return tuple(_refusals([outcome]))
        return ()

    def _record(
        self,
        follower_id: str,
        venue: Venue,
        symbol: str,
        venue_symbol: str,
        label: str,
        master_legs: dict[PositionIdx, Decimal],
        follower_size: Decimal,
        outcomes: list[JobOutcome],
        refusals: tuple[RefusalSeen, ...],
        leverages: tuple[Decimal | None, Decimal | None],
    ) -> CheckRecord:
        engine = self.world.engine
        step = _qty_step(venue, venue_symbol)
        unit_ratio = engine.symbols.unit_ratio(symbol, venue)
        ks: list[Decimal] = []
        targets: list[LegTarget] = []
        missing_k = False
        for idx, size in sorted(master_legs.items()):
            if size == 0:
                continue
            snap = engine.store.get_master_snapshot(self.world.config.master.id, symbol, idx)
            k = None
            if snap is not None and snap.lifecycle is not None:
                k = engine.store.get_ratio(follower_id, snap.lifecycle.id)
            if k is None:
                missing_k = True
                continue
            ks.append(k)
            targets.append(LegTarget(size, k, unit_ratio))
        ideal = net_target(targets)
        master_size = sum(master_legs.values(), ZERO)
        deviation = abs(follower_size - ideal) / step
        # A per-leg record (both in hedge mode) lists the orders of its own leg only.
        leg = PositionIdx(int(label)) if label in ("1", "2") else None
        orders = tuple(_orders(outcomes, leg))
        flat = all(size == 0 for size in master_legs.values())
        if flat:
            passed, note = follower_size == 0, "master flat: follower must be flat"
        elif missing_k:
            passed, note = bool(refusals), "no copy ratio stored for this lifecycle: the follower never sized it"
        elif deviation <= 1:
            passed, note = True, "within one step of the ideal target"
        elif engine.store.is_follower_paused(follower_id):
            passed = follower_size == 0 or (follower_size * ideal > 0 and abs(follower_size) <= abs(ideal) + step)
            note = "paused (kill switch): growth is refused, closes go through; must not hold more than its target"
        else:
            passed, note = bool(refusals), "off target" + (" with a recorded refusal" if refusals else "")
        master_leverage, follower_leverage = leverages
        if not flat and master_leverage and follower_leverage and master_leverage != follower_leverage:
            note += f" (leverage: master {decimal_str(master_leverage)}x, follower {decimal_str(follower_leverage)}x)"
        return CheckRecord(
            follower_id=follower_id,
            venue=venue,
            symbol=symbol,
            venue_symbol=venue_symbol,
            leg=label,
            master_size=master_size,
            follower_size=follower_size,
            k=tuple(ks),
            ideal_target=ideal,
            qty_step=step,
            deviation_steps=deviation.quantize(Decimal("0.001")),
            orders=orders,
            refusals=refusals,
            alerts=(),  # filled by ``check`` from the alert log
            passed=passed,
            note=note,
            master_leverage=master_leverage,
            follower_leverage=follower_leverage,
        )


def _qty_step(venue: Venue, venue_symbol: str) -> Decimal:
    rules = catalogue_for(venue).rules(venue_symbol)
    return rules.qty_step if rules is not None else Decimal(1)


def _orders(outcomes: list[JobOutcome], leg: PositionIdx | None = None) -> list[OrderSeen]:
    seen = []
    for outcome in outcomes:
        latency = outcome.hops.copy_latency_s
        for order in outcome.orders:
            if order.status in (OrderStatus.REFUSED, OrderStatus.SKIPPED):
                continue
            if leg is not None and order.position_idx is not leg:
                continue
            seen.append(
                OrderSeen(
                    order.client_order_id,
                    order.side.value,
                    order.qty,
                    order.reduce_only,
                    order.status.value,
                    round(latency * 1000, 1) if latency is not None and order.reached_venue else None,
                )
            )
    return seen


def _refusals(outcomes: list[JobOutcome]) -> list[RefusalSeen]:
    return [
        RefusalSeen(order.client_order_id, order.reason_code, order.message)
        for outcome in outcomes
        for order in outcome.refusals
    ]
