"""The Hyperliquid follower: ``ExchangeClient`` on hyperliquid-python-sdk, trading through an agent (API) wallet.

What comes from the SDK: ``Info`` for every read (and its ``post`` as the HTTP transport, with the SDK's timeout
and its ``ClientError``/``ServerError``), ``sign_l1_action`` for signatures, ``Cloid`` for client ids. What does
not: ``Exchange.order``/``market_open`` take float sizes and prices and sign with ``get_timestamp_ms()`` as nonce,
so two orders of one signer in the same millisecond collide ("duplicate nonce"). This client builds the same
actions with Decimal strings and takes nonces from ``NonceSource`` (strictly increasing per signer, shared by every
client of that signer in the process), both in ``wire``; ``parsing`` reads the answers. Market orders are IOC
limits at the mid moved by the configured slippage (5% like the SDK), rounded to the venue's price rule away from
the mid.

Every SDK call runs in ``BlockingCallRunner`` with a deadline, after a token from the account's bucket. Reads and
``updateLeverage`` (idempotent) are retried; an order is never sent blindly twice: a failure after it may have left
(timeout, dropped connection, 5xx) is resolved by ``orderStatus`` on its cloid; only a cloid the venue has never
seen is sent once more, and only when no answer came at all (after a 5xx the caller decides).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeVar

import eth_account
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import RateLimiterRegistry
from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.common.retry import retry_idempotent
from runtime.adapters.hyperliquid import errors, parsing, wire
from runtime.adapters.hyperliquid.config import HyperliquidConfig, HyperliquidCredentials
from runtime.adapters.hyperliquid.parsing import AssetMeta, PlacementStatus
from runtime.adapters.hyperliquid.wire import NonceSource, normalize_cloid, shared_nonce_source, wall_clock_ms
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState

log = logging.getLogger(__name__)
T = TypeVar("T")

EMPTY_META: dict[str, Any] = {"universe": []}
EMPTY_SPOT_META: dict[str, Any] = {"universe": [], "tokens": []}
PLACE_ATTEMPTS = 2  # the first send, and one more only when the venue has provably never seen the cloid


class HyperliquidClient:
    """One follower account on Hyperliquid. Build it with the account address and the *agent* wallet's key."""

    venue = Venue.HYPERLIQUID

    def __init__(
        self,
        credentials: HyperliquidCredentials,
        config: HyperliquidConfig | None = None,
        *,
        runner: BlockingCallRunner | None = None,
        limiters: RateLimiterRegistry | None = None,
        secrets: SecretRegistry | None = None,
        nonces: NonceSource | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.config = config or HyperliquidConfig()
        self.account_address = credentials.account_address
        self._wallet = eth_account.Account.from_key(credentials.agent_private_key)
        self.signer_address = str(self._wallet.address).lower()
        self.secrets = secrets or SecretRegistry()
        key = credentials.agent_private_key
        for form in (key, key.removeprefix("0x"), "0x" + key.removeprefix("0x")):
            self.secrets.add(form)
        self._owns_runner = runner is None
        self._runner = runner or BlockingCallRunner(max_workers=8, thread_name_prefix="hyperliquid")
        limiters = limiters or RateLimiterRegistry(self.config.rate_per_s, self.config.rate_burst)
        self._bucket = limiters.bucket(
            f"hyperliquid:{self.account_address}", self.config.rate_per_s, self.config.rate_burst
        )
        self._nonces = nonces or shared_nonce_source(self.signer_address)
        self._now_ms = now_ms
        # meta/spot_meta given and skip_ws: the SDK makes no request while constructing.
        self._info = Info(self.config.base_url, True, EMPTY_META, EMPTY_SPOT_META, None, self.config.request_timeout_s)
        self._assets: dict[str, AssetMeta] = {}
        self._rules: dict[str, InstrumentRules] = {}
        self._loaded_at: float | None = None
        self._instruments_lock = asyncio.Lock()
        self._leverage_set: dict[str, Decimal] = {}
        self._serves_active_asset_data = True

    def __repr__(self) -> str:
        return (
            f"HyperliquidClient(account={self.account_address}, agent={self.signer_address}, "
            f"base_url={self.config.base_url})"
        )

    # ----- plumbing --------------------------------------------------------------------------------------------

    async def _call(self, what: str, fn: Callable[..., T], *args: object, order_sent: bool = False) -> T:
        """One SDK call: a token, then the call in the pool with a deadline; failures become ExchangeError."""
        await self._bucket.acquire()
        try:
            return await self._runner.call(self.config.call_deadline_s, fn, *args)
        except Exception as exc:
            error = errors.from_transport(exc, what, order_sent=order_sent, secrets=self.secrets)
            if error.kind is ErrorKind.RATE_LIMITED:
                self._bucket.penalize(error.retry_after_s or errors.DEFAULT_RATE_LIMIT_BACKOFF_S)
            raise error from None

    async def _read(self, what: str, fn: Callable[..., T], *args: object) -> T:
        return await retry_idempotent(lambda: self._call(what, fn, *args), self.config.retry)

    def _send_action(self, action: dict[str, Any]) -> Any:
        """Sign ``action`` with the agent for a fresh nonce and POST it (blocking: runs in the pool)."""
        body = wire.signed_request(self._wallet, action, self._nonces.next(), is_mainnet=self.config.is_mainnet)
        return self._info.post("/exchange", body)

    def _error(self, kind: ErrorKind, message: str) -> ExchangeError:
        return ExchangeError(kind, self.venue, message)

    # ----- instruments -----------------------------------------------------------------------------------------

    async def refresh_instruments(self) -> None:
        async with self._instruments_lock:
            await self._load_instruments()

    async def _load_instruments(self) -> None:
        assets = parsing.parse_meta(await self._read("meta", self._info.meta))
        mids = await self._mids()
        self._assets = assets
        self._rules = {
            name: parsing.instrument_rules(
                meta, mids.get(name), min_notional=self.config.min_order_value, max_qty=self.config.max_order_qty
            )
            for name, meta in assets.items()
        }
        self._loaded_at = time.monotonic()

    async def _asset(self, symbol: str) -> AssetMeta:
        async with self._instruments_lock:
            stale = self._loaded_at is None or time.monotonic() - self._loaded_at > self.config.instruments_ttl_s
            if stale or symbol not in self._assets:
                await self._load_instruments()
        asset = self._assets.get(symbol)
        if asset is None:
            raise self._error(
                ErrorKind.INVALID_ORDER,
                f"Hyperliquid lists no perpetual named {symbol!r}: use the coin name (BTC, ETH, kPEPE), "
                "and check the symbol mapping",
            )
        return asset

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        await self._asset(symbol)
        return self._rules[symbol]

    async def _mids(self) -> dict[str, Decimal]:
        return parsing.parse_mids(await self._read("allMids", self._info.all_mids))

    # ----- account ---------------------------------------------------------------------------------------------

    async def _state(self) -> parsing.AccountState:
        raw = await self._read("clearinghouseState", self._info.user_state, self.account_address)
        return parsing.parse_clearinghouse_state(raw)

    async def equity(self) -> Decimal:
        return (await self._state()).account_value

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        state = await self._state()
        return [
            p.to_follower_position() for p in state.positions if p.szi != 0 and (symbol is None or p.coin == symbol)
        ]

    async def leverage(self, symbol: str) -> Decimal:
        """The coin's leverage: from the open position, else ``activeAssetData``, else what this client last set.
        ZERO means the venue reported none (flat and never set here): set it before trading."""
        held = [p for p in (await self._state()).positions if p.coin == symbol and p.szi != 0]
        if held:
            return held[0].leverage
        if self._serves_active_asset_data:
            try:
                raw = await self._read("activeAssetData", self._info.post, "/info", self._active_asset_query(symbol))
                active = parsing.parse_active_leverage(raw)
                if active is not None:
                    return active
            except ExchangeError as exc:
                if exc.kind not in (ErrorKind.INVALID_ORDER, ErrorKind.UNKNOWN):
                    raise
                self._serves_active_asset_data = False  # e.g. a simulator without it: do not ask again
        return self._leverage_set.get(symbol, ZERO)

    def _active_asset_query(self, symbol: str) -> dict[str, str]:
        return {"type": "activeAssetData", "user": self.account_address, "coin": symbol}

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Cross leverage, a whole number on Hyperliquid: a fractional value is floored (less exposure, not more).
        Setting the leverage a coin already has is answered "ok" by the venue, so it is success here too."""
        whole = int(leverage.to_integral_value(rounding=ROUND_DOWN))
        if whole < 1:
            raise self._error(ErrorKind.INVALID_ORDER, f"leverage {leverage} for {symbol}: must be at least 1")
        if whole != leverage:
            log.warning(
                "hyperliquid %s: leverage %s floored to %s (the venue takes whole numbers)", symbol, leverage, whole
            )
        asset = await self._asset(symbol)
        action = wire.update_leverage_action(asset.asset, whole)
        parsing.check_default_ok(await self._read("updateLeverage", self._send_action, action))
        self._leverage_set[symbol] = Decimal(whole)

    async def position_mode(self) -> PositionMode:
        return PositionMode.ONE_WAY

    async def set_position_mode(self, mode: PositionMode) -> None:
        if mode is PositionMode.HEDGE:
            raise self._error(
                ErrorKind.INVALID_ORDER,
                "Hyperliquid has no hedge mode: each coin has one net (one-way) position. Configure this follower "
                "as one-way; the engine nets a hedge-mode master's legs for it.",
            )

    # ----- orders ----------------------------------------------------------------------------------------------

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        if order.position_idx is not PositionIdx.ONE_WAY:
            raise self._error(
                ErrorKind.INVALID_ORDER,
                f"position_idx {int(order.position_idx)} asks for a hedge leg; Hyperliquid is one-way only (use 0)",
            )
        cloid = normalize_cloid(order.client_order_id)
        asset = await self._asset(order.symbol)
        if not wire.size_is_valid(order.qty, asset.sz_decimals):
            raise self._error(
                ErrorKind.INVALID_ORDER,
                f"{order.symbol} qty {order.qty} must be positive with at most {asset.sz_decimals} decimals "
                f"(step {wire.qty_step(asset.sz_decimals)}); round it with the instrument rules",
            )
        mid = (await self._mids()).get(order.symbol)
        if mid is None or mid <= 0:
            raise self._error(ErrorKind.TEMPORARY, f"no mid price for {order.symbol} right now; try again")
        is_buy = order.side is Side.BUY
        price = wire.slippage_price(mid, is_buy, self.config.slippage, asset.sz_decimals)
        action = wire.order_action(asset.asset, is_buy, price, order.qty, order.reduce_only, cloid)
        for attempt in range(1, PLACE_ATTEMPTS + 1):
            try:
                raw = await self._call("order", self._send_action, action, order_sent=True)
            except ExchangeError as exc:
                if exc.kind is not ErrorKind.AMBIGUOUS and not errors.answered_5xx(exc):
                    raise
                found = await self._look_up_after(order, cloid, exc)
                if found is not None:
                    return found
                if exc.kind is not ErrorKind.AMBIGUOUS:
                    raise  # a 5xx and the venue has no such order: nothing placed, the caller may retry later
                log.warning("hyperliquid order %s: venue never saw it (attempt %d); sending it again", cloid, attempt)
                continue
            return await self._report_placement(order, cloid, parsing.parse_order_statuses(raw)[0])
        raise self._error(
            ErrorKind.AMBIGUOUS,
            f"order {cloid} on {order.symbol}: no answer after {PLACE_ATTEMPTS} attempts and not found by look-up; "
            "look it up again by client id before placing anything else for this change",
        )

    async def _look_up_after(self, order: OrderRequest, cloid: str, cause: ExchangeError) -> OrderReport | None:
        """The order as the venue has it after ``cause`` left its fate open; None when the venue never saw it."""
        try:
            return await self.get_order(order.symbol, cloid)
        except ExchangeError as lookup:
            raise self._error(
                ErrorKind.AMBIGUOUS,
                f"order {cloid}: {cause.venue_message}; the look-up by cloid failed too ({lookup.venue_message}): "
                "look it up again before placing",
            ) from None

    async def _report_placement(self, order: OrderRequest, cloid: str, status: PlacementStatus) -> OrderReport:
        if status.error is not None:
            error = errors.order_rejected(status.error)
            if error.kind is ErrorKind.DUPLICATE_CLIENT_ID:
                found = await self.get_order(order.symbol, cloid)  # "already placed": report that order
                if found is not None:
                    return found
            raise error
        if status.resting:  # an IOC should never rest; report what the venue said
            state, filled = OrderState.NEW, ZERO
        else:
            filled = status.total_sz
            state = OrderState.FILLED if filled >= order.qty else OrderState.PARTIALLY_FILLED
        return OrderReport(
            client_order_id=cloid,
            venue_order_id=str(status.oid) if status.oid is not None else "",
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            state=state,
            filled_qty=filled,
            avg_price=status.avg_px if filled > 0 else ZERO,
        )

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        cloid = normalize_cloid(client_order_id)
        raw = await self._read("orderStatus", self._info.query_order_by_cloid, self.account_address, Cloid(cloid))
        found = parsing.parse_order_status(raw)
        if found is None:
            return None
        filled, avg_price = found.filled_sz, ZERO
        if filled > 0:  # orderStatus carries no fill price: average the order's own fills
            fills = await self._read("userFills", self._info.user_fills, self.account_address)
            fill_qty, avg_price = parsing.fills_of_order(fills, found.oid)
            if found.status != "filled" and not found.is_live:
                filled = fill_qty  # a closed, not filled order: its fills say how much traded
        return found.report(cloid, filled, avg_price)

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        cloid = normalize_cloid(client_order_id)
        asset = await self._asset(symbol)
        raw = await self._call("cancelByCloid", self._send_action, wire.cancel_by_cloid_action(asset.asset, cloid))
        failure = parsing.parse_cancel_statuses(raw)[0]
        if failure is not None:
            raise errors.cancel_rejected(failure)

    # ----- key check -------------------------------------------------------------------------------------------

    async def check_key_permissions(self) -> KeyPermissions:
        """Valid = the signer is an agent the account approved (and still valid). The account's own key is refused:
        it can withdraw. Read from ``extraAgents`` (named agents) and ``userRole`` (any agent and its owner)."""
        account, signer = self.account_address, self.signer_address
        if signer == account:
            return KeyPermissions(
                valid=True,
                can_trade_futures=True,
                can_withdraw=True,
                detail=f"the configured key is the main wallet of {account} itself",
            )
        agents = parsing.parse_extra_agents(await self._read("extraAgents", self._info.extra_agents, account))
        approval = next((agent for agent in agents if agent.address == signer), None)
        if approval is not None:
            if approval.valid_until_ms and approval.valid_until_ms <= self._now_ms():
                return KeyPermissions(
                    False, False, False, f"agent {signer} ('{approval.name}') of {account} has expired; approve anew"
                )
            return KeyPermissions(True, True, False, f"agent '{approval.name}' {signer} of {account}")
        role, owner = parsing.parse_user_role(await self._read("userRole", self._info.user_role, signer))
        if role == "agent" and owner == account:
            return KeyPermissions(True, True, False, f"agent {signer} of {account}")
        whose = {"agent": f"an agent of {owner}", "missing": "unknown to the venue"}.get(role, f"a {role} address")
        return KeyPermissions(
            False,
            False,
            False,
            f"signer {signer} is not an approved agent of {account} (it is {whose}): approve it in the Hyperliquid "
            "app under API for this account, or set the account address this agent belongs to",
        )

    async def close(self) -> None:
        self._info.session.close()
        if self._owns_runner:
            self._runner.shutdown()
