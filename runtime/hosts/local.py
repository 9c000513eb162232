"""The embedded host: one asyncio process running the whole copy path on one machine.

master feed -> ``Dispatcher`` (snapshot store, one job per follower) -> ``FollowerWorkers`` (one queue per follower)
-> executor -> observers.

Start-up, in this order, so nothing trades before it is safe to:
1. every key is checked at its venue (a key that can withdraw, or cannot trade, stops the start with what to do);
2. every follower account is put in its configured position mode (one-way or hedge) if it is not already;
3. unfinished idempotency claims of a previous run are resolved by looking the orders up (``recover``);
4. the master feed is seeded from REST (with the lifecycles persisted by the previous run) and the seeded legs are
   written to the snapshot store; a leg the store still holds open but the master closed meanwhile is re-read;
5. one SYNC job per follower x master leg is queued (level-triggered: followers already on target place nothing);
6. the master stream starts.
``stop`` stops the feed first (no new changes), then lets running jobs finish (see ``FollowerWorkers.stop``).

A start-up refusal (a key that can withdraw or cannot trade, a position mode that cannot be set) is also raised as
a **critical** alert through ``notify`` (the engine starts its alert pipeline before the host), and the audit's
heal mode reaches the follower's queue through ``enqueue_heal``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from runtime.adapters.common.key_check import UnsafeKeyError, ensure_safe_key, refusal_reason
from runtime.domain.correlator_state import MasterLegState
from runtime.domain.errors import ExchangeError
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.master_messages import PositionMsg
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, PositionMode, Venue
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import MasterSnapshot, StateStore
from runtime.services.alerts.model import Alert, Severity
from runtime.services.dispatcher import Dispatcher, JobFilter, allow_all, wall_clock_ms
from runtime.services.jobs import FollowerJob, JobReason
from runtime.services.observers import ObserverHub
from runtime.services.workers import FollowerWorkers, JobExecutor

log = logging.getLogger(__name__)

ChangeSink = Callable[[MasterPositionChanged], Awaitable[None]]
Notify = Callable[[Alert], None]


class LegSource(Protocol):
    def snapshot(self) -> tuple[MasterLegState, ...]: ...


class SymbolReader(Protocol):
    async def symbol_positions(self, symbol: str) -> list[PositionMsg]: ...


class MasterFeedPort(Protocol):
    """What the host needs of ``runtime.listener.master_feed.MasterFeed``."""

    @property
    def correlator(self) -> LegSource: ...

    @property
    def rest(self) -> SymbolReader: ...

    async def seed(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None: ...

    async def start(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class FollowerAccount:
    follower_id: str
    client: ExchangeClient
    position_mode: PositionMode = PositionMode.ONE_WAY


@dataclass(frozen=True)
class HostSettings:
    check_keys: bool = True
    set_position_modes: bool = True
    shutdown_timeout_s: float = 5.0
    feed_stop_timeout_s: float = 5.0


class StartupError(Exception):
    """The engine refuses to start; the message lists every problem found and what to do about each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("copytrader cannot start:\n" + "\n".join(f"  - {problem}" for problem in self.problems))


def snapshot_from_leg(master_id: str, state: MasterLegState, now_ms: int) -> MasterSnapshot:
    return MasterSnapshot(
        master_id=master_id,
        symbol=state.leg.symbol,
        position_idx=state.leg.position_idx,
        seq=state.seq,
        size=state.size,
        position_im=state.position_im,
        leverage=state.leverage,
        entry_price=state.entry_price,
        lifecycle=state.lifecycle if state.size != 0 else None,
        updated_ms=now_ms,
        last_activity_ms=state.updated_time_ms or now_ms,
    )


