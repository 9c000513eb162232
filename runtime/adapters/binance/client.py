"""The Binance USD-M follower: ``ExchangeClient`` on python-binance's blocking ``Client``.

Every SDK call runs through the shared ``BlockingCallRunner`` with an explicit deadline, after the token buckets
(request weight per egress IP, order count per account). Reads and idempotent calls are retried with backoff;
an order placement never is. When its answer is lost (deadline, broken connection) or is a 5xx ("execution status
unknown"), the order is looked up by ``origClientOrderId``; "not found" is trusted only once Binance can no longer
accept the lost request (its recvWindow has passed). Found -> that is the answer. Not found after a lost answer ->
sent once more with the same id; after a 5xx -> raised as TEMPORARY. Binance's -4116 duplicate check covers open
orders only, so a filled market order's id may be reusable: the look-up, not the venue, is the guard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from binance.client import Client
from binance.exceptions import BinanceAPIException

from runtime.adapters.binance.config import WEIGHTS, BinanceConfig
from runtime.adapters.binance.errors import VENUE, translate
from runtime.adapters.binance.parsing import (
    ListedSymbol,
    PayloadError,
    new_order_params,
    order_request_problem,
    parse_account_positions,
    parse_equity,
    parse_exchange_info,
    parse_key_permissions,
    parse_leverage,
    parse_leverage_brackets,
    parse_order,
    parse_position_mode,
)
from runtime.adapters.binance.sdk import SendGuard, build_sdk_client, sdk_timeout
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import RateLimiterRegistry, TokenBucket
from runtime.adapters.common.redaction import SecretRegistry, mask
from runtime.adapters.common.retry import retry_idempotent
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import PositionMode, Venue, decimal_str
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState

log = logging.getLogger(__name__)

# A 429/418 without Retry-After still backs every follower on the IP off for this long.
DEFAULT_RATE_LIMIT_PAUSE_S = 1.0
TOO_MANY_ORDERS = -1015
UNKNOWN_SYMBOL_RELOAD_S = 30.0


@dataclass(frozen=True)
class _Unanswered:
    """An order call without a usable answer. ``started_at`` None: it never left; else it may have landed.
    ``venue_error``: Binance did answer, with a 5xx (as opposed to the answer being lost on the way)."""

    started_at: float | None
    reason: str
    venue_error: ExchangeError | None = None


class BinanceClient:
    venue = Venue.BINANCE

    def __init__(
        self,
        config: BinanceConfig,
        *,
        runner: BlockingCallRunner | None = None,
        limiter: RateLimiterRegistry | None = None,
        secrets: SecretRegistry | None = None,
        sdk: Client | None = None,
    ) -> None:
        self.config = config
        self._owns_runner = runner is None
        self._runner = runner or BlockingCallRunner(max_workers=8, thread_name_prefix="binance")
        rates = config.rate_limits
        registry = limiter or RateLimiterRegistry(default_rate=rates.ip_rate, default_burst=rates.burst(rates.ip_rate))
        self._ip_bucket: TokenBucket = registry.bucket(rates.ip_key, rates.ip_rate, rates.burst(rates.ip_rate))
        self._order_bucket: TokenBucket = registry.bucket(
            f"binance:orders:{config.key_id}", rates.order_rate, rates.burst(rates.order_rate)
        )
        # Our own registry scrubs exception text; the shared one (if given) feeds the log filter.
        self._secrets = SecretRegistry()
        for known in (self._secrets, secrets):
            if known is not None:
                known.add(config.api_key)
                known.add(config.api_secret)
        self._sdk = sdk if sdk is not None else build_sdk_client(config)
        self._instruments: dict[str, ListedSymbol] = {}
        self._instruments_loaded_at: float | None = None
        self._instruments_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BinanceClient(key={mask(self.config.api_key)!r}, futures_url={self.config.endpoints.futures_url!r})"

    # ----- plumbing ----------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return self._secrets.redact(text)

    def _rate_limited(self, error: ExchangeError) -> None:
        if error.kind is not ErrorKind.RATE_LIMITED:
            return
        pause = error.retry_after_s or DEFAULT_RATE_LIMIT_PAUSE_S
        if error.raw_code == TOO_MANY_ORDERS:
            self._order_bucket.penalize(pause)  # the account's order count, not the IP's weight
        else:
            # The IP's weight is shared by every follower behind it: all of them pause, not just this one.
            self._ip_bucket.penalize(pause)

    async def _call(self, endpoint: str, fn: Callable[..., Any], **params: Any) -> Any:
        """One SDK call: IP weight, deadline, errors translated. No retry here."""
        weight = WEIGHTS[endpoint]
        if weight:
            await self._ip_bucket.acquire(weight)
        try:
            return await self._runner.call(self.config.timeout_s, fn, **params)
        except Exception as exc:
            error = translate(exc, self._scrub)
            self._rate_limited(error)
            raise error from None

    async def _read(self, endpoint: str, fn: Callable[..., Any], **params: Any) -> Any:
        """A read or idempotent change: retried on temporary and rate-limit errors."""
        return await retry_idempotent(lambda: self._call(endpoint, fn, **params), self.config.retry)

    @staticmethod
    def _parsed(parse: Callable[..., Any], *args: Any) -> Any:
        try:
            return parse(*args)
        except PayloadError as exc:
            raise ExchangeError(ErrorKind.UNKNOWN, VENUE, f"unexpected answer: {exc}") from None

    # ----- instruments -------------------------------------------------------------------------------------------

    def _needs_load(self, symbol: str) -> bool:
        """Stale, or a symbol not seen yet: reload, but at most every ``UNKNOWN_SYMBOL_RELOAD_S`` for a symbol
        Binance does not list (a mapping mistake must not cost two calls per copy)."""
        loaded = self._instruments_loaded_at
        if loaded is None:
            return True
        age = time.monotonic() - loaded
        if age >= self.config.instruments_ttl_s:
            return True
        return symbol not in self._instruments and age >= UNKNOWN_SYMBOL_RELOAD_S

    async def refresh_instruments(self) -> None:
        async with self._instruments_lock:
            await self._load_instruments()

    async def _load_instruments(self) -> None:
        info, brackets = await asyncio.gather(
            self._read("exchange_info", self._sdk.futures_exchange_info),
            self._read("leverage_bracket", self._sdk.futures_leverage_bracket),
        )
        max_leverage = self._parsed(parse_leverage_brackets, brackets)
        self._instruments = self._parsed(parse_exchange_info, info, max_leverage)
        self._instruments_loaded_at = time.monotonic()

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        if self._needs_load(symbol):
            async with self._instruments_lock:
                if self._needs_load(symbol):
                    await self._load_instruments()
        listed = self._instruments.get(symbol)
        if listed is None:
            raise ExchangeError(
                ErrorKind.INVALID_ORDER, VENUE, f"{symbol} is not listed on Binance USD-M; check the symbol mapping"
            )
        if not listed.is_trading:
            raise ExchangeError(ErrorKind.INVALID_ORDER, VENUE, f"{symbol} is not trading (status {listed.status})")
        return listed.rules

    # ----- account -----------------------------------------------------------------------------------------------

    async def equity(self) -> Decimal:
        account = await self._read("account", self._sdk.futures_account)
        return self._parsed(parse_equity, account)  # type: ignore[no-any-return]

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        # /fapi/v2/account lists every leg with amount, entry, leverage and initial margin in one call of weight 5
        # (v3 positionRisk lacks leverage, so it would take a second call).
        account = await self._read("account", self._sdk.futures_account)
        legs: list[FollowerPosition] = self._parsed(parse_account_positions, account)
        return [leg for leg in legs if symbol is None or leg.symbol == symbol]

    async def leverage(self, symbol: str) -> Decimal:
        # v3 positionRisk has no leverage; v2 (weight 5, filtered by symbol) does.
        rows = await self._read("position_risk", self._sdk.futures_position_information, version=2, symbol=symbol)
        return self._parsed(parse_leverage, rows, symbol)  # type: ignore[no-any-return]

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Binance takes whole leverage only: a fractional value (Bybit allows 12.5) is floored, never raised."""
        whole = int(leverage.to_integral_value(rounding=ROUND_FLOOR))
        if whole < 1:
            raise ExchangeError(
                ErrorKind.INVALID_ORDER, VENUE, f"leverage {decimal_str(leverage)} is below Binance's minimum of 1"
            )
        try:
            await self._read("change_leverage", self._sdk.futures_change_leverage, symbol=symbol, leverage=whole)
        except ExchangeError as exc:
            if exc.kind is not ErrorKind.NOT_MODIFIED:
                raise

    async def position_mode(self) -> PositionMode:
        payload = await self._read("position_mode", self._sdk.futures_get_position_mode)
        return self._parsed(parse_position_mode, payload)  # type: ignore[no-any-return]

    async def set_position_mode(self, mode: PositionMode) -> None:
        dual = "true" if mode is PositionMode.HEDGE else "false"
        try:
            await self._read("change_position_mode", self._sdk.futures_change_position_mode, dualSidePosition=dual)
        except ExchangeError as exc:
            if exc.kind is not ErrorKind.NOT_MODIFIED:  # -4059 "No need to change position side."
                raise

    async def check_key_permissions(self) -> KeyPermissions:
        try:
            if self.config.endpoints.sapi_url is None:
                await self.equity()  # proves the key works; the testnet has no wallet API and no real withdrawals
                return KeyPermissions(True, True, False, "futures testnet: no wallet API, withdrawals impossible")
            payload = await self._read("api_restrictions", self._sdk.get_account_api_permissions)
        except ExchangeError as exc:
            if exc.kind is ErrorKind.AUTH:
                return KeyPermissions(valid=False, can_trade_futures=False, can_withdraw=False, detail=str(exc))
            raise
        return self._parsed(parse_key_permissions, payload)  # type: ignore[no-any-return]

    # ----- orders ------------------------------------------------------------------------------------------------

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        try:
            payload = await self._read(
                "get_order", self._sdk.futures_get_order, symbol=symbol, origClientOrderId=client_order_id
            )
        except ExchangeError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:  # -2013: Binance has never seen this id (or forgot it, 90 days)
                return None
            raise
        return self._parsed(parse_order, payload)  # type: ignore[no-any-return]

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        """Cancel an open order. Raises NOT_FOUND (-2011) when no open order has that id (filled, gone, unknown)."""
        await self._order_bucket.acquire()
        cancel = self._sdk.futures_cancel_order
        await self._read("cancel_order", cancel, symbol=symbol, origClientOrderId=client_order_id)

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        problem = order_request_problem(order)
        if problem is not None:
            raise ExchangeError(ErrorKind.INVALID_ORDER, VENUE, problem)
        maybe_sent, reason = False, ""
        for attempt in range(1, self.config.max_order_attempts + 1):
            outcome = await self._send_order(order)
            if isinstance(outcome, OrderReport):
                return await self._settled(outcome)
            reason = outcome.reason
            if outcome.started_at is not None:
                maybe_sent = True
                log.warning(
                    "binance %s: order %s unanswered (%s), attempt %d: looking it up",
                    mask(self.config.api_key),
                    order.client_order_id,
                    reason,
                    attempt,
                )
                found = await self._resolve(order, outcome.started_at)
                if found is not None:
                    return await self._settled(found)
                if outcome.venue_error is not None:
                    # Binance answered "try later" (5xx) and never placed it: the engine decides when to retry.
                    raise outcome.venue_error
            # Lost before Binance could have handled it (or never sent): the same client id goes out once more.
        raise ExchangeError(
            ErrorKind.AMBIGUOUS if maybe_sent else ErrorKind.TEMPORARY,
            VENUE,
            f"order {order.client_order_id} got no answer in {self.config.max_order_attempts} attempts ({reason}); "
            "look it up by client id before placing it again",
        )

    async def _send_order(self, order: OrderRequest) -> OrderReport | _Unanswered:
        await self._order_bucket.acquire()
        guard = SendGuard()
        timeout = self.config.order_timeout_s
        params: dict[str, Any] = {**new_order_params(order), "requests_params": {"timeout": sdk_timeout(timeout)}}
        try:
            payload = await self._runner.call(timeout, guard.wrap(self._sdk.futures_create_order), **params)
        except TimeoutError:
            return _Unanswered(guard.abandon(), f"no answer within {timeout} s")
        except Exception as exc:
            error = translate(exc, self._scrub)
            self._rate_limited(error)
            if error.kind is ErrorKind.DUPLICATE_CLIENT_ID:
                # -4116: an open order already holds this id, i.e. it was placed: report that order.
                found = await self.get_order(order.symbol, order.client_order_id)
                if found is not None:
                    return found
                raise error from None
            if error.kind is not ErrorKind.TEMPORARY:
                raise error from None
            # A 5xx ("execution status unknown") or a broken connection: the order may have landed.
            started = guard.abandon() or time.monotonic()
            answered = isinstance(exc, BinanceAPIException)
            return _Unanswered(started, error.venue_message, error if answered else None)
        return self._parsed(parse_order, payload)  # type: ignore[no-any-return]

    async def _resolve(self, order: OrderRequest, started_at: float) -> OrderReport | None:
        """Did the unanswered order land? "Not found" is trusted only once Binance can no longer accept the lost
        request: ``settle_s`` (its recvWindow plus clock-skew margin) after it was sent."""
        try:
            found = await self.get_order(order.symbol, order.client_order_id)
            wait = started_at + self.config.settle_s - time.monotonic()
            if found is None and wait > 0:
                await asyncio.sleep(wait)
                found = await self.get_order(order.symbol, order.client_order_id)
        except ExchangeError as exc:
            raise ExchangeError(
                ErrorKind.AMBIGUOUS,
                VENUE,
                f"order {order.client_order_id} may have been placed and the look-up failed ({exc.venue_message}); "
                "look it up by client id before placing it again",
                raw_code=exc.raw_code,
            ) from None
        return found

    async def _settled(self, report: OrderReport) -> OrderReport:
        """A market order answered with RESULT is final; if Binance still says NEW, ask once more (best effort)."""
        if report.state not in (OrderState.NEW, OrderState.PARTIALLY_FILLED):
            return report
        try:
            latest = await self.get_order(report.symbol, report.client_order_id)
        except ExchangeError:
            return report
        return latest or report

    async def close(self) -> None:
        self._sdk.close_connection()
        if self._owns_runner:
            self._runner.shutdown()
