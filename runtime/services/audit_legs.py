"""Which follower legs the audit compares with which master legs, and the inputs each comparison needs.

For one follower: every master symbol the store has a snapshot for (flat legs included: their last activity still
opens a grace period), plus every follower position on a symbol the master never traded (an extra position). Per
symbol:

- a hedge-mode follower of a hedge-mode master compares leg 1 with leg 1 and leg 2 with leg 2;
- anything else compares the follower's net position on the symbol with the net of the master's legs (the executor
  nets both legs for a one-way follower; a hedge follower of a one-way master is compared by its net as well).

k comes from the store (the ratio the executor fixed for the lifecycle); a lifecycle the executor has not sized yet
(no ratio stored) is sized here the way the executor would, from the follower's live equity, without storing it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from runtime.config.model import FollowerConfig
from runtime.domain.audit import LegComparison, MasterLegInput, alert_key
from runtime.domain.errors import ExchangeError
from runtime.domain.positions import FollowerPosition
from runtime.domain.sizing import SizingError, copy_ratio
from runtime.domain.symbols import BUILTIN_SYMBOLS, SymbolMap, UnmappedSymbolError
from runtime.domain.values import ZERO, PositionIdx, PositionMode
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import MasterSnapshot, StateStore

log = logging.getLogger(__name__)

HEDGE_LEGS = (PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT)


class SkipReason(StrEnum):
    IN_GRACE = "in_grace"  # the master moved this leg within the grace period
    PAUSED = "paused"  # the follower's kill switch is on: differences are expected
    NOT_COPIED = "not_copied"  # the symbol is outside the follower's allow/deny lists
    UNMAPPED = "unmapped_symbol"  # no venue symbol for the master's
    READ_FAILED = "read_failed"  # the venue did not answer (positions, rules or equity)
    NO_RATIO = "no_ratio"  # no k stored and none could be computed


@dataclass(frozen=True)
class SkippedLeg:
    follower_id: str
    symbol: str
    reason: SkipReason
    detail: str = ""
    position_idx: PositionIdx | None = None

    @property
    def alert_key(self) -> str | None:
        if self.position_idx is None:
            return None
        return alert_key(self.follower_id, self.symbol, self.position_idx)


@dataclass
class FollowerLegs:
    """What one follower's audit found to compare, and what it had to leave out."""

    comparisons: list[LegComparison] = field(default_factory=list)
    skipped: list[SkippedLeg] = field(default_factory=list)
    # Master symbols whose legs were left out without a key (unmapped, rules unreadable): their stored alert state
    # must not be resolved as if they were fine.
    skipped_symbols: set[str] = field(default_factory=set)


def master_symbol_for(venue_symbol: str, follower: FollowerConfig, symbol_map: SymbolMap, known: set[str]) -> str:
    """Best effort reverse mapping of a follower venue symbol to the master's name, for reporting an extra position
    on a symbol the master never traded: the known master symbols, the built-in table, then the usual derivations
    (``XUSDT``, ``kX`` -> ``1000XUSDT``). Falls back to the venue symbol itself."""
    candidates = [*sorted(known), *BUILTIN_SYMBOLS, venue_symbol, f"{venue_symbol}USDT"]
    if venue_symbol.startswith("k") and len(venue_symbol) > 1:
        candidates.append(f"1000{venue_symbol[1:]}USDT")
    for candidate in candidates:
        try:
            if symbol_map.resolve(candidate, follower.venue).symbol == venue_symbol:
                return candidate
        except UnmappedSymbolError:
            continue
    return venue_symbol


LegGroup = tuple[PositionIdx, list[MasterSnapshot]]


def _leg_groups(snapshots: list[MasterSnapshot], follower_hedge: bool) -> list[LegGroup]:
    master_hedge = any(snapshot.position_idx is not PositionIdx.ONE_WAY for snapshot in snapshots)
    if follower_hedge and master_hedge:
        return [(idx, [s for s in snapshots if s.position_idx is idx]) for idx in HEDGE_LEGS]
    return [(PositionIdx.ONE_WAY, snapshots)]


def _follower_size(positions: list[FollowerPosition], symbol: str, idx: PositionIdx, per_leg: bool) -> Decimal:
    return sum(
        (p.size for p in positions if p.symbol == symbol and (not per_leg or p.position_idx is idx)),
        ZERO,
    )


