"""The Bybit v5 simulator (category=linear, unified account) on the shared simulator core.

pybit works against it unchanged once pointed at it::

    session = HTTP(api_key=key, api_secret=secret)
    session.endpoint = sim.base_url
    pybit.unified_trading.PRIVATE_WSS = sim.ws_url   # before constructing WebSocket(channel_type="private")

Admin extension: ``POST /admin/accounts`` also takes ``"can_withdraw": true`` (default false), which makes
``/v5/user/query-api`` list ``Withdraw`` among the key's wallet permissions (the engine must refuse such a key).
"""

from __future__ import annotations

import contextvars
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from runtime.domain.values import PositionMode, Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.bybit.codes import BybitError, RetCode, error_envelope, now_ms
from runtime.sim.bybit.gate import RequestGate, rate_limit_headers, respond
from runtime.sim.bybit.private_stream import PrivateStream
from runtime.sim.bybit.rest_account import AccountRoutes, MarketRoutes, wallet_result
from runtime.sim.bybit.rest_trade import TradeRoutes
from runtime.sim.catalogue import Catalogue
from runtime.sim.events import EventBatch
from runtime.sim.faults import EndpointClass, InjectedError
from runtime.sim.model import DuplicateScope, ReduceOnlyPolicy
from runtime.sim.server import Credentials, SimulatorServer

PRIVATE_PATH = "/v5/private"
# pybit sleeps until X-Bapi-Limit-Reset-Timestamp before retrying a 10006: the window Bybit counts in.
RATE_LIMIT_WINDOW_MS = 1000

_ORDER_PATHS = ("/v5/order/create", "/v5/order/cancel")
_READ_PATHS = ("/v5/order/realtime", "/v5/order/history", "/v5/position/list", "/v5/execution/list")

# Set while an admin "create account" request runs, so create_credentials knows whether the key may withdraw.
_CAN_WITHDRAW: contextvars.ContextVar[bool] = contextvars.ContextVar("bybit_can_withdraw", default=False)


@dataclass(frozen=True)
class BybitCredentials(Credentials):
    can_withdraw: bool = False

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "can_withdraw": self.can_withdraw}


