"""The Bybit follower client (``ExchangeClient``) on pybit's HTTP API, category=linear.

Every pybit call runs in the shared ``BlockingCallRunner`` under ``call_timeout_s``, behind the key's token bucket
(one for orders, one for everything else). pybit's own retries are switched off (``max_retries=1`` and no retry
codes: it would otherwise sleep inside the worker thread past our deadline), so the retry policy is ours: reads
and idempotent calls go through ``retry_idempotent``; an order placement is never blindly retried. A placement
whose answer is lost is looked up by ``orderLinkId``: found -> its report; never seen -> sent once more with the
same ``orderLinkId`` (Bybit refuses a second order with it: 110072); a 110072 answer -> look it up and report it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from decimal import Decimal
from typing import Any

from pybit.unified_trading import HTTP

from runtime.adapters.bybit import errors, parsing
from runtime.adapters.bybit.config import BybitConfig, BybitCredentials
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import RateLimiterRegistry, TokenBucket
from runtime.adapters.common.redaction import SecretRegistry, mask
from runtime.adapters.common.retry import retry_idempotent
from runtime.domain.client_ids import InvalidClientOrderIdError, validate_client_order_id
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import PositionMode, Venue, decimal_str
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState

CATEGORY = "linear"
POSITION_PAGE_LIMIT = 200  # Bybit's maximum for /v5/position/list
INSTRUMENT_PAGE_LIMIT = 1000  # Bybit's maximum for /v5/market/instruments-info
MAX_PAGES = 50
_SWITCH_MODE = {PositionMode.ONE_WAY: 0, PositionMode.HEDGE: 3}
_SETTLED_STATES = (OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED)


def build_http(credentials: BybitCredentials, config: BybitConfig) -> HTTP:
    """pybit's HTTP session pointed at ``config.base_url``, with its own retries off and a timeout under ours."""
    http = HTTP(
        api_key=credentials.api_key,
        api_secret=credentials.api_secret,
        timeout=config.sdk_timeout_s,
        recv_window=config.recv_window_ms,
        max_retries=1,
    )
    http.endpoint = config.base_url
    # pybit falls back to its default retry codes when given an empty set, so clear them after construction:
    # a 10006 would otherwise sleep until the reset inside the worker thread, and 10002 stretch recv_window.
    http.retry_codes = set()
    return http


