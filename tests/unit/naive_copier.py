"""The baseline the engine is measured against: a fixed-ratio copier that copies each master *delta*.

``order = master_delta x k``, rounded half-up to the step, added to a running position without ever reading the
follower's live position. Each order is individually "as close as possible", yet the rounding errors add up across
changes, and a close copies the delta rather than the position, so it can leave residue when the master is flat.
It uses the same per-lifecycle k as the engine (fresh at opens and flips), so the only difference is the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.rounding import half_up_to_step
from runtime.domain.values import ZERO


@dataclass
class NaiveCopier:
    """A follower driven by delta copying on a perfect venue (every order fills exactly, no minimums)."""

    step: Decimal
    position: Decimal = ZERO

    def on_master_change(self, prev_size: Decimal, new_size: Decimal, k: Decimal, unit_ratio: Decimal) -> Decimal:
        """Copy one master change; returns the signed order it sent (zero when the delta rounds away)."""
        order = half_up_to_step((new_size - prev_size) * k * unit_ratio, self.step)
        self.position += order
        return order
