"""The Binance USD-M futures simulator: python-binance 1.0.37 works against it unchanged, only pointed at it.

Point the SDK at ``sim.base_url`` (REST: ``client.FUTURES_URL = base_url + "/fapi"``, ``client.API_URL =
base_url + "/api"``, ``client.MARGIN_API_URL = base_url + "/sapi"``) and the futures user socket at ``sim.ws_url``
(``BinanceSocketManager.FSTREAM_URL``). docs/simulators.md has a runnable example.

Binance-specific choices: a client order id is a duplicate (-4116) only while an order with it is open (configurable
with ``duplicate_scope``); a reduce-only order larger than the position is capped to it; margin is cross.
Accounts may be created with a key that can withdraw (``can_withdraw``), which the engine must refuse at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from runtime.domain.values import PositionMode, Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.admin import LOOPBACK_REMOTES
from runtime.sim.binance.codes import BinanceError, ErrorCode, error_body
from runtime.sim.binance.listen_keys import LISTEN_KEY_TTL_MS
from runtime.sim.binance.rest_account import AccountEndpoints
from runtime.sim.binance.rest_orders import OrderEndpoints
from runtime.sim.binance.rest_public import PublicEndpoints
from runtime.sim.binance.symbols import Precision, precision_table
from runtime.sim.binance.user_stream import UserStream
from runtime.sim.catalogue import Catalogue
from runtime.sim.events import EventBatch
from runtime.sim.faults import EndpointClass, InjectedError
from runtime.sim.model import DuplicateScope, ReduceOnlyPolicy
from runtime.sim.server import Credentials, SimulatorServer

CROSSED = "CROSSED"
_READ_PATHS = ("/fapi/v1/openOrders", "/fapi/v2/positionRisk", "/fapi/v3/positionRisk")
_PUBLIC_PATHS = ("/fapi/v1/ping", "/fapi/v1/time", "/fapi/v1/exchangeInfo", "/fapi/v1/premiumIndex")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class KeyInfo:
    can_withdraw: bool
    created_ms: int


class BinanceSimulator(SimulatorServer):
    venue = Venue.BINANCE

    def __init__(
        self,
        *,
        catalogue: Catalogue | None = None,
        settings: EngineSettings | None = None,
        seed: int = 0,
        duplicate_scope: DuplicateScope | None = None,
        precision_overrides: Mapping[str, Precision] | None = None,
        listen_key_ttl_ms: int = LISTEN_KEY_TTL_MS,
        listen_key_check_s: float = 1.0,
        retry_after_s: int = 1,
    ) -> None:
        super().__init__(catalogue=catalogue, settings=settings, seed=seed)
        if duplicate_scope is not None:
            self.engine.settings.duplicate_scope = duplicate_scope
        self.precisions = precision_table(list(self.engine.catalogue), precision_overrides)
        self.retry_after_s = retry_after_s
        self.user_stream = UserStream(self, ttl_ms=listen_key_ttl_ms, check_every_s=listen_key_check_s)
        self._margin_types: dict[tuple[str, str], str] = {}
        self._key_info: dict[str, KeyInfo] = {}
        self._pending_withdraw: dict[str, bool] = {}

    def default_settings(self) -> EngineSettings:
        return EngineSettings(reduce_only_policy=ReduceOnlyPolicy.CAP, duplicate_scope=DuplicateScope.OPEN_ORDERS)

    # ----- routes, classes, injected errors ------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._withdraw_flag_middleware)
        app.router.add_post("/admin/listen_keys/expire", self._admin_expire_listen_key)
        return app

    def add_routes(self, app: web.Application) -> None:
        PublicEndpoints(self).register(app)
        OrderEndpoints(self).register(app)
        AccountEndpoints(self).register(app)
        self.user_stream.register(app)

    def classify(self, request: web.Request) -> str:
        path = request.path
        if path == "/private/ws" or path.startswith("/ws/"):
            return EndpointClass.WS
        if path == "/fapi/v1/order":
            return EndpointClass.READ if request.method == "GET" else EndpointClass.ORDER
        if path in _READ_PATHS:
            return EndpointClass.READ
        if path in _PUBLIC_PATHS or path.startswith("/api/"):
            return EndpointClass.PUBLIC
        return EndpointClass.ACCOUNT

    def format_injected_error(self, kind: InjectedError, request: web.Request) -> web.StreamResponse:
        if kind is InjectedError.RATE_LIMIT:
            error = BinanceError(ErrorCode.TOO_MANY_REQUESTS)
            headers = {"Retry-After": str(self.retry_after_s)}
            return web.json_response(error_body(error), status=error.http_status, headers=headers)
        error = BinanceError(ErrorCode.DISCONNECTED)
        return web.json_response(error_body(error), status=error.http_status)

    # ----- accounts and keys -------------------------------------------------------------------------------------

    def register_account(
        self,
        name: str,
        balance: Decimal,
        position_mode: PositionMode = PositionMode.ONE_WAY,
        *,
        can_withdraw: bool | None = None,
    ) -> Credentials:
        """Create an account and its key; ``can_withdraw=True`` makes a key the engine must refuse."""
        if can_withdraw is not None:
            self._pending_withdraw[name] = can_withdraw
        try:
            return super().register_account(name, balance, position_mode)
        finally:
            self._pending_withdraw.pop(name, None)

    def create_credentials(self, account: str) -> Credentials:
        credentials = super().create_credentials(account)
        self._key_info[credentials.key] = KeyInfo(self._pending_withdraw.get(account, False), self.now_ms())
        return credentials

    def secret_for_key(self, key: str) -> str | None:
        credentials = self.credentials_for_key(key)
        return credentials.secret if credentials is not None else None

    def can_withdraw(self, api_key: str) -> bool:
        info = self._key_info.get(api_key)
        return info.can_withdraw if info is not None else False

    def key_created_ms(self, api_key: str) -> int:
        info = self._key_info.get(api_key)
        return info.created_ms if info is not None else 0

    def now_ms(self) -> int:
        return self.engine.clock()

    # ----- margin type (recorded and reported; the margin model stays cross) -------------------------------------

    def margin_type(self, account: str, symbol: str) -> str:
        return self._margin_types.get((account, symbol), CROSSED)

    def set_margin_type(self, account: str, symbol: str, margin_type: str) -> None:
        self._margin_types[(account, symbol)] = margin_type

    def margin_types_of(self, account: str) -> Callable[[str], str]:
        return lambda symbol: self.margin_type(account, symbol)

    # ----- streams and lifecycle ---------------------------------------------------------------------------------

    def on_events(self, batch: EventBatch) -> None:
        self.user_stream.publish(batch)

    def on_reset(self) -> None:
        self._margin_types.clear()
        self._key_info.clear()
        self.user_stream.reset()

    def expire_listen_key(self, account: str) -> str | None:
        """Let the account's listenKey lapse now: its streams get ``listenKeyExpired`` and are closed."""
        return self.user_stream.expire_now(account)

    async def start(self, port: int = 0) -> None:
        await super().start(port)
        self.user_stream.start()

    async def stop(self) -> None:
        await self.user_stream.stop()
        await super().stop()

    @property
    def ws_url(self) -> str:
        """What python-binance's ``BinanceSocketManager.FSTREAM_URL`` must be set to (it appends private/ws?...)."""
        return f"{self.ws_base}/"

    # ----- admin extensions --------------------------------------------------------------------------------------

    @web.middleware
    async def _withdraw_flag_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Reads ``can_withdraw`` of ``POST /admin/accounts`` before the core's admin handler creates the account."""
        if request.method != "POST" or request.path != "/admin/accounts":
            return await handler(request)
        try:
            body = await request.json()
        except ValueError:
            return await handler(request)  # the core answers malformed JSON
        name = body.get("name") if isinstance(body, dict) else None
        flag = body.get("can_withdraw", False) if isinstance(body, dict) else False
        if not isinstance(flag, bool):
            message = f"can_withdraw: must be true or false, got {flag!r}"
            return web.json_response({"error": message, "field": "can_withdraw"}, status=400)
        if not isinstance(name, str):
            return await handler(request)
        self._pending_withdraw[name] = flag
        try:
            return await handler(request)
        finally:
            self._pending_withdraw.pop(name, None)

    async def _admin_expire_listen_key(self, request: web.Request) -> web.StreamResponse:
        if request.remote not in LOOPBACK_REMOTES:
            return web.json_response({"error": "the admin API answers loopback clients only"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            body = None
        account = body.get("account") if isinstance(body, dict) else None
        if not isinstance(account, str) or not account:
            return web.json_response(
                {"error": "account: is required (the account name)", "field": "account"}, status=400
            )
        return web.json_response({"account": account, "expired": self.expire_listen_key(account)})