class BybitClient:
    venue = Venue.BYBIT

    def __init__(
        self,
        credentials: BybitCredentials,
        config: BybitConfig | None = None,
        *,
        runner: BlockingCallRunner | None = None,
        limiters: RateLimiterRegistry | None = None,
        secrets: SecretRegistry | None = None,
        http: Any = None,
    ) -> None:
        self.config = config or BybitConfig()
        self._key_label = mask(credentials.api_key)
        self._owns_runner = runner is None
        self._runner = runner or BlockingCallRunner(max_workers=8, thread_name_prefix="bybit")
        self._http = http if http is not None else build_http(credentials, self.config)
        self._secrets = secrets or SecretRegistry()
        self._secrets.add(credentials.api_key)
        self._secrets.add(credentials.api_secret)
        # Bucket names carry a hash of the key, never the key itself.
        key_id = hashlib.sha256(credentials.api_key.encode()).hexdigest()[:12]
        registry = limiters or RateLimiterRegistry(self.config.read_rate_per_s, self.config.read_burst)
        cfg = self.config
        self._order_bucket = registry.bucket(f"bybit:{key_id}:order", cfg.order_rate_per_s, cfg.order_burst)
        self._read_bucket = registry.bucket(f"bybit:{key_id}:read", cfg.read_rate_per_s, cfg.read_burst)
        self._rules: dict[str, InstrumentRules] = {}
        self._rules_loaded_at: float | None = None
        self._rules_lock = asyncio.Lock()

    def __repr__(self) -> str:  # pybit's HTTP is a dataclass whose repr would print the secret
        return f"BybitClient(base_url={self.config.base_url!r}, api_key={self._key_label!r})"

    # ----- plumbing --------------------------------------------------------------------------------------------

    async def _call(self, what: str, method: str, *, order_sent: bool = False, **params: Any) -> dict[str, Any]:
        """One pybit call: bucket, deadline, error translation. Returns the envelope's ``result``."""
        bucket = self._order_bucket if order_sent or method == "cancel_order" else self._read_bucket
        await bucket.acquire()
        try:
            payload = await self._runner.call(self.config.call_timeout_s, getattr(self._http, method), **params)
        except Exception as exc:  # translated: pybit, requests and the deadline all land here
            raise self._translate(exc, what, order_sent, bucket) from None
        return parsing.result_of(payload, what)

    def _translate(self, exc: Exception, what: str, order_sent: bool, bucket: TokenBucket) -> ExchangeError:
        error = errors.from_exception(
            exc,
            what=what,
            order_sent=order_sent,
            secrets=self._secrets,
            default_backoff_s=self.config.default_rate_limit_backoff_s,
            max_backoff_s=self.config.max_rate_limit_backoff_s,
        )
        if error.kind is ErrorKind.RATE_LIMITED and error.retry_after_s:
            bucket.penalize(error.retry_after_s)  # every caller on this key backs off, not just this one
        return error

    async def _read(self, what: str, method: str, **params: Any) -> dict[str, Any]:
        return await retry_idempotent(lambda: self._call(what, method, **params), self.config.retry)

    async def _pages(self, what: str, method: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paged list."""
        items: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            result = await self._read(what, method, **page_params)
            items.extend(parsing.list_of(result, what))
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor:
                return items
        raise parsing.malformed(what, f"more than {MAX_PAGES} pages")

    # ----- instruments -----------------------------------------------------------------------------------------

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        loaded_at = self._rules_loaded_at
        if loaded_at is None or time.monotonic() - loaded_at > self.config.instruments_ttl_s:
            await self.refresh_instruments()
        rules = self._rules.get(symbol)
        if rules is None:
            await self.refresh_instruments()  # maybe listed since the last refresh
            rules = self._rules.get(symbol)
        if rules is None:
            raise errors.error(
                ErrorKind.INVALID_ORDER,
                f"instrument {symbol}",
                "not a linear contract Bybit lists; check the symbol mapping (e.g. BTCUSDT, 1000PEPEUSDT)",
            )
        return rules

    async def refresh_instruments(self) -> None:
        async with self._rules_lock:
            what = "instruments-info"
            items = await self._pages(what, "get_instruments_info", INSTRUMENT_PAGE_LIMIT, category=CATEGORY)
            rules = {}
            for item in items:
                instrument = parsing.BybitInstrument.parse(item)
                rules[instrument.symbol] = instrument.to_rules()
            self._rules = rules
            self._rules_loaded_at = time.monotonic()

    # ----- account ---------------------------------------------------------------------------------------------

    async def equity(self) -> Decimal:
        result = await self._read("wallet-balance", "get_wallet_balance", accountType="UNIFIED")
        wallets = [parsing.BybitWallet.parse(item) for item in parsing.list_of(result, "wallet-balance")]
        unified = [wallet for wallet in wallets if wallet.accountType in ("", "UNIFIED")]
        if not unified:
            raise errors.error(
                ErrorKind.UNKNOWN,
                "wallet-balance",
                "no UNIFIED account in the answer: the follower must use a Bybit unified trading account",
            )
        return unified[0].equity()

    async def _position_rows(self, symbol: str | None) -> list[parsing.BybitPositionRow]:
        what = f"position list {symbol or self.config.settle_coin}"
        scope = {"symbol": symbol} if symbol else {"settleCoin": self.config.settle_coin}
        items = await self._pages(what, "get_positions", POSITION_PAGE_LIMIT, category=CATEGORY, **scope)
        return [parsing.BybitPositionRow.parse(item) for item in items]

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        legs = (row.to_position() for row in await self._position_rows(symbol))
        return [leg for leg in legs if leg is not None]

    async def leverage(self, symbol: str) -> Decimal:
        rows = await self._position_rows(symbol)
        if not rows:
            raise errors.error(ErrorKind.INVALID_ORDER, f"leverage of {symbol}", "Bybit lists no position legs for it")
        return rows[0].leverage_value()

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        value = decimal_str(leverage)
        try:
            await self._read(
                f"set leverage {symbol} to {value}",
                "set_leverage",
                category=CATEGORY,
                symbol=symbol,
                buyLeverage=value,
                sellLeverage=value,
            )
        except ExchangeError as exc:
            if exc.kind is not ErrorKind.NOT_MODIFIED:  # 110043: already at that leverage
                raise

    async def position_mode(self) -> PositionMode:
        return parsing.position_mode_of(await self._position_rows(self.config.mode_probe_symbol))

    async def set_position_mode(self, mode: PositionMode) -> None:
        try:
            await self._read(
                f"switch position mode to {mode.value}",
                "switch_position_mode",
                category=CATEGORY,
                coin=self.config.settle_coin,
                mode=_SWITCH_MODE[mode],
            )
        except ExchangeError as exc:
            if exc.kind is not ErrorKind.NOT_MODIFIED:  # 110025: already in that mode
                raise

    async def check_key_permissions(self) -> KeyPermissions:
        try:
            result = await self._read("key info", "get_api_key_information")
        except ExchangeError as exc:
            if exc.kind is ErrorKind.AUTH:
                return KeyPermissions(
                    valid=False, can_trade_futures=False, can_withdraw=False, detail=exc.venue_message
                )
            raise
        return parsing.BybitKeyInfo.parse(result).to_permissions()

    # ----- orders ----------------------------------------------------------------------------------------------

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        try:
            validate_client_order_id(order.client_order_id, Venue.BYBIT)
        except InvalidClientOrderIdError as exc:
            raise errors.error(ErrorKind.INVALID_ORDER, "place order", str(exc)) from None
        try:
            ack = await self._send_order(order)
        except ExchangeError as exc:
            return await self._resolve(order, exc, resend=True)
        return await self._report_after_ack(order, str(ack.get("orderId", "")))

    async def _send_order(self, order: OrderRequest) -> dict[str, Any]:
        return await self._call(
            f"place {order.side.value} {decimal_str(order.qty)} {order.symbol} ({order.client_order_id})",
            "place_order",
            order_sent=True,
            category=CATEGORY,
            symbol=order.symbol,
            side=order.side.value,
            orderType="Market",
            qty=decimal_str(order.qty),
            positionIdx=int(order.position_idx),
            orderLinkId=order.client_order_id,
            reduceOnly=order.reduce_only,
        )

    async def _resolve(self, order: OrderRequest, failure: ExchangeError, *, resend: bool) -> OrderReport:
        """A placement failed in a way that may hide an order: find out by ``orderLinkId``."""
        if failure.kind not in (ErrorKind.AMBIGUOUS, ErrorKind.DUPLICATE_CLIENT_ID, ErrorKind.TEMPORARY):
            raise failure  # a definite refusal: nothing was placed
        try:
            found = await self.get_order(order.symbol, order.client_order_id)
        except ExchangeError as lookup_failure:
            raise errors.error(
                ErrorKind.AMBIGUOUS,
                f"order {order.client_order_id}",
                f"placement failed ({failure.kind.value}) and the look-up failed too ({lookup_failure.kind.value})",
            ) from lookup_failure
        if found is not None:
            return await self._settled(order, found)
        if failure.kind is not ErrorKind.AMBIGUOUS or not resend:
            raise failure  # Bybit has not seen it (yet): the caller may send it again with the same orderLinkId
        try:
            ack = await self._send_order(order)
        except ExchangeError as again:
            return await self._resolve(order, again, resend=False)
        return await self._report_after_ack(order, str(ack.get("orderId", "")))

    async def _report_after_ack(self, order: OrderRequest, order_id: str) -> OrderReport:
        report = parsing.fallback_report(order.client_order_id, order_id, order.symbol, order.side, order.qty)
        return await self._settled(order, report)

    async def _settled(self, order: OrderRequest, report: OrderReport) -> OrderReport:
        """A market order fills right after the acknowledgement: poll briefly for its final state."""
        for attempt in range(self.config.fill_poll_attempts):
            if report.state in _SETTLED_STATES:
                return report
            if attempt:
                await asyncio.sleep(self.config.fill_poll_interval_s)
            try:
                found = await self.get_order(order.symbol, order.client_order_id)
            except ExchangeError:
                return report  # the order is placed; its fill shows up in the next position read
            if found is not None:
                report = found
        return report

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        what = f"order look-up {client_order_id}"
        query = {"category": CATEGORY, "symbol": symbol, "orderLinkId": client_order_id}
        # realtime covers open orders and the latest 500 closed ones; history the rest.
        for method in ("get_open_orders", "get_order_history"):
            rows = parsing.list_of(await self._read(what, method, **query), what)
            for row in rows:
                parsed = parsing.BybitOrderRow.parse(row)
                if parsed.orderLinkId == client_order_id:
                    return parsed.to_report()
        return None

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        await self._call(
            f"cancel order {client_order_id}",
            "cancel_order",
            category=CATEGORY,
            symbol=symbol,
            orderLinkId=client_order_id,
        )

    async def close(self) -> None:
        session = getattr(self._http, "client", None)
        if session is not None:
            session.close()
        if self._owns_runner:
            self._runner.shutdown()