class FollowerAuditor:
    """Builds one follower's comparisons: reads rules (for the step), ratios and, when needed, equity."""

    def __init__(
        self,
        follower: FollowerConfig,
        client: ExchangeClient,
        store: StateStore,
        symbol_map: SymbolMap,
    ) -> None:
        self.follower = follower
        self.client = client
        self.store = store
        self.symbol_map = symbol_map
        self._equity: Decimal | None = None
        self._steps: dict[str, Decimal] = {}

    @property
    def hedge(self) -> bool:
        return self.follower.position_mode is PositionMode.HEDGE

    async def legs(self, snapshots: list[MasterSnapshot], positions: list[FollowerPosition]) -> FollowerLegs:
        found = FollowerLegs()
        by_symbol: dict[str, list[MasterSnapshot]] = defaultdict(list)
        for snapshot in snapshots:
            by_symbol[snapshot.symbol].append(snapshot)
        covered: set[str] = set()
        for master_symbol in sorted(by_symbol):
            venue_symbol = await self._master_symbol(master_symbol, by_symbol[master_symbol], positions, found)
            if venue_symbol is not None:
                covered.add(venue_symbol)
        extra: dict[str, list[FollowerPosition]] = defaultdict(list)
        for position in positions:
            if position.symbol not in covered and position.size != 0:
                extra[position.symbol].append(position)
        for venue_symbol in sorted(extra):
            master_symbol = master_symbol_for(venue_symbol, self.follower, self.symbol_map, set(by_symbol))
            await self._compare(master_symbol, venue_symbol, [], extra[venue_symbol], found)
        return found

    async def _master_symbol(
        self,
        master_symbol: str,
        snapshots: list[MasterSnapshot],
        positions: list[FollowerPosition],
        found: FollowerLegs,
    ) -> str | None:
        """Compare one master symbol; returns the venue symbol it covered (None when unmapped)."""
        try:
            mapped = self.symbol_map.resolve(master_symbol, self.follower.venue)
        except UnmappedSymbolError as exc:
            if any(snapshot.size != 0 for snapshot in snapshots):
                found.skipped.append(SkippedLeg(self.follower.id, master_symbol, SkipReason.UNMAPPED, str(exc)))
            found.skipped_symbols.add(master_symbol)
            return None
        await self._compare(master_symbol, mapped.symbol, snapshots, positions, found)
        return mapped.symbol

    async def _compare(
        self,
        master_symbol: str,
        venue_symbol: str,
        snapshots: list[MasterSnapshot],
        positions: list[FollowerPosition],
        found: FollowerLegs,
    ) -> None:
        holds = any(p.symbol == venue_symbol and p.size != 0 for p in positions)
        master_holds = any(snapshot.size != 0 for snapshot in snapshots)
        if not self.follower.allows_symbol(master_symbol):
            if holds or master_holds:
                detail = "outside this follower's symbols_allow/symbols_deny: not copied, not audited"
                found.skipped.append(SkippedLeg(self.follower.id, master_symbol, SkipReason.NOT_COPIED, detail))
            found.skipped_symbols.add(master_symbol)
            return
        if not holds and not master_holds and not snapshots:
            return
        groups = _leg_groups(snapshots, self.hedge)
        if not snapshots and self.hedge:  # an extra position on a hedge follower: each of its legs on its own
            groups = [(idx, []) for idx in HEDGE_LEGS]
        try:
            # Both sides flat: nothing to round, so no rules call (the comparison still resolves a stale alert).
            step = await self._qty_step(venue_symbol) if holds or master_holds else Decimal(1)
            unit_ratio = self.symbol_map.unit_ratio(master_symbol, self.follower.venue) if snapshots else Decimal(1)
        except (ExchangeError, UnmappedSymbolError) as exc:
            found.skipped.append(SkippedLeg(self.follower.id, master_symbol, SkipReason.READ_FAILED, str(exc)))
            found.skipped_symbols.add(master_symbol)
            return
        per_leg = len(groups) > 1
        for idx, legs in groups:
            inputs = await self._inputs(master_symbol, idx, legs, found)
            if inputs is None:
                continue
            size = _follower_size(positions, venue_symbol, idx, per_leg)
            found.comparisons.append(
                LegComparison(self.follower.id, master_symbol, venue_symbol, idx, inputs, unit_ratio, size, step)
            )

    async def _inputs(
        self, master_symbol: str, idx: PositionIdx, legs: list[MasterSnapshot], found: FollowerLegs
    ) -> tuple[MasterLegInput, ...] | None:
        inputs: list[MasterLegInput] = []
        for leg in legs:
            k = ZERO
            if leg.size != 0:
                try:
                    k = await self._ratio(leg)
                except (ExchangeError, SizingError) as exc:
                    found.skipped.append(
                        SkippedLeg(self.follower.id, master_symbol, SkipReason.NO_RATIO, str(exc), idx)
                    )
                    return None
            inputs.append(MasterLegInput(leg.position_idx, leg.size, k, leg.last_activity_ms or None))
        return tuple(inputs)

    async def _ratio(self, snapshot: MasterSnapshot) -> Decimal:
        lifecycle = snapshot.lifecycle
        if lifecycle is None:
            raise SizingError(
                f"the master's {snapshot.leg} holds {snapshot.size} but its snapshot has no lifecycle; "
                "re-sync the master (restart the listener)"
            )
        stored = self.store.get_ratio(self.follower.id, lifecycle.id)
        if stored is not None:
            return stored
        # Not sized yet (the open is still in the follower's queue, or it was refused): size it as the executor
        # would, for the comparison only. Storing it is the executor's job (first writer wins).
        if self._equity is None:
            self._equity = await self.client.equity()
        return copy_ratio(self.follower.sizing.rule(), self._equity, lifecycle)

    async def _qty_step(self, venue_symbol: str) -> Decimal:
        step = self._steps.get(venue_symbol)
        if step is None:
            step = (await self.client.instrument_rules(venue_symbol)).qty_step
            self._steps[venue_symbol] = step
        return step