class BybitSimulator(SimulatorServer):
    venue = Venue.BYBIT

    def __init__(
        self,
        *,
        catalogue: Catalogue | None = None,
        settings: EngineSettings | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(catalogue=catalogue, settings=settings, seed=seed)
        self._user_ids = itertools.count(100_000_001)
        self._user_id_of: dict[str, int] = {}
        self.gate = RequestGate(self._secret_for_key, self.account_for_key)
        self.trade = TradeRoutes(self.engine)
        self.account_routes = AccountRoutes(self.engine, self._key_info)
        self.market = MarketRoutes(self.engine)
        self.private = PrivateStream(
            self.streams,
            secrets=self._secret_for_key,
            account_of=self.account_for_key,
            wallet_of=lambda account: wallet_result(self.engine, account),
            fee_rate=self._fee_rate,
        )

    # ----- core hooks ------------------------------------------------------------------------------------------

    def default_settings(self) -> EngineSettings:
        return EngineSettings(reduce_only_policy=ReduceOnlyPolicy.CAP, duplicate_scope=DuplicateScope.ALL_ORDERS)

    def add_routes(self, app: web.Application) -> None:
        signed, public = self.gate.signed, self.gate.public
        router = app.router
        router.add_post("/v5/order/create", signed(self.trade.create_order))
        router.add_post("/v5/order/cancel", signed(self.trade.cancel_order))
        router.add_get("/v5/order/realtime", signed(self.trade.open_orders))
        router.add_get("/v5/order/history", signed(self.trade.order_history))
        router.add_get("/v5/execution/list", signed(self.trade.executions))
        router.add_get("/v5/position/list", signed(self.account_routes.positions))
        router.add_post("/v5/position/set-leverage", signed(self.account_routes.set_leverage))
        router.add_post("/v5/position/switch-mode", signed(self.account_routes.switch_mode))
        router.add_get("/v5/account/wallet-balance", signed(self.account_routes.wallet_balance))
        router.add_get("/v5/user/query-api", signed(self.account_routes.query_api))
        router.add_get("/v5/market/instruments-info", public(self.market.instruments))
        router.add_get("/v5/market/tickers", public(self.market.tickers))
        router.add_get("/v5/market/time", public(self.market.server_time))
        router.add_get(PRIVATE_PATH, self.private.handle)

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._withdraw_flag_middleware)
        return app

    def classify(self, request: web.Request) -> str:
        path = request.path
        if path == PRIVATE_PATH:
            return EndpointClass.WS
        if path in _ORDER_PATHS:
            return EndpointClass.ORDER
        if path in _READ_PATHS:
            return EndpointClass.READ
        if path.startswith("/v5/market/"):
            return EndpointClass.PUBLIC
        return EndpointClass.ACCOUNT

    def format_injected_error(self, kind: InjectedError, request: web.Request) -> web.StreamResponse:
        if kind is InjectedError.RATE_LIMIT and request.path != PRIVATE_PATH:
            now = now_ms()
            reset = (now // RATE_LIMIT_WINDOW_MS + 1) * RATE_LIMIT_WINDOW_MS
            body = error_envelope(BybitError(RetCode.RATE_LIMIT))
            return respond(body, headers=rate_limit_headers(10, 0, reset))
        # Bybit's edge answers a 5xx with a short text page, not the JSON envelope.
        return web.Response(status=503, text="503 Service Temporarily Unavailable", content_type="text/html")

    def create_credentials(self, account: str) -> Credentials:
        base = super().create_credentials(account)
        self._user_id_of[account] = next(self._user_ids)
        return BybitCredentials(account=account, key=base.key, secret=base.secret, can_withdraw=_CAN_WITHDRAW.get())

    def on_events(self, batch: EventBatch) -> None:
        self.private.on_events(batch)

    def on_reset(self) -> None:
        self._user_id_of.clear()

    @property
    def ws_url(self) -> str:
        return f"{self.ws_base}{PRIVATE_PATH}"

    # ----- accounts --------------------------------------------------------------------------------------------

    def register_account(
        self,
        name: str,
        balance: Decimal,
        position_mode: PositionMode = PositionMode.ONE_WAY,
        *,
        can_withdraw: bool | None = None,
    ) -> Credentials:
        """As the core's, plus ``can_withdraw`` (None: whatever the admin request asked for, default False)."""
        token = _CAN_WITHDRAW.set(can_withdraw) if can_withdraw is not None else None
        try:
            return super().register_account(name, balance, position_mode)
        finally:
            if token is not None:
                _CAN_WITHDRAW.reset(token)

    def _secret_for_key(self, key: str) -> str | None:
        found = self.credentials_for_key(key)
        return found.secret if found is not None else None

    def _key_info(self, key: str) -> tuple[bool, int]:
        found = self.credentials_for_key(key)
        if found is None:
            raise BybitError(RetCode.INVALID_KEY)
        can_withdraw = isinstance(found, BybitCredentials) and found.can_withdraw
        return can_withdraw, self._user_id_of.get(found.account, 0)

    def _fee_rate(self, is_maker: bool) -> Decimal:
        settings = self.engine.settings
        return settings.maker_fee_rate if is_maker else settings.taker_fee_rate

    @web.middleware
    async def _withdraw_flag_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Reads ``can_withdraw`` of ``POST /admin/accounts`` for create_credentials (the core's admin ignores it)."""
        if request.method != "POST" or request.path != "/admin/accounts":
            return await handler(request)
        try:
            body = json.loads(await request.read() or b"{}")
        except json.JSONDecodeError:
            return await handler(request)  # the admin API answers the bad JSON itself
        flag = body.get("can_withdraw", False) if isinstance(body, dict) else False
        if not isinstance(flag, bool):
            return web.json_response(
                {"error": f"can_withdraw: must be true or false, got {flag!r}", "field": "can_withdraw"}, status=400
            )
        token = _CAN_WITHDRAW.set(flag)
        try:
            return await handler(request)
        finally:
            _CAN_WITHDRAW.reset(token)
