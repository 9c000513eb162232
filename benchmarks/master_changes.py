"""The master's trading in the benchmark: a one-way BTCUSDT leg going through open, increase, partial close, flip
and full close, over and over, as ``MasterPositionChanged`` events the correlator would emit (seq, lifecycle: a new
one at each open and flip, its open IM and the master's equity at the open)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.events import ChangeKind, Lifecycle, MasterPositionChanged
from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx

MASTER_ID = "master"
SYMBOL = "BTCUSDT"
PRICE = Decimal(60000)  # the paper venues' default BTC mark: fills happen at the master's entry price
LEVERAGE = Decimal(10)
MASTER_EQUITY = Decimal(100000)
# (what the step is, the master's signed size after it)
STEPS: tuple[tuple[ChangeKind, Decimal], ...] = (
    (ChangeKind.OPEN, Decimal("1.0")),
    (ChangeKind.INCREASE, Decimal("1.6")),
    (ChangeKind.PARTIAL_CLOSE, Decimal("0.8")),
    (ChangeKind.FLIP, Decimal("-1.2")),
    (ChangeKind.FULL_CLOSE, ZERO),
)


@dataclass(frozen=True)
class MasterCycle:
    index: int
    change: MasterPositionChanged

    @property
    def kind(self) -> ChangeKind:
        return self.change.kind


def master_cycles(count: int) -> list[MasterCycle]:
    """The first ``count`` changes of the repeating sequence (seq 1, 2, ...)."""
    cycles: list[MasterCycle] = []
    size = ZERO
    lifecycle: Lifecycle | None = None
    leg = LegKey(SYMBOL, PositionIdx.ONE_WAY)
    for index in range(count):
        seq = index + 1
        kind, new_size = STEPS[index % len(STEPS)]
        position_im = abs(new_size) * PRICE / LEVERAGE
        previous_id = None
        if kind in (ChangeKind.OPEN, ChangeKind.FLIP):
            previous_id = lifecycle.id if lifecycle is not None and kind is ChangeKind.FLIP else None
            lifecycle = Lifecycle(Lifecycle.make_id(leg, seq), position_im, MASTER_EQUITY, seq)
        change = MasterPositionChanged(
            master=MASTER_ID,
            symbol=SYMBOL,
            position_idx=PositionIdx.ONE_WAY,
            seq=seq,
            prev_size=size,
            new_size=new_size,
            position_im=position_im,
            leverage=LEVERAGE,
            entry_price=PRICE if new_size != 0 else ZERO,
            lifecycle=lifecycle,
            exec_ids=(f"exec-{seq}",),
            previous_lifecycle_id=previous_id,
            mark_price=PRICE,
        )
        if change.kind is not kind:  # the table above and classify_change must agree
            raise ValueError(f"step {index}: the change is a {change.kind.value}, the table says {kind.value}")
        cycles.append(MasterCycle(index, change))
        size = new_size
        if new_size == 0:
            lifecycle = None
    return cycles
