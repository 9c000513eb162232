"""One paper venue: the simulator core's matching engine for a venue's catalogue, in this process, with latency.

Every follower account on the venue shares one ``MatchingEngine`` (as on a simulator) and one ``FaultPlan``, so the
latency of each call is drawn from the same seeded distribution the simulators use (``LatencySpec``: a fixed delay
or uniform(low, high) x scale), and errors can be injected the same way (``faults.add_error``). As on the
simulators, a call is processed first and its latency is slept after: an order whose answer is slow has already
landed. Nothing here touches the network; the event loop is never blocked (the engine is synchronous and quick).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from runtime.adapters.paper.client import PaperClient
from runtime.adapters.paper.errors import injected_error, rejection_error
from runtime.adapters.paper.profiles import VenueProfile, profile_for
from runtime.domain.errors import ExchangeError
from runtime.domain.values import PositionMode, Venue
from runtime.sim.catalogue import Catalogue, catalogue_for
from runtime.sim.faults import ALL_CLASSES, FaultPlan, InjectedError, LatencySpec
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import OrderRejected

T = TypeVar("T")


@dataclass(frozen=True)
class CallRecord:
    """One client call as the venue served it. ``injected_s`` is the latency drawn for it (the venue's own time);
    ``started``/``ended`` are ``time.monotonic()`` stamps (ended includes waiting for the event loop)."""

    account: str
    method: str
    endpoint_class: str
    injected_s: float
    started: float
    ended: float
    error_kind: str = ""

    @property
    def elapsed_s(self) -> float:
        return self.ended - self.started


CallObserver = Callable[[CallRecord], None]


class PaperVenue:
    """A venue's catalogue and rules on the simulator core. ``latency`` applies to every endpoint class; set
    per-class latency or errors on ``faults`` as the simulators' /admin/faults does."""

    def __init__(
        self,
        venue: Venue,
        *,
        seed: int = 0,
        latency: LatencySpec | None = None,
        catalogue: Catalogue | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.profile: VenueProfile = profile_for(venue)
        self.engine = MatchingEngine(catalogue or catalogue_for(venue), self.profile.engine_settings())
        self.faults = FaultPlan(seed)
        if latency is not None:
            self.faults.set_latency(ALL_CLASSES, latency)
        self.on_call: CallObserver | None = None
        # Seconds spent running the core for calls: the venue's own CPU, which a benchmark running the venue in
        # its process subtracts to get the engine's share.
        self.busy_s = 0.0
        self._monotonic = monotonic
        self._clients: dict[str, PaperClient] = {}

    # ----- accounts and marks -----------------------------------------------------------------------------------

    def open_account(
        self, name: str, balance: Decimal, position_mode: PositionMode = PositionMode.ONE_WAY
    ) -> PaperClient:
        """Create an account with ``balance`` USDT and return its client. ValueError when the name is taken or the
        venue has no such mode (Hyperliquid is one-way only)."""
        if position_mode is PositionMode.HEDGE and not self.profile.hedge_mode:
            raise ValueError(
                f"{self.venue.value} has no hedge mode: open account {name!r} as one_way (each coin has one net "
                "position there)"
            )
        self.engine.create_account(name, balance, position_mode)
        client = PaperClient(self, name)
        self._clients[name] = client
        return client

    def client(self, name: str) -> PaperClient:
        """The client of an account opened earlier; KeyError names the accounts there are."""
        try:
            return self._clients[name]
        except KeyError:
            known = ", ".join(sorted(self._clients)) or "none"
            message = f"no paper account {name!r} on {self.venue.value}; open it first (accounts: {known})"
            raise KeyError(message) from None

    def set_mark(self, symbol: str, price: Decimal) -> None:
        """Move the mark of a venue symbol (resting limits it crosses fill, as on the simulators)."""
        self.engine.set_mark(symbol, price)

    # ----- serving one call -------------------------------------------------------------------------------------

    async def call(self, account: str, method: str, endpoint_class: str, action: Callable[[], T]) -> T:
        """Serve one client call: an injected error, or ``action`` run now followed by the latency drawn for its
        endpoint class. A core refusal becomes the ``ExchangeError`` the real adapter would raise."""
        started = self._monotonic()
        injected = self.faults.take_error(endpoint_class)
        if injected is not None and not injected.processes_first:
            error = injected_error(self.venue, injected.kind)
            self._record(account, method, endpoint_class, 0.0, started, error)
            raise error
        outcome: tuple[T] | ExchangeError  # the answer (boxed: it may be None) or the refusal
        busy_from = time.perf_counter()
        try:
            outcome = (action(),)
        except OrderRejected as exc:
            outcome = rejection_error(self.venue, exc)
        except ExchangeError as exc:  # a venue rule this layer checks itself
            outcome = exc
        self.busy_s += time.perf_counter() - busy_from
        if injected is not None:  # processed first, then the answer is lost or replaced
            if injected.kind is InjectedError.TIMEOUT:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.faults.released.wait(), self.faults.timeout_hold_s)
            error = injected_error(self.venue, injected.kind)
            self._record(account, method, endpoint_class, 0.0, started, error)
            raise error
        delay = self.faults.delay_for(endpoint_class)
        # Always yield once, as any real network call does, even with no latency configured.
        await asyncio.sleep(delay)
        failure = outcome if isinstance(outcome, ExchangeError) else None
        self._record(account, method, endpoint_class, delay, started, failure)
        if isinstance(outcome, ExchangeError):
            raise outcome
        return outcome[0]

    def _record(
        self,
        account: str,
        method: str,
        endpoint_class: str,
        injected_s: float,
        started: float,
        error: ExchangeError | None,
    ) -> None:
        if self.on_call is not None:
            kind = error.kind.value if error is not None else ""
            self.on_call(CallRecord(account, method, endpoint_class, injected_s, started, self._monotonic(), kind))