class LocalHost:
    def __init__(
        self,
        *,
        master_id: str,
        store: StateStore,
        followers: Sequence[FollowerAccount],
        executor: JobExecutor,
        feed_factory: Callable[[ChangeSink], MasterFeedPort],
        observers: ObserverHub | None = None,
        master_key_client: ExchangeClient | None = None,
        recover: Callable[[], Awaitable[object]] | None = None,
        job_filter: JobFilter = allow_all,
        settings: HostSettings | None = None,
        wall_ms: Callable[[], int] = wall_clock_ms,
        notify: Notify | None = None,
    ) -> None:
        self.master_id = master_id
        self.store = store
        self.followers = tuple(followers)
        self.observers = observers or ObserverHub()
        self.settings = settings or HostSettings()
        self._executor = executor
        self._feed_factory = feed_factory
        self._master_key_client = master_key_client
        self._recover = recover
        self._job_filter = job_filter
        self._wall_ms = wall_ms
        self._notify = notify
        self._workers: FollowerWorkers | None = None
        self._dispatcher: Dispatcher | None = None
        self.feed: MasterFeedPort | None = None
        self.started = False

    @property
    def workers(self) -> FollowerWorkers:
        if self._workers is None:
            raise RuntimeError("the host has not been started")
        return self._workers

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("the host has not been started")
        return self._dispatcher

    # --- start-up ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.check_keys:
            await self._refusing_start(self._check_keys(), "KeyRefused", "API key refused at start-up")
        if self.settings.set_position_modes:
            await self._refusing_start(
                self._ensure_position_modes(), "PositionModeRefused", "Position mode could not be set at start-up"
            )
        if self._recover is not None:
            await self._recover()
        self._workers = FollowerWorkers(self._executor, self.observers)
        ids = [follower.follower_id for follower in self.followers]
        self._workers.add_followers(ids)
        self._dispatcher = Dispatcher(
            self.store, ids, self._workers.submit, observer=self.observers, job_filter=self._job_filter
        )
        self.feed = self._feed_factory(self.on_master_change)
        lifecycles = {
            snap.leg: snap.lifecycle
            for snap in self.store.list_master_snapshots(self.master_id)
            if snap.lifecycle is not None and snap.size != 0
        }
        await self.feed.seed(lifecycles)
        await self._store_seeded_legs()
        legs = [snap.leg for snap in self.store.list_master_snapshots(self.master_id)]
        round_id = f"startup-{self._wall_ms()}"
        self._dispatcher.sync_jobs(legs, round_id, JobReason.SYNC)
        log.info("start-up sync %s: %d legs x %d followers queued", round_id, len(legs), len(ids))
        await self.feed.start(lifecycles)
        self.started = True

    async def _refusing_start(self, check: Awaitable[None], kind: str, title: str) -> None:
        """Run a start-up check; a refusal is alerted as critical (the engine is not copying) and re-raised."""
        try:
            await check
        except StartupError as exc:
            if self._notify is not None:
                text = "copytrader did not start:\n" + "\n".join(f"- {problem}" for problem in exc.problems)
                alert = Alert(f"startup:{self.master_id}:{kind}", kind, Severity.CRITICAL, title, text, self._wall_ms())
                try:
                    self._notify(alert)
                except Exception:  # notify never raises by contract; the refusal itself must still surface
                    log.exception("could not hand the start-up alert to the notifier")
            raise

    async def _check_keys(self) -> None:
        checks: list[Awaitable[str | None]] = [
            _follower_key_problem(follower.follower_id, follower.client) for follower in self.followers
        ]
        if self._master_key_client is not None:
            checks.append(_master_key_problem(self.master_id, self._master_key_client))
        problems = [problem for problem in await asyncio.gather(*checks) if problem]
        if problems:
            raise StartupError(problems)

    async def _ensure_position_modes(self) -> None:
        results = await asyncio.gather(*(_mode_problem(follower) for follower in self.followers))
        problems = [problem for problem in results if problem]
        if problems:
            raise StartupError(problems)

    async def _store_seeded_legs(self) -> None:
        assert self.feed is not None
        now = self._wall_ms()
        seeded = {state.leg: state for state in self.feed.correlator.snapshot()}
        for state in seeded.values():
            self.store.put_master_snapshot(snapshot_from_leg(self.master_id, state, now))
        # A leg stored open that the REST listing no longer shows was closed while we were away: read it by symbol
        # (Bybit returns it flat with its seq) so the SYNC round closes the followers too.
        stale = sorted(
            {
                snap.symbol
                for snap in self.store.list_master_snapshots(self.master_id)
                if snap.size != 0 and snap.leg not in seeded
            }
        )
        for symbol in stale:
            for position in await self.feed.rest.symbol_positions(symbol):
                state = MasterLegState(
                    leg=position.leg,
                    size=position.signed_size,
                    seq=position.seq,
                    position_im=position.position_im,
                    leverage=position.leverage,
                    entry_price=position.entry_price,
                    mark_price=position.mark_price,
                    lifecycle=None,
                    updated_time_ms=position.updated_time_ms,
                )
                if state.size == 0:
                    self.store.put_master_snapshot(snapshot_from_leg(self.master_id, state, now))

    # --- running -----------------------------------------------------------------------------------------------

    async def on_master_change(self, change: MasterPositionChanged) -> None:
        """The master feed's sink: snapshot, then one job per follower (the feed retries a sink that raises)."""
        self.dispatcher.dispatch(change)

    def sync(self, reason: JobReason = JobReason.SYNC, round_id: str | None = None) -> int:
        """Queue a sync round over every known master leg (the audit's heal mode uses HEAL); returns the jobs."""
        legs = [snap.leg for snap in self.store.list_master_snapshots(self.master_id)]
        jobs = self.dispatcher.sync_jobs(legs, round_id or f"{reason.value}-{self._wall_ms()}", reason)
        return len(jobs)

    async def enqueue_heal(self, follower_id: str, symbol: str, position_idx: PositionIdx, sync_round: str) -> None:
        """The audit's heal callback: a HEAL job on the follower's queue, run by the normal executor path (it only
        enqueues; raises ``UnknownFollowerError`` / ``WorkersStoppedError``, which the audit records)."""
        snapshot = self.store.get_master_snapshot(self.master_id, symbol, position_idx)
        job = FollowerJob(
            follower_id=follower_id,
            symbol=symbol,
            position_idx=position_idx,
            trigger_seq=snapshot.seq if snapshot is not None else 0,
            reason=JobReason.HEAL,
            sync_round=sync_round,
        )
        self.workers.submit(job)

    def is_idle(self) -> bool:
        return self._workers is None or self._workers.is_idle()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        return await self.workers.wait_idle(timeout_s)

    # --- shutdown ----------------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop the feed (no new changes), then the workers (running jobs finish; queued ones are dropped)."""
        if self.feed is not None:
            try:
                await asyncio.wait_for(self.feed.stop(), self.settings.feed_stop_timeout_s)
            except TimeoutError:
                # Seen with Python 3.11's wait_for swallowing a cancellation inside the stream's handshake: do not
                # hang the shutdown on it; asyncio.run cancels what is left when the loop closes.
                log.warning("the master feed did not stop within %g s; going on", self.settings.feed_stop_timeout_s)
        if self._workers is not None:
            await self._workers.stop(timeout_s=self.settings.shutdown_timeout_s)
        self.started = False


