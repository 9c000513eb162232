"""The correlator's values: what it knows about a master leg, a parked fill, and what one step returns."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.positions import LegKey

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# A fetch request names a leg, or a whole symbol when the fill's leg is still unknown (its order message is missing).
FetchRequest = LegKey | str


@dataclass(frozen=True)
class MasterLegState:
    """The last confirmed state of one master leg. ``size`` is signed; ``lifecycle`` is None while flat."""

    leg: LegKey
    size: Decimal
    seq: int
    position_im: Decimal
    leverage: Decimal
    entry_price: Decimal
    mark_price: Decimal
    lifecycle: Lifecycle | None
    updated_time_ms: int = 0


@dataclass(frozen=True)
class PendingFill:
    """A fill waiting for the position message (seq >= its seq) that confirms it.

    ``leg_inferred`` marks a fill placed on leg 0 because the symbol was seen in one-way mode, before its order
    message arrived; the order message, when it comes, has the last word. ``rest_reads`` counts REST reads that did
    not reach its seq (a second such read clears it as a no-op, so a fill that never moves seq cannot loop forever).
    """

    exec_id: str
    exec_type: str
    order_id: str
    symbol: str
    seq: int
    parked_at: float
    leg_inferred: bool = False
    rest_reads: int = 0


@dataclass(frozen=True)
class CorrelatorOutput:
    """What one correlator step produced.

    ``changes``: confirmed master changes, in order. ``fetch_requests``: legs (or symbols, when the leg is unknown)
    whose parked fills timed out; read their positions over REST and feed them to ``on_rest_position``.
    ``cleared_exec_ids``: parked fills let go without being attached to a change, because the confirming position
    showed no size change (a no-op) or a REST read could not tell their leg (log them; the size is still applied).
    """

    changes: tuple[MasterPositionChanged, ...] = ()
    fetch_requests: tuple[FetchRequest, ...] = ()
    cleared_exec_ids: tuple[str, ...] = ()

    @property
    def fetch_symbols(self) -> tuple[str, ...]:
        """The distinct symbols to read over REST (one ``/v5/position/list?symbol=`` call returns every leg)."""
        symbols = (request.symbol if isinstance(request, LegKey) else request for request in self.fetch_requests)
        return tuple(dict.fromkeys(symbols))

    @property
    def is_empty(self) -> bool:
        return not (self.changes or self.fetch_requests or self.cleared_exec_ids)


NOTHING = CorrelatorOutput()


class RecentMap(Generic[K, V]):
    """A dict that forgets its oldest entries beyond ``capacity``: bounded memory for ids seen on a long stream."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
