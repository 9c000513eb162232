"""The follower executor: one job -> the follower brought in line with the master's LATEST snapshot, exactly once.

Steps (design brief sections 3-5; each step's details live in its own module):

1. paused -> skipped (when no risk gate is plugged in; with one, the gate refuses growth and lets closes through);
2. the master's latest snapshot(s) from the store, the symbol mapped to the follower's venue (``execution_targets``);
3. leverage sync, concurrently with the equity and position reads (``leverage_sync``);
4. k per lifecycle, fixed at the first job of the lifecycle (``store.get_or_set_ratio``); ideal target per follower
   leg; ``plan_orders`` per leg;
5. shaping, smart reduction and idempotent sending (``execution_orders``, ``idempotent_orders``);
6. the outcome with its per-hop times, every order and every skip written to the order log (``execution_log``).

``execute`` never raises for a venue or sizing problem: it returns an outcome saying what happened. Only a job for
a follower it does not know raises (a wiring bug). The store is called between awaits, never across one.

Jobs of one follower run one at a time (a lock per follower; the local host's per-follower queue already orders
them): two jobs of the same follower racing would both read the position before either order landed, and the
second's look-up of the first's in-flight claim could miss it on a venue that accepts a reused client id once the
first order has filled (Binance). Different followers run fully in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from runtime.domain.errors import ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import plan_orders
from runtime.domain.positions import FollowerPosition, LegKey
from runtime.domain.sizing import SizingError, copy_ratio
from runtime.domain.symbols import SymbolMap, UnmappedSymbolError
from runtime.domain.values import ZERO, PositionIdx
from runtime.ports.store import StateStore
from runtime.services.execution_ids import target_scope
from runtime.services.execution_log import HopRecorder, LogScope, OrderLogWriter, wall_clock_ms
from runtime.services.execution_orders import JobOrders, LegPlan, OrderGate, OrderRunner
from runtime.services.execution_targets import MasterView, follower_targets, master_legs_for
from runtime.services.follower_context import FollowerContext
from runtime.services.idempotent_orders import IdempotentSender
from runtime.services.jobs import FollowerJob, JobOutcome, JobReason, SkipReason
from runtime.services.leverage_sync import LeverageState, sync_leverage
from runtime.services.recovery import RecoveryReport, recover_unfinished_claims

log = logging.getLogger(__name__)


class UnknownFollowerError(KeyError):
    """A job named a follower the executor was not given: the dispatcher and the executor disagree."""

    def __init__(self, follower_id: str) -> None:
        super().__init__(
            f"no follower {follower_id!r} in the executor: build the executor and the dispatcher from the same config"
        )
        self.follower_id = follower_id


@dataclass(frozen=True)
class ExecutorSettings:
    """``smart_reduce_headroom``: the share of the follower's free margin smart reduction uses (fees, slippage and
    a mark that moved since the reference price keep the rest)."""

    smart_reduce_headroom: Decimal = Decimal("0.98")


class _Skip(Exception):
    """Internal: the job stops here on purpose (or could not read what it needs); becomes a skipped outcome."""

    def __init__(self, reason: SkipReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class _Job:
    """What one job learned so far (mutable while the job runs, frozen into the JobOutcome at the end)."""

    job: FollowerJob
    ctx: FollowerContext
    hops: HopRecorder
    outcome: JobOutcome
    scope: LogScope


class FollowerExecutor:
    """Executes follower jobs against the latest master snapshots in ``store``."""

    def __init__(
        self,
        store: StateStore,
        followers: Iterable[FollowerContext],
        *,
        master_id: str,
        symbol_map: SymbolMap,
        gate: OrderGate | None = None,
        settings: ExecutorSettings = ExecutorSettings(),
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.master_id = master_id
        self.symbol_map = symbol_map
        self._followers = {ctx.follower_id: ctx for ctx in followers}
        self._locks: dict[str, asyncio.Lock] = {}
        self._gate = gate
        self._monotonic = monotonic
        self._log = OrderLogWriter(store, monotonic=monotonic, wall_ms=wall_ms)
        sender = IdempotentSender(store, monotonic=monotonic, wall_ms=wall_ms)
        self._runner = OrderRunner(sender, gate, headroom=settings.smart_reduce_headroom)

    @property
    def followers(self) -> Mapping[str, FollowerContext]:
        return self._followers

    def add_follower(self, ctx: FollowerContext) -> None:
        self._followers[ctx.follower_id] = ctx

    async def recover(self, *, older_than_ms: int | None = None) -> RecoveryReport:
        """Resolve the claims a previous run left unfinished (call once at start, before the workers run)."""
        return await recover_unfinished_claims(self.store, self._followers, self._log, older_than_ms=older_than_ms)

    async def execute(self, job: FollowerJob) -> JobOutcome:
        ctx = self._followers.get(job.follower_id)
        if ctx is None:
            raise UnknownFollowerError(job.follower_id)
        hops = HopRecorder(self._monotonic, master_received=job.master_received_at, enqueued=job.enqueued_at)
        outcome = JobOutcome(
            follower_id=ctx.follower_id,
            venue=ctx.venue,
            master_symbol=job.symbol,
            venue_symbol="",
            position_idx=job.position_idx,
            trigger_seq=job.trigger_seq,
            reason=job.reason,
        )
        state = _Job(job, ctx, hops, outcome, LogScope(ctx.follower_id, ctx.venue, job.symbol, None, ""))
        try:
            async with self._locks.setdefault(ctx.follower_id, asyncio.Lock()):
                return await self._run(state)
        except _Skip as skip:
            return self._skipped(state, skip.reason, skip.message)
        except Exception as exc:  # a bug or a store failure: reported as an outcome, never lost
            log.exception("follower %s job for %s seq %d failed", ctx.follower_id, job.symbol, job.trigger_seq)
            return self._skipped(state, SkipReason.ERROR, f"unexpected error: {type(exc).__name__}: {exc}")

    # ----- the steps -------------------------------------------------------------------------------------------

    async def _run(self, state: _Job) -> JobOutcome:
        job, ctx = state.job, state.ctx
        if self._gate is None and (ctx.config.paused or self.store.is_follower_paused(ctx.follower_id)):
            raise _Skip(SkipReason.PAUSED, f"follower {ctx.follower_id} is paused; nothing was sent")
        venue_symbol, unit_ratio = self._map_symbol(state)
        view = self._master_view(state)
        rules = await self._rules(ctx, venue_symbol)
        if job.reason is JobReason.LEVERAGE_ONLY:
            leverage = await self._sync_leverage(state, view, venue_symbol, rules)
            state.outcome = replace(state.outcome, leverage=leverage.leverage, leverage_blocked=leverage.blocked)
            done = leverage.message or f"leverage synced to {leverage.leverage}x; a leverage change places no order"
            raise _Skip(SkipReason.LEVERAGE_ONLY, done)
        leverage, equity, positions = await self._sync_and_read(state, view, venue_symbol, rules)
        ratios = self._ratios(state, view, equity)
        targets = follower_targets(view, ratios, unit_ratio, ctx.is_hedge)
        current = _current_by_leg(positions, ctx.is_hedge)
        plans = [LegPlan(leg, plan_orders(ideal, current.get(leg, ZERO), rules)) for leg, ideal in targets.items()]
        state.outcome = replace(
            state.outcome,
            k=ratios.get(job.position_idx) or next(iter(ratios.values()), ZERO),
            ideal_target=sum((lp.plan.ideal for lp in plans), ZERO),
            size_before=sum((lp.plan.current for lp in plans), ZERO),
            rounded_target=sum((lp.plan.target for lp in plans), ZERO),
            leverage=leverage.leverage,
            leverage_blocked=leverage.blocked,
        )
        if all(lp.plan.is_empty for lp in plans):
            raise _Skip(*_nothing_to_do(view, plans))
        mark = view.reference_price(unit_ratio) or _follower_price(positions)
        orders = JobOrders(
            ctx=ctx,
            rules=rules,
            master_symbol=job.symbol,
            venue_symbol=venue_symbol,
            scope=state.scope.lifecycle_id,
            master_seq=view.seq,
            master_leg=LegKey(job.symbol, PositionIdx.ONE_WAY if view.netted else job.position_idx),
            sync=job.is_sync,
            mark_price=mark,
            leverage=leverage,
            equity=equity,
            positions=tuple(positions),
        )
        records = await self._runner.run(orders, plans)
        for record in records:
            state.hops.note_order(record)
        hops = state.hops.finish()
        for record in records:
            self._log.order(state.scope, record, hops)
        return replace(state.outcome, orders=tuple(records), hops=hops)

    def _map_symbol(self, state: _Job) -> tuple[str, Decimal]:
        try:
            venue_symbol = self.symbol_map.resolve(state.job.symbol, state.ctx.venue).symbol
            unit_ratio = self.symbol_map.unit_ratio(state.job.symbol, state.ctx.venue)
        except UnmappedSymbolError as exc:
            raise _Skip(SkipReason.SYMBOL_NOT_MAPPED, str(exc)) from exc
        state.outcome = replace(state.outcome, venue_symbol=venue_symbol)
        state.scope = replace(state.scope, venue_symbol=venue_symbol)
        return venue_symbol, unit_ratio

    def _master_view(self, state: _Job) -> MasterView:
        job = state.job
        legs = master_legs_for(job.position_idx, state.ctx.is_hedge)
        snapshots = {}
        for leg in legs:
            snapshot = self.store.get_master_snapshot(self.master_id, job.symbol, leg)
            if snapshot is not None:
                snapshots[leg] = snapshot
        view = MasterView(job.position_idx, legs, snapshots)
        scope = target_scope(view.leg_states(), netted=view.netted, sync_round=job.sync_round if job.is_sync else "")
        state.scope = replace(state.scope, master_seq=view.seq, lifecycle_id=scope)
        state.outcome = replace(state.outcome, snapshot_seq=view.seq)
        if not snapshots:
            raise _Skip(
                SkipReason.NO_MASTER_SNAPSHOT,
                f"no master snapshot of {job.symbol} leg {int(job.position_idx)} in the store; nothing to copy yet",
            )
        return view

    @staticmethod
    async def _rules(ctx: FollowerContext, venue_symbol: str) -> InstrumentRules:
        try:
            return await ctx.rules(venue_symbol)
        except Exception as exc:
            raise _Skip(SkipReason.READ_FAILED, _read_failed(ctx, f"the {venue_symbol} trading rules", exc)) from exc

    async def _sync_leverage(
        self, state: _Job, view: MasterView, venue_symbol: str, rules: InstrumentRules
    ) -> LeverageState:
        if view.is_flat:  # nothing will be opened: leave the follower's leverage alone
            return LeverageState(state.ctx.leverage_cache.get(venue_symbol, ZERO))
        result = await sync_leverage(state.ctx, venue_symbol, view.leverage(), rules)
        state.hops.mark("leverage_synced")
        return result

    async def _sync_and_read(
        self, state: _Job, view: MasterView, venue_symbol: str, rules: InstrumentRules
    ) -> tuple[LeverageState, Decimal, list[FollowerPosition]]:
        ctx = state.ctx
        leverage, equity, positions = await asyncio.gather(
            self._sync_leverage(state, view, venue_symbol, rules),
            ctx.client.equity(),
            ctx.client.positions(venue_symbol),
            return_exceptions=True,
        )
        state.hops.mark("reads_done")
        for what, result in (("equity", equity), (f"{venue_symbol} position", positions)):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation and the like are not ours to turn into an outcome
                raise _Skip(SkipReason.READ_FAILED, _read_failed(ctx, f"the {what}", result))
        assert isinstance(leverage, LeverageState) and isinstance(equity, Decimal) and isinstance(positions, list)
        return leverage, equity, [p for p in positions if p.symbol == venue_symbol]

    def _ratios(self, state: _Job, view: MasterView, equity: Decimal) -> dict[PositionIdx, Decimal]:
        """k per open master leg: stored at the lifecycle's first job, reused after (a flip's lifecycle is new)."""
        follower_id = state.ctx.follower_id
        ratios: dict[PositionIdx, Decimal] = {}
        for snapshot in view.open_legs:
            lifecycle = snapshot.lifecycle
            if lifecycle is None:
                raise _Skip(
                    SkipReason.SIZING_FAILED,
                    f"the master's {snapshot.leg} holds {snapshot.size} but its snapshot (seq {snapshot.seq}) has no "
                    "lifecycle, so k cannot be computed; restart the listener so it re-reads the master's positions",
                )
            k = self.store.get_ratio(follower_id, lifecycle.id)
            if k is None:
                try:
                    fresh = copy_ratio(state.ctx.sizing_rule, equity, lifecycle)
                except SizingError as exc:
                    raise _Skip(SkipReason.SIZING_FAILED, f"follower {follower_id}: {exc}") from exc
                k = self.store.get_or_set_ratio(follower_id, lifecycle.id, fresh)
            ratios[snapshot.position_idx] = k
        return ratios

    def _skipped(self, state: _Job, reason: SkipReason, message: str) -> JobOutcome:
        hops = state.hops.finish()
        try:
            self._log.skip(state.scope, reason, message, hops, position_idx=state.job.position_idx)
        except Exception:  # the store itself may be what failed; the outcome still reports the skip
            log.exception("could not write the skip of follower %s to the order log", state.ctx.follower_id)
        return replace(state.outcome, skip_reason=reason, message=message, hops=hops)


def _current_by_leg(positions: Iterable[FollowerPosition], hedge: bool) -> dict[PositionIdx, Decimal]:
    current: dict[PositionIdx, Decimal] = {}
    for position in positions:
        leg = PositionIdx(position.position_idx) if hedge else PositionIdx.ONE_WAY
        current[leg] = current.get(leg, ZERO) + position.size
    return current


def _follower_price(positions: Iterable[FollowerPosition]) -> Decimal:
    return next((p.entry_price for p in positions if p.entry_price > 0), ZERO)


def _nothing_to_do(view: MasterView, plans: list[LegPlan]) -> tuple[SkipReason, str]:
    if view.is_flat and all(lp.plan.current == 0 for lp in plans):
        return SkipReason.FLAT, "the master and the follower are both flat"
    if any(lp.plan.growth_below_one_step for lp in plans):
        return SkipReason.ON_TARGET, "the change is smaller than one quantity step of the follower's venue"
    return SkipReason.ON_TARGET, "the follower already holds the rounded target"


def _read_failed(ctx: FollowerContext, what: str, exc: Exception) -> str:
    detail = str(exc) if isinstance(exc, ExchangeError) else f"{type(exc).__name__}: {exc}"
    return (
        f"could not read {what} of follower {ctx.follower_id} on {ctx.venue.value} ({detail}); nothing was sent; "
        "the next job tries again"
    )
