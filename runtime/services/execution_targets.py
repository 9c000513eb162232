"""From the master's latest snapshots to a follower's ideal position on each of its own legs (brief section 3).

Which master legs a job looks at, and where their targets go:

| master leg of the job | follower mode | master legs read | follower legs targeted |
|---|---|---|---|
| 0 (one-way master) | one-way | 0 | 0 = size x k |
| 0 (one-way master) | hedge | 0 | 1 = max(T, 0), 2 = min(T, 0) with T = size x k (a flip closes 1 and opens 2) |
| 1 or 2 (hedge master) | hedge | that leg | the same leg |
| 1 or 2 (hedge master) | one-way | 1 and 2 | 0 = the net, sum(leg size x k_leg), rounded once |

Sizes are signed (a hedge master's short leg is negative) and in follower venue units (``x unit_ratio``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.sizing import LegTarget, net_target
from runtime.domain.values import ZERO, PositionIdx
from runtime.ports.store import MasterSnapshot
from runtime.services.execution_ids import LegState

HEDGE_LEGS = (PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT)


def master_legs_for(job_leg: PositionIdx, follower_is_hedge: bool) -> tuple[PositionIdx, ...]:
    """The master legs a job must read (both legs of the symbol when a one-way follower nets a hedge master)."""
    if job_leg is PositionIdx.ONE_WAY or follower_is_hedge:
        return (job_leg,)
    return HEDGE_LEGS


@dataclass(frozen=True)
class MasterView:
    """The latest snapshots of the master legs a job targets; a leg with no snapshot counts as flat."""

    job_leg: PositionIdx
    legs: tuple[PositionIdx, ...]
    snapshots: Mapping[PositionIdx, MasterSnapshot]

    @property
    def netted(self) -> bool:
        return len(self.legs) > 1

    @property
    def seq(self) -> int:
        """The targeted state's seq: the highest of the legs' (0 when none has a snapshot)."""
        return max((snapshot.seq for snapshot in self.snapshots.values()), default=0)

    @property
    def open_legs(self) -> tuple[MasterSnapshot, ...]:
        return tuple(
            self.snapshots[leg] for leg in self.legs if leg in self.snapshots and self.snapshots[leg].size != 0
        )

    @property
    def is_flat(self) -> bool:
        return not self.open_legs

    def leg_states(self) -> tuple[LegState, ...]:
        states = []
        for leg in self.legs:
            snapshot = self.snapshots.get(leg)
            if snapshot is None:
                states.append(LegState(leg, 0, None))
            else:
                lifecycle = snapshot.lifecycle.id if snapshot.lifecycle is not None and snapshot.size != 0 else None
                states.append(LegState(leg, snapshot.seq, lifecycle))
        return tuple(states)

    def leverage(self) -> Decimal:
        """The master leverage to follow: the job's leg when open, else the highest of the open legs."""
        job = self.snapshots.get(self.job_leg)
        if job is not None and job.size != 0 and job.leverage > 0:
            return job.leverage
        return max((snapshot.leverage for snapshot in self.open_legs), default=ZERO)

    def reference_price(self, unit_ratio: Decimal) -> Decimal:
        """A price per follower unit for notional checks: the master's entry price (job leg first), converted."""
        job = self.snapshots.get(self.job_leg)
        candidates = ([job] if job is not None else []) + list(self.open_legs)
        for snapshot in candidates:
            if snapshot.entry_price > 0:
                return snapshot.entry_price / unit_ratio
        return ZERO


def follower_targets(
    view: MasterView, ratios: Mapping[PositionIdx, Decimal], unit_ratio: Decimal, follower_is_hedge: bool
) -> dict[PositionIdx, Decimal]:
    """The ideal (unrounded, signed) follower position per follower leg. ``ratios`` holds k per open master leg."""
    legs = [
        LegTarget(snapshot.size, ratios[snapshot.position_idx], unit_ratio)
        for snapshot in view.open_legs
        if snapshot.position_idx in ratios
    ]
    total = net_target(legs)
    if not follower_is_hedge:
        return {PositionIdx.ONE_WAY: total}
    if view.job_leg is PositionIdx.ONE_WAY:
        return {PositionIdx.HEDGE_LONG: max(total, ZERO), PositionIdx.HEDGE_SHORT: min(total, ZERO)}
    return {view.job_leg: total}
