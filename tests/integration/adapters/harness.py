"""The venue-neutral harness the shared adapter suite drives (one subclass per venue).

A venue plugs in by subclassing ``VenueHarness`` and filling in the abstract parts: which simulator to start, how
to build its adapter client from the credentials the admin API handed out, and a few capability facts. Everything
else (accounts, marks, faults, reading an account back, resting orders for the cancel tests) is common: it goes
through the simulators' shared ``/admin`` API over real HTTP, or, for resting limit orders the port cannot place,
straight into the shared matching engine.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

import aiohttp

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.retry import RetryPolicy
from runtime.domain.client_ids import ClientOrderKey, client_order_id
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue, decimal_str
from runtime.ports.exchange import ExchangeClient
from runtime.sim.model import OrderType
from runtime.sim.server import SimulatorServer

# Retries in tests back off in milliseconds, so a retried read costs almost nothing.
FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.005, max_delay_s=0.02)


@dataclass(frozen=True)
class ClientTuning:
    """How a test wants its adapter client tuned. ``timeout_s`` is the deadline of every venue call."""

    timeout_s: float = 2.0
    retry: RetryPolicy = FAST_RETRY


@dataclass(frozen=True)
class SimAccount:
    """An account created through the admin API; ``credentials`` is the admin answer as it came (venue fields)."""

    name: str
    position_mode: PositionMode
    can_withdraw: bool
    credentials: dict[str, Any] = field(repr=False)


class VenueHarness(ABC):
    """Starts a venue's simulator and builds adapter clients against it.

    Subclasses set ``venue`` and ``supports_hedge`` and implement ``build_simulator``, ``build_client`` and
    ``build_client_with_bad_secret``; they may override ``symbol`` (Hyperliquid: "BTC"), ``published_rule_fields``
    and ``rate_limit_gives_hint``.
    """

    venue: ClassVar[Venue]
    supports_hedge: ClassVar[bool] = True
    # Does the venue's rate-limit answer carry a reset time the adapter can pass on as ``retry_after_s``?
    rate_limit_gives_hint: ClassVar[bool] = True
    # The InstrumentRules fields the venue actually publishes (the rest are the adapter's documented defaults).
    published_rule_fields: ClassVar[tuple[str, ...]] = (
        "qty_step",
        "tick_size",
        "min_qty",
        "max_qty",
        "max_market_qty",
        "min_notional",
        "max_leverage",
        "unit_multiplier",
    )

    def __init__(self) -> None:
        self.sim: SimulatorServer | None = None
        self.runner = BlockingCallRunner(max_workers=16, thread_name_prefix=f"test-{self.venue.value}")
        self._session: aiohttp.ClientSession | None = None
        self._clients: list[ExchangeClient] = []

    # ----- what a venue fills in -------------------------------------------------------------------------------

    @abstractmethod
    def build_simulator(self) -> SimulatorServer:
        """A fresh (not yet started) simulator of this venue."""

    @abstractmethod
    def build_client(self, account: SimAccount, tuning: ClientTuning) -> ExchangeClient:
        """The venue's adapter client for ``account``, pointed at ``self.base_url``, using ``self.runner``."""

    @abstractmethod
    def build_client_with_bad_secret(self, account: SimAccount, tuning: ClientTuning) -> ExchangeClient:
        """A client whose key is right but whose secret (signing key) is wrong."""

    def symbol(self, base: str) -> str:
        """The venue's symbol for a base asset ("BTC" -> "BTCUSDT"; Hyperliquid overrides with "BTC")."""
        return f"{base}USDT"

    def wire_order_id(self, engine_order_id: str) -> str:
        """The simulator engine's order id (as the admin API shows it) as the venue renders it on the wire
        (Bybit: a UUID); what ``OrderReport.venue_order_id`` should say."""
        return engine_order_id

    # ----- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.sim = self.build_simulator()
        await self.sim.start(port=0)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        await self.close_clients()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.sim is not None:
            await self.sim.stop()
            self.sim = None
        self.runner.shutdown()

    @property
    def simulator(self) -> SimulatorServer:
        if self.sim is None:
            raise RuntimeError("the harness is not started: await harness.start() first")
        return self.sim

    @property
    def base_url(self) -> str:
        return self.simulator.base_url

    # ----- clients ---------------------------------------------------------------------------------------------

    def client(self, account: SimAccount, tuning: ClientTuning = ClientTuning()) -> ExchangeClient:
        """An adapter client for ``account``; closed by ``close_clients`` (after every test)."""
        made = self.build_client(account, tuning)
        self._clients.append(made)
        return made

    def client_with_bad_secret(self, account: SimAccount, tuning: ClientTuning = ClientTuning()) -> ExchangeClient:
        made = self.build_client_with_bad_secret(account, tuning)
        self._clients.append(made)
        return made

    async def close_clients(self) -> None:
        clients, self._clients = self._clients, []
        for made in clients:
            await made.close()

    # ----- admin API -------------------------------------------------------------------------------------------

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._session is None:
            raise RuntimeError("the harness is not started: await harness.start() first")
        async with self._session.request(method, f"{self.base_url}/admin{path}", json=body) as response:
            payload = await response.json()
            if response.status != 200:
                raise AssertionError(f"admin {method} {path} answered {response.status}: {payload}")
            return payload

    async def create_account(
        self,
        *,
        balance: Decimal = Decimal("100000"),
        mode: PositionMode = PositionMode.ONE_WAY,
        can_withdraw: bool = False,
    ) -> SimAccount:
        name = f"acct-{uuid.uuid4().hex[:10]}"
        body: dict[str, Any] = {"name": name, "balance": decimal_str(balance), "position_mode": mode.value}
        if can_withdraw:
            body["can_withdraw"] = True
        credentials = await self.admin("POST", "/accounts", body)
        return SimAccount(name=name, position_mode=mode, can_withdraw=can_withdraw, credentials=credentials)

    async def account_state(self, account: SimAccount) -> dict[str, Any]:
        """The admin API's view of the account: balance, equity, leverage{}, positions[], orders[], fills[]."""
        state: dict[str, Any] = await self.admin("GET", f"/accounts/{account.name}")
        return state

    async def orders_with_client_id(self, account: SimAccount, client_id: str) -> list[dict[str, Any]]:
        state = await self.account_state(account)
        return [order for order in state["orders"] if order["client_id"] == client_id]

    async def set_mark(self, symbol: str, price: Decimal) -> None:
        await self.admin("POST", "/marks", {"symbol": symbol, "price": decimal_str(price)})

    async def mark(self, symbol: str) -> Decimal:
        marks = await self.admin("GET", "/marks")
        return Decimal(marks[symbol])

    async def set_latency(self, endpoint_class: str, seconds: Decimal | None) -> None:
        """Latency added after processing for one endpoint class ("order", "read", "account", "public", "*")."""
        spec = None if seconds is None else {"fixed_s": decimal_str(seconds)}
        await self.admin("POST", "/faults", {"latency": {endpoint_class: spec}})

    async def inject_errors(
        self,
        endpoint_class: str,
        kind: str,
        count: int,
        *,
        process_first: bool | None = None,
        timeout_hold_s: Decimal | None = None,
    ) -> None:
        """The next ``count`` calls of the class fail with ``kind``: "server_error", "rate_limit" or "timeout".

        ``process_first`` says whether the request is handled before the fault (default: timeouts only);
        ``timeout_hold_s`` is how long a "timeout" holds the answer before dropping the connection.
        """
        rule: dict[str, Any] = {"class": endpoint_class, "kind": kind, "count": count}
        if process_first is not None:
            rule["process_first"] = process_first
        body: dict[str, Any] = {"errors": [rule]}
        if timeout_hold_s is not None:
            body["timeout_hold_s"] = decimal_str(timeout_hold_s)
        await self.admin("POST", "/faults", body)

    async def clear_faults(self) -> None:
        await self.admin("POST", "/faults", {"clear": True})

    async def reset(self) -> None:
        """Forget every account, key and fault; marks back to their defaults."""
        await self.admin("POST", "/reset", {})

    # ----- the simulator's own truth ---------------------------------------------------------------------------

    def catalogue_rules(self, symbol: str) -> InstrumentRules:
        rules = self.simulator.engine.catalogue.rules(symbol)
        if rules is None:
            raise AssertionError(f"{self.venue.value} simulator does not list {symbol}")
        return rules

    def place_resting_limit(
        self,
        account: SimAccount,
        *,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        client_id: str,
        position_idx: PositionIdx = PositionIdx.ONE_WAY,
    ) -> str:
        """A GTC limit order that rests (the port places market orders only); returns its id as the venue shows it."""
        order = self.simulator.engine.place_order(
            account.name,
            symbol=symbol,
            side=side,
            qty=qty,
            order_type=OrderType.LIMIT,
            price=price,
            position_idx=int(position_idx),
            client_id=client_id,
        )
        return self.wire_order_id(str(order.order_id))

    async def wire_order_ids(self, account: SimAccount, client_id: str) -> list[str]:
        """The venue order ids (wire form) of every order the venue holds with ``client_id``."""
        return [self.wire_order_id(order["order_id"]) for order in await self.orders_with_client_id(account, client_id)]

    # ----- helpers for choosing numbers ------------------------------------------------------------------------

    def new_client_id(self, symbol: str) -> str:
        """A fresh client order id in this venue's format (the engine's own id scheme)."""
        key = ClientOrderKey(follower_id=uuid.uuid4().hex, lifecycle_id="contract", master_seq=1, leg=LegKey(symbol))
        return client_order_id(key, self.venue)


@asynccontextmanager
async def started(harness: VenueHarness) -> AsyncIterator[VenueHarness]:
    """Start ``harness`` for the block (a venue module's ``harness`` fixture wraps this), stop it after."""
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def qty_for_notional(rules: InstrumentRules, mark: Decimal, notional: Decimal) -> Decimal:
    """The smallest valid quantity worth at least ``notional`` at ``mark`` (and at least the minimum quantity)."""
    steps = (notional / mark / rules.qty_step).to_integral_value(rounding=ROUND_CEILING)
    return max(rules.min_qty, steps * rules.qty_step)


def price_on_tick(rules: InstrumentRules, price: Decimal) -> Decimal:
    """``price`` rounded down to the tick, kept to 5 significant figures so Hyperliquid accepts it too."""
    rounded = Decimal(f"{price:.5g}")
    return (rounded / rules.tick_size).to_integral_value() * rules.tick_size
