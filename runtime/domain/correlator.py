"""The Bybit two-event correlator: fills are parked until the position message that confirms them (brief section 2).

A pure state machine: no I/O, no clock. Every method takes ``now`` (monotonic seconds, timing only) and returns a
``CorrelatorOutput``. The position message is the confirmation and carries the master's confirmed initial margin;
the fills (``execution`` topic) only say which trades a change is made of and that a change is due, so a change is
emitted whenever a leg's size differs from the last known size, whichever topic arrives first. See docs/correlator.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal

from runtime.domain.correlator_state import (
    NOTHING,
    CorrelatorOutput,
    FetchRequest,
    MasterLegState,
    PendingFill,
    RecentMap,
)
from runtime.domain.events import ChangeKind, Lifecycle, MasterPositionChanged, classify_change
from runtime.domain.master_messages import ExecutionMsg, MasterMessage, OrderMsg, PositionMsg, WalletMsg
from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx


class MasterCorrelator:
    """Turns one master's execution/order/position/wallet messages into confirmed ``MasterPositionChanged`` events.

    Call ``seed`` once with a REST snapshot before feeding the stream, ``poll`` periodically (about once a second)
    to learn which legs need a REST position read, and feed those reads to ``on_rest_position``.
    """

    def __init__(
        self,
        master_id: str,
        *,
        pending_timeout_s: float = 5.0,
        seen_exec_capacity: int = 50_000,
        order_capacity: int = 10_000,
    ) -> None:
        if pending_timeout_s <= 0:
            raise ValueError(f"pending_timeout_s must be positive, got {pending_timeout_s}")
        self.master_id = master_id
        self.pending_timeout_s = pending_timeout_s
        self._equity = ZERO
        self._legs: dict[LegKey, MasterLegState] = {}
        self._parked: dict[LegKey, list[PendingFill]] = {}
        self._awaiting_order: dict[str, list[PendingFill]] = {}  # order id -> fills whose leg is not known yet
        self._last_fetch_at: dict[FetchRequest, float] = {}
        self._one_way: dict[str, bool] = {}  # symbol -> the latest order/position message said positionIdx 0
        # Bounded memories: a reconnect replays recent fills, and orders can fill over a long time.
        self._seen_exec_ids: RecentMap[str, None] = RecentMap(seen_exec_capacity)
        self._order_legs: RecentMap[str, LegKey] = RecentMap(order_capacity)

    # --- state ---------------------------------------------------------------------------------------------------

    @property
    def equity(self) -> Decimal:
        """The master's latest total equity (wallet topic, else the seeded value)."""
        return self._equity

    def leg_state(self, leg: LegKey) -> MasterLegState | None:
        return self._legs.get(leg)

    def snapshot(self) -> tuple[MasterLegState, ...]:
        """Every known leg's last confirmed state, ordered by leg: for the master snapshot store and gap replay."""
        return tuple(sorted(self._legs.values(), key=lambda state: (state.leg.symbol, int(state.leg.position_idx))))

    @property
    def pending_exec_ids(self) -> tuple[str, ...]:
        """Fills parked and not yet confirmed (on a leg, or waiting for their order message)."""
        fills = [fill for parked in self._parked.values() for fill in parked]
        fills += [fill for waiting in self._awaiting_order.values() for fill in waiting]
        return tuple(fill.exec_id for fill in fills)

    def seed(
        self,
        positions: Iterable[PositionMsg],
        equity: Decimal,
        lifecycles: Mapping[LegKey, Lifecycle] | None = None,
    ) -> None:
        """Start from a REST snapshot: sizes, leverage, seq and the master's equity. Emits nothing.

        A leg already open gets its lifecycle from ``lifecycles`` (as persisted by a previous run) if given, else a
        new one adopted at this snapshot: ``open_im`` = its current positionIM, ``open_equity`` = ``equity``,
        ``opened_seq`` = its current seq (the true opening is not visible over REST).
        """
        self._equity = equity
        known = lifecycles or {}
        for msg in positions:
            size = msg.signed_size
            lifecycle = None
            if size != 0:
                lifecycle = known.get(msg.leg) or self._new_lifecycle(msg)
            self._legs[msg.leg] = self._state_from(msg, size, msg.leverage, lifecycle)
            self._one_way[msg.symbol] = msg.position_idx is PositionIdx.ONE_WAY

    # --- stream inputs -------------------------------------------------------------------------------------------

    def on_message(self, msg: MasterMessage, now: float) -> CorrelatorOutput:
        """Route one parsed stream message (from ``parse_private_frame``) to its handler."""
        if isinstance(msg, ExecutionMsg):
            return self.on_execution(msg, now)
        if isinstance(msg, OrderMsg):
            return self.on_order(msg, now)
        if isinstance(msg, PositionMsg):
            return self.on_position(msg, now)
        return self.on_wallet(msg, now)

    def on_wallet(self, msg: WalletMsg, now: float) -> CorrelatorOutput:
        self._equity = msg.total_equity
        return NOTHING

    def on_execution(self, msg: ExecutionMsg, now: float) -> CorrelatorOutput:
        if not msg.moves_position or msg.exec_id in self._seen_exec_ids:
            return NOTHING
        self._seen_exec_ids.put(msg.exec_id, None)
        fill = PendingFill(msg.exec_id, msg.exec_type, msg.order_id, msg.symbol, msg.seq, parked_at=now)
        leg = self._order_legs.get(msg.order_id)
        if leg is None and self._one_way.get(msg.symbol):
            leg, fill = LegKey(msg.symbol, PositionIdx.ONE_WAY), replace(fill, leg_inferred=True)
        if leg is None:
            self._awaiting_order.setdefault(msg.order_id, []).append(fill)
        else:
            self._park(leg, fill)
        return NOTHING

    def on_order(self, msg: OrderMsg, now: float) -> CorrelatorOutput:
        leg = msg.leg
        self._order_legs.put(msg.order_id, leg)
        self._one_way[msg.symbol] = msg.position_idx is PositionIdx.ONE_WAY
        for fill in self._awaiting_order.pop(msg.order_id, []):
            self._park(leg, fill)
        self._move_inferred_fills(msg.order_id, leg)
        self._forget_idle_fetches()
        return NOTHING

    def on_position(self, msg: PositionMsg, now: float) -> CorrelatorOutput:
        return self._confirm(msg, now, from_rest=False)

    def on_rest_position(self, msg: PositionMsg, now: float) -> CorrelatorOutput:
        """A position read over REST (after a timeout or a reconnect): resolves the leg's parked fills."""
        return self._confirm(msg, now, from_rest=True)

    def poll(self, now: float) -> CorrelatorOutput:
        """Fetch requests for legs (or symbols) whose parked fills have waited ``pending_timeout_s`` unconfirmed.

        A request is repeated every ``pending_timeout_s`` until a position message or REST read resolves it.
        """
        oldest: dict[FetchRequest, float] = {}
        for leg, fills in self._parked.items():
            oldest[leg] = min(fill.parked_at for fill in fills)
        for fills in self._awaiting_order.values():
            for fill in fills:
                oldest[fill.symbol] = min(oldest.get(fill.symbol, fill.parked_at), fill.parked_at)
        due: list[FetchRequest] = []
        for request, parked_at in oldest.items():
            since = self._last_fetch_at.get(request, parked_at)
            if now - since >= self.pending_timeout_s:
                due.append(request)
                self._last_fetch_at[request] = now
        return CorrelatorOutput(fetch_requests=tuple(due)) if due else NOTHING

    # --- internals -----------------------------------------------------------------------------------------------

    def _park(self, leg: LegKey, fill: PendingFill) -> None:
        state = self._legs.get(leg)
        if state is not None and fill.seq <= state.seq:
            return  # the position message arrived first and already carried this fill's change
        self._parked.setdefault(leg, []).append(fill)

    def _move_inferred_fills(self, order_id: str, leg: LegKey) -> None:
        """The order message overrules a leg guessed from the symbol's mode (the master may have switched mode)."""
        for other_leg in [key for key in self._parked if key.symbol == leg.symbol and key != leg]:
            fills = self._parked[other_leg]
            moving = [fill for fill in fills if fill.leg_inferred and fill.order_id == order_id]
            if not moving:
                continue
            staying = [fill for fill in fills if fill not in moving]
            if staying:
                self._parked[other_leg] = staying
            else:
                del self._parked[other_leg]
            for fill in moving:
                self._park(leg, replace(fill, leg_inferred=False))

    def _adopt_awaiting(self, symbol: str) -> None:
        """A one-way position message settles the leg of every fill of that symbol still waiting for its order."""
        leg = LegKey(symbol, PositionIdx.ONE_WAY)
        for order_id in [key for key, fills in self._awaiting_order.items() if fills[0].symbol == symbol]:
            for fill in self._awaiting_order.pop(order_id):
                self._park(leg, replace(fill, leg_inferred=True))

    def _take_fills(self, msg: PositionMsg, from_rest: bool) -> tuple[list[PendingFill], list[PendingFill]]:
        """Split the leg's parked fills into those this position confirms and those it clears unattributed."""
        parked = self._parked.pop(msg.leg, [])
        confirmed = [fill for fill in parked if fill.seq <= msg.seq]
        later = [fill for fill in parked if fill.seq > msg.seq]
        cleared: list[PendingFill] = []
        if from_rest:
            # A REST read that does not reach a fill's seq may have raced it: keep the fill for one more read, then
            # let it go (a fill whose type never moves seq would otherwise be fetched for ever).
            cleared = [fill for fill in later if fill.rest_reads >= 1]
            later = [replace(fill, rest_reads=fill.rest_reads + 1) for fill in later if fill.rest_reads == 0]
            for order_id in [key for key, fills in self._awaiting_order.items() if fills[0].symbol == msg.symbol]:
                # Their leg is still unknown (hedge mode, order message lost): this read settles sizes regardless.
                cleared += self._awaiting_order.pop(order_id)
        if later:
            self._parked[msg.leg] = later
        return confirmed, cleared

    def _confirm(self, msg: PositionMsg, now: float, *, from_rest: bool) -> CorrelatorOutput:
        leg = msg.leg
        previous = self._legs.get(leg)
        if previous is not None and msg.seq < previous.seq:
            return NOTHING  # stale: an older state than the one already applied
        self._one_way[msg.symbol] = msg.position_idx is PositionIdx.ONE_WAY
        if msg.position_idx is PositionIdx.ONE_WAY:
            self._adopt_awaiting(msg.symbol)
        confirmed, cleared = self._take_fills(msg, from_rest)

        prev_size = previous.size if previous else ZERO
        new_size = msg.signed_size
        prev_leverage = previous.leverage if previous else ZERO
        # A blank leverage (portfolio margin) is "unknown", not a change to zero.
        leverage = msg.leverage if msg.leverage > 0 else prev_leverage
        lifecycle = previous.lifecycle if previous else None

        change: MasterPositionChanged | None = None
        if new_size != prev_size:
            change, lifecycle = self._size_change(msg, now, prev_size, leverage, lifecycle, confirmed)
        else:
            cleared = confirmed + cleared  # fills that netted out, or that a no-op execution type produced
            if prev_leverage > 0 and leverage != prev_leverage:
                change = self._change(msg, now, prev_size, leverage, lifecycle, (), None)
        self._legs[leg] = self._state_from(msg, new_size, leverage, lifecycle)
        self._forget_idle_fetches()
        return CorrelatorOutput(
            changes=(change,) if change else (),
            cleared_exec_ids=tuple(fill.exec_id for fill in cleared),
        )

    def _size_change(
        self,
        msg: PositionMsg,
        now: float,
        prev_size: Decimal,
        leverage: Decimal,
        lifecycle: Lifecycle | None,
        fills: list[PendingFill],
    ) -> tuple[MasterPositionChanged, Lifecycle | None]:
        """Build the change for a size transition; return it with the leg's lifecycle from now on."""
        kind = classify_change(prev_size, msg.signed_size)
        previous_id = None
        if kind is ChangeKind.OPEN or kind is ChangeKind.FLIP:
            previous_id = lifecycle.id if kind is ChangeKind.FLIP and lifecycle else None
            lifecycle = self._new_lifecycle(msg)
        elif lifecycle is None and kind is not ChangeKind.FULL_CLOSE:
            # Not reachable after a seed (every open leg gets one); a fallback so a change never lacks its lifecycle.
            lifecycle = self._new_lifecycle(msg)
        change = self._change(msg, now, prev_size, leverage, lifecycle, fills, previous_id)
        return change, (None if kind is ChangeKind.FULL_CLOSE else lifecycle)

    def _change(
        self,
        msg: PositionMsg,
        now: float,
        prev_size: Decimal,
        leverage: Decimal,
        lifecycle: Lifecycle | None,
        fills: Iterable[PendingFill],
        previous_lifecycle_id: str | None,
    ) -> MasterPositionChanged:
        fills = tuple(fills)
        return MasterPositionChanged(
            master=self.master_id,
            symbol=msg.symbol,
            position_idx=msg.position_idx,
            seq=msg.seq,
            prev_size=prev_size,
            new_size=msg.signed_size,
            position_im=msg.position_im,
            leverage=leverage,
            entry_price=msg.entry_price,
            lifecycle=lifecycle,
            exec_ids=tuple(fill.exec_id for fill in fills),
            previous_lifecycle_id=previous_lifecycle_id,
            mark_price=msg.mark_price,
            received_at=now,
            exec_types=tuple(fill.exec_type for fill in fills),
        )

    def _new_lifecycle(self, msg: PositionMsg) -> Lifecycle:
        return Lifecycle(
            id=Lifecycle.make_id(msg.leg, msg.seq),
            open_im=msg.position_im,
            open_equity=self._equity,
            opened_seq=msg.seq,
        )

    @staticmethod
    def _state_from(msg: PositionMsg, size: Decimal, leverage: Decimal, lifecycle: Lifecycle | None) -> MasterLegState:
        return MasterLegState(
            leg=msg.leg,
            size=size,
            seq=msg.seq,
            position_im=msg.position_im,
            leverage=leverage,
            entry_price=msg.entry_price,
            mark_price=msg.mark_price,
            lifecycle=lifecycle,
            updated_time_ms=msg.updated_time_ms,
        )

    def _forget_idle_fetches(self) -> None:
        """Drop fetch timers of legs and symbols with nothing parked, so a later fill starts its own timeout."""
        waiting_symbols = {fill.symbol for fills in self._awaiting_order.values() for fill in fills}
        for request in list(self._last_fetch_at):
            busy = request in self._parked if isinstance(request, LegKey) else request in waiting_symbols
            if not busy:
                del self._last_fetch_at[request]
