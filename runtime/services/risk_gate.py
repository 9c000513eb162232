"""The seam between the executor and the follower risk controls (``runtime.domain.risk``).

``RiskGate.check`` is what the executor calls for every order intent before claiming it: it reads the kill-switch
flag (the store's, or ``paused = true`` in the config), builds the follower's ``RiskLimits`` from its config and
returns the first ``Refusal`` (to record in the order log like any other refusal) or None. ``leverage_to_set`` is
the leverage-sync side of the same limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from runtime.config.model import FollowerConfig
from runtime.domain.refusals import Refusal
from runtime.domain.risk import LeverageMode, PlannedOrder, RiskLimits, check_order, leverage_to_set
from runtime.ports.store import StateStore


def risk_limits(follower: FollowerConfig, *, paused: bool = False) -> RiskLimits:
    """The follower's limits from its config; ``paused`` ORs with the config's own ``paused`` flag."""
    return RiskLimits(
        follower_id=follower.id,
        symbols_allow=frozenset(follower.symbols_allow),
        symbols_deny=frozenset(follower.symbols_deny),
        max_notional_per_symbol=follower.max_notional_per_symbol,
        max_leverage=follower.max_leverage,
        leverage_mode=LeverageMode(follower.leverage.mode),
        fixed_leverage=follower.leverage.value,
        paused=paused or follower.paused,
    )


class RiskGate:
    """Checks planned orders against each follower's limits; the kill switch is read from the store per call, so a
    pause from the command line (another process) takes effect on the very next order."""

    def __init__(self, store: StateStore, followers: Mapping[str, FollowerConfig]) -> None:
        self._store = store
        self._followers = dict(followers)

    def limits(self, follower_id: str) -> RiskLimits:
        follower = self._followers[follower_id]
        return risk_limits(follower, paused=self._store.is_follower_paused(follower_id))

    def check(self, follower_id: str, order: PlannedOrder) -> Refusal | None:
        return check_order(self.limits(follower_id), order)

    def leverage_to_set(
        self, follower_id: str, master_leverage: Decimal, venue_max_leverage: Decimal | None = None
    ) -> Decimal | None:
        follower = self._followers[follower_id]
        return leverage_to_set(risk_limits(follower), master_leverage, venue_max_leverage)
