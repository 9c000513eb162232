"""The master feed: private stream + REST + ``MasterCorrelator`` -> exactly one ``MasterPositionChanged`` per change.

- Start: seed the correlator from a REST snapshot (equity, open legs, persisted lifecycles if the caller has them).
- Stream frames are parsed and fed to the correlator as they arrive.
- Every time the stream is (re-)established, the gap is replayed: equity, the executions since the last one seen
  (through ``on_execution``, so exec ids are deduplicated) and the positions (through ``on_rest_position``: by
  settle coin, plus by symbol for known legs the listing leaves out). The correlator's seq checks make a REST state
  older than what the stream already applied a no-op, so stream and replay may interleave freely.
- A worker calls ``correlator.poll`` every ``poll_interval_s`` and serves its fetch requests (parked fills that
  timed out) with REST position reads.
- Changes go through one ordered outbox to the async ``sink`` (e.g. ``queue.put``); a failing sink is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from runtime.domain.correlator import MasterCorrelator
from runtime.domain.correlator_state import CorrelatorOutput
from runtime.domain.errors import ExchangeError
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.master_messages import ExecutionMsg, MasterMessageError, PositionMsg, WalletMsg, parse_private_frame
from runtime.domain.positions import LegKey
from runtime.domain.values import decimal_str
from runtime.listener.master_rest import ExecutionBatch, MasterRestReader
from runtime.listener.master_stream import MasterStream
from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials
from runtime.listener.stream_stats import StreamStats

log = logging.getLogger(__name__)

ChangeSink = Callable[[MasterPositionChanged], Awaitable[None]]
# Bybit serves at most 7 days of executions per query; a start further back would hide the most recent ones.
EXECUTION_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000


@dataclass(frozen=True)
class MasterFeedConfig:
    master_id: str
    settle_coin: str = "USDT"
    poll_interval_s: float = 1.0
    pending_timeout_s: float = 5.0
    # Executions are re-read from this long before the last one seen (clock skew); exec ids make overlap harmless.
    exec_overlap_ms: int = 30_000
    replay_retry_s: float = 1.0
    # While the stream is down (venue WebSocket unreachable, REST fine) the gap is replayed this often, so changes
    # still reach the followers at REST pace instead of waiting for the stream to come back.
    offline_replay_interval_s: float = 5.0
    sink_retry_s: float = 1.0
    drain_timeout_s: float = 5.0


class MasterFeed:
    """One master's confirmed position changes. Use as ``async with MasterFeed(...) as feed`` or start()/stop()."""

    def __init__(
        self,
        config: MasterFeedConfig,
        rest: MasterRestReader,
        sink: ChangeSink,
        *,
        credentials: StreamCredentials | None = None,
        stream_config: MasterStreamConfig | None = None,
        correlator: MasterCorrelator | None = None,
        stats: StreamStats | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.config = config
        self.rest = rest
        self.stats = stats or StreamStats(master=config.master_id)
        self.correlator = correlator or MasterCorrelator(config.master_id, pending_timeout_s=config.pending_timeout_s)
        self._sink = sink
        self._clock = clock
        self._wall_ms = wall_ms
        self.stream: MasterStream | None = None
        if credentials is not None:
            self.stream = MasterStream(
                credentials,
                stream_config or MasterStreamConfig(),
                on_frame=self.on_stream_frame,
                on_ready=self.on_stream_ready,
                stats=self.stats,
                rng=rng,
                clock=clock,
                wall_ms=wall_ms,
            )
        self._outbox: asyncio.Queue[MasterPositionChanged] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._replay_wanted = False
        self._last_exec_ms = 0
        self._wallet_frames = 0
        self._seeded = False
        self._last_replay_at = clock()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None:
        """Seed from REST unless ``seed`` was already called (errors propagate: the caller learns at start-up),
        then run the stream, the REST worker and the outbox."""
        if not self._seeded:
            await self.seed(lifecycles)
        name = self.config.master_id
        self._tasks = [
            asyncio.create_task(self._emit_loop(), name=f"master-feed-outbox:{name}"),
            asyncio.create_task(self._work_loop(), name=f"master-feed-rest:{name}"),
        ]
        if self.stream is not None:
            await self.stream.start()

    async def stop(self) -> None:
        """Close the stream, stop the REST worker, deliver what is already in the outbox (bounded), then stop."""
        if self.stream is not None:
            await self.stream.stop()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        emitter, workers = tasks[0], tasks[1:]
        for task in workers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), self.config.drain_timeout_s)
        emitter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await emitter

    async def __aenter__(self) -> MasterFeed:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- inputs --------------------------------------------------------------------------------------------------

    async def seed(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None:
        equity = await self.rest.wallet_equity()
        positions = await self.rest.open_positions(self.config.settle_coin)
        self._last_exec_ms = self._wall_ms()
        self.correlator.seed(positions, equity, lifecycles)
        self._seeded = True
        open_legs = [str(state.leg) for state in self.correlator.snapshot() if state.size != 0]
        log.info(
            "%s: seeded from REST: equity %s, open legs %s",
            self.config.master_id,
            decimal_str(equity),
            ", ".join(open_legs) or "none",
        )

    def on_stream_frame(self, frame: Mapping[str, Any]) -> None:
        """The stream's data-frame callback: parse, correlate, queue the changes."""
        try:
            messages = parse_private_frame(frame)
        except MasterMessageError as exc:
            # A frame we could not read may have carried a change: resynchronise from REST rather than guess.
            self.stats.record_bad_frame(str(exc))
            self.request_replay()
            return
        now = self._clock()
        for message in messages:
            if isinstance(message, ExecutionMsg):
                self._last_exec_ms = max(self._last_exec_ms, message.exec_time_ms)
            elif isinstance(message, WalletMsg):
                self._wallet_frames += 1
            self._publish(self.correlator.on_message(message, now))

    def on_stream_ready(self) -> None:
        """The stream's (re-)established callback: whatever happened while it was down is read over REST."""
        self.request_replay()

    def request_replay(self) -> None:
        self._replay_wanted = True
        self._wake.set()

    # --- REST work -----------------------------------------------------------------------------------------------

    async def replay_gap(self) -> int:
        """Read equity, executions and positions over REST and feed them to the correlator; returns the changes."""
        wallet_frames = self._wallet_frames
        self._last_replay_at = self._clock()
        equity = await self.rest.wallet_equity()
        now_ms = self._wall_ms()
        start_ms = max(self._last_exec_ms - self.config.exec_overlap_ms, now_ms - EXECUTION_WINDOW_MS)
        batch = await self.rest.executions_since(start_ms)
        listed = await self.rest.open_positions(self.config.settle_coin)
        extra: list[PositionMsg] = []
        for symbol in self._symbols_to_read(listed, batch):
            extra += await self.rest.symbol_positions(symbol)

        now = self._clock()
        if wallet_frames == self._wallet_frames:  # a wallet frame that came meanwhile is newer than this read
            self.correlator.on_wallet(WalletMsg(equity), now)
        changes = 0
        for execution in batch.executions:
            self._last_exec_ms = max(self._last_exec_ms, execution.exec_time_ms)
            changes += self._publish(self.correlator.on_execution(execution, now))
        for position in (*listed, *extra):
            changes += self._publish(self.correlator.on_rest_position(position, now))
        self.stats.record_replay(changes, len(batch.executions), len(listed) + len(extra))
        return changes

    def _symbols_to_read(self, listed: Iterable[PositionMsg], batch: ExecutionBatch) -> list[str]:
        """Symbols to read one by one: a known open leg missing from the settle-coin listing (it may have gone flat)
        and symbols that traded in the gap without being listed (their fills need a position to settle)."""
        listed_legs = {position.leg for position in listed}
        listed_symbols = {leg.symbol for leg in listed_legs}
        symbols = {
            state.leg.symbol for state in self.correlator.snapshot() if state.size != 0 and state.leg not in listed_legs
        }
        symbols |= {execution.symbol for execution in batch.executions if execution.symbol not in listed_symbols}
        return sorted(symbols)

    async def serve_fetch_requests(self) -> int:
        """Answer the correlator's fetch requests (parked fills timed out) with REST reads; returns the changes."""
        out = self.correlator.poll(self._clock())
        if not out.fetch_requests:
            return 0
        self.stats.record_rest_fetch(out.fetch_symbols)
        changes = 0
        for symbol in out.fetch_symbols:
            positions = await self.rest.symbol_positions(symbol)
            now = self._clock()
            for position in positions:
                changes += self._publish(self.correlator.on_rest_position(position, now))
        return changes

    async def _work_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_interval_s)
            self._wake.clear()
            if self._offline_for_too_long():
                self._replay_wanted = True
            if self._replay_wanted:
                self._replay_wanted = False
                if not await self._guarded(self.replay_gap(), self.stats.record_replay_failure):
                    self._replay_wanted = True
                    await asyncio.sleep(self.config.replay_retry_s)
                    continue
            await self._guarded(self.serve_fetch_requests(), self.stats.record_rest_failure)

    def _offline_for_too_long(self) -> bool:
        if self.stream is None or self.stream.is_established:
            return False
        return self._clock() - self._last_replay_at >= self.config.offline_replay_interval_s

    async def _guarded(self, work: Awaitable[int], on_failure: Callable[[str], None]) -> bool:
        """Run REST work; a failure is counted and logged, never allowed to end the worker."""
        try:
            await work
        except (ExchangeError, MasterMessageError) as exc:
            on_failure(str(exc))
            return False
        except Exception as exc:
            log.exception("%s: unexpected error in REST work", self.config.master_id)
            on_failure(f"{type(exc).__name__}: {exc}")
            return False
        return True

    # --- output --------------------------------------------------------------------------------------------------

    def _publish(self, out: CorrelatorOutput) -> int:
        for change in out.changes:
            log.info(
                "%s: %s %s seq %d: %s -> %s",
                self.config.master_id,
                change.kind.value,
                change.leg,
                change.seq,
                decimal_str(change.prev_size),
                decimal_str(change.new_size),
            )
            self._outbox.put_nowait(change)
        if out.cleared_exec_ids:
            log.info("%s: fills cleared without a size change: %s", self.config.master_id, out.cleared_exec_ids)
        return len(out.changes)

    async def _emit_loop(self) -> None:
        while True:
            change = await self._outbox.get()
            while True:
                try:
                    await self._sink(change)
                    break
                except Exception as exc:  # the consumer's failure must not lose the change: retry it, in order
                    self.stats.record_sink_failure(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(self.config.sink_retry_s)
            self.stats.record_change()
            self._outbox.task_done()
