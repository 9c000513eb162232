"""Which client order id an executor order gets: the one place the id space is defined.

An id is ``client_order_id(ClientOrderKey(...), venue)`` over:

- ``follower_id``;
- ``scope``: the master state being targeted, written into the key's lifecycle field. For one master leg it is the
  leg's lifecycle id (``flat`` when the leg is flat); for a one-way follower netting a hedge master's two legs it
  names both legs' lifecycle *and seq* (``net|1:<lifecycle>@<seq>|2:...``), because one leg's seq alone would not
  change when only the other leg moved. A SYNC/HEAL round prefixes ``sync:<round>|`` so it gets ids of its own;
- ``master_seq``: the targeted snapshot's seq (the highest seq of the netted legs);
- the master leg (``symbol``, ``positionIdx``; the netted legs use index 0);
- the part: phase ``close``/``open`` (``sync`` for a sync round) and a ``child`` number that folds in the
  follower leg the order goes to, whether it closes or opens, the split child index and the attempt (below).

``child = ((follower_leg * 2 + opens) * MAX_CHILDREN + child_index) * MAX_ATTEMPTS + attempt``

The attempt starts at 0 and moves on only when the previous attempt's claim is finished REFUSED or FAILED (known
not to be at the venue), at most ``MAX_ATTEMPTS`` times per order part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtime.domain.client_ids import ClientOrderKey, OrderPart, client_order_id
from runtime.domain.client_ids import OrderPhase as IdPhase
from runtime.domain.planning import OrderPhase
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, Venue

MAX_ATTEMPTS = 3
MAX_CHILDREN = 1000  # a split never gets near this: the smallest venue maximum is thousands of steps
FLAT_SCOPE = "flat"
_ID_PHASES = {OrderPhase.CLOSE: IdPhase.CLOSE, OrderPhase.OPEN: IdPhase.OPEN}


@dataclass(frozen=True)
class LegState:
    """One master leg as targeted: its index, snapshot seq and lifecycle id (None when flat)."""

    position_idx: PositionIdx
    seq: int
    lifecycle_id: str | None


def target_scope(legs: Iterable[LegState], *, netted: bool, sync_round: str = "") -> str:
    """The scope text of the key's lifecycle field (see the module docstring)."""
    states = sorted(legs, key=lambda leg: int(leg.position_idx))
    if netted:
        body = "net|" + "|".join(
            f"{int(leg.position_idx)}:{leg.lifecycle_id or FLAT_SCOPE}@{leg.seq}" for leg in states
        )
    else:
        if len(states) != 1:
            raise ValueError(f"a single-leg scope needs exactly one leg, got {len(states)}")
        body = states[0].lifecycle_id or FLAT_SCOPE
    return f"sync:{sync_round}|{body}" if sync_round else body


@dataclass(frozen=True)
class OrderSlot:
    """Everything that names one order of a job except its attempt number."""

    follower_id: str
    scope: str
    master_seq: int
    master_leg: LegKey
    follower_leg: PositionIdx
    phase: OrderPhase
    child_index: int = 0
    sync: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.child_index < MAX_CHILDREN:
            raise ValueError(f"child index must be in [0, {MAX_CHILDREN}), got {self.child_index}")

    def key(self, attempt: int) -> ClientOrderKey:
        if not 0 <= attempt < MAX_ATTEMPTS:
            raise ValueError(f"attempt must be in [0, {MAX_ATTEMPTS}), got {attempt}")
        opens = 1 if self.phase is OrderPhase.OPEN else 0
        child = ((int(self.follower_leg) * 2 + opens) * MAX_CHILDREN + self.child_index) * MAX_ATTEMPTS + attempt
        phase = IdPhase.SYNC if self.sync else _ID_PHASES[self.phase]
        return ClientOrderKey(
            follower_id=self.follower_id,
            lifecycle_id=self.scope,
            master_seq=self.master_seq,
            leg=self.master_leg,
            part=OrderPart(phase, child),
        )

    def client_id(self, attempt: int, venue: Venue) -> str:
        return client_order_id(self.key(attempt), venue)