async def _follower_key_problem(follower_id: str, client: ExchangeClient) -> str | None:
    try:
        await ensure_safe_key(f"follower {follower_id}", client)
    except UnsafeKeyError as exc:
        return str(exc)
    except ExchangeError as exc:
        return f"follower {follower_id}: could not check the {client.venue.value} key: {exc}"
    return None


async def _master_key_problem(master_id: str, client: ExchangeClient) -> str | None:
    """The master's key only reads, so it need not trade; it must still not be able to withdraw."""
    try:
        permissions = await client.check_key_permissions()
    except ExchangeError as exc:
        return f"master {master_id}: could not check the bybit key: {exc}"
    return refusal_reason(f"master {master_id}", Venue.BYBIT.value, replace(permissions, can_trade_futures=True))


async def _mode_problem(follower: FollowerAccount) -> str | None:
    client, wanted = follower.client, follower.position_mode
    if client.venue is Venue.HYPERLIQUID:
        return None
    try:
        current = await client.position_mode()
        if current is not wanted:
            log.info("follower %s: switching position mode %s -> %s", follower.follower_id, current, wanted)
            await client.set_position_mode(wanted)
    except ExchangeError as exc:
        return (
            f"follower {follower.follower_id}: the account must be in {wanted.value} mode as configured, and switching "
            f"it failed ({exc}). Close its open positions and orders, or set position_mode to match the account."
        )
    return None
