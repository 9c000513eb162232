"""The Hyperliquid perps simulator: ``POST /info``, ``POST /exchange`` and ``/ws`` on the shared simulator core.

Point the official SDK at it unchanged: ``Info(base_url=sim.base_url)``, ``Exchange(agent_wallet,
base_url=sim.base_url, account_address=address)``; the SDK derives ``ws://127.0.0.1:PORT/ws`` itself. Because
that base URL is not the SDK's mainnet URL, the SDK signs with phantom-agent source "b", so the simulator
recovers signatures as a non-mainnet venue unless built with ``is_mainnet=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from runtime.domain.values import PositionMode, Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.catalogue import Catalogue, SimInstrument
from runtime.sim.events import EventBatch
from runtime.sim.faults import EndpointClass, InjectedError
from runtime.sim.hyperliquid.exchange import ExchangeApi
from runtime.sim.hyperliquid.info import InfoApi
from runtime.sim.hyperliquid.nonces import NonceBook
from runtime.sim.hyperliquid.wallets import DEFAULT_AGENT_NAME, Wallet, WalletRegistry
from runtime.sim.hyperliquid.ws import StreamApi
from runtime.sim.model import DuplicateScope, ReduceOnlyPolicy
from runtime.sim.server import Credentials, SimulatorServer


@dataclass(frozen=True)
class HyperliquidCredentials(Credentials):
    """An account's main wallet (``address``/``private_key``: CAN withdraw) and its approved agent wallet
    (``agent_address``/``agent_private_key``: can trade, cannot withdraw; what the engine should be given)."""

    agent_address: str = ""
    agent_private_key: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            **super().as_json(),
            "agent_address": self.agent_address,
            "agent_private_key": self.agent_private_key,
            "withdraw_capable_key": self.secret_field,
        }


class HyperliquidSimulator(SimulatorServer):
    venue = Venue.HYPERLIQUID

    def __init__(
        self,
        *,
        catalogue: Catalogue | None = None,
        settings: EngineSettings | None = None,
        seed: int = 0,
        is_mainnet: bool = False,
    ) -> None:
        super().__init__(catalogue=catalogue, settings=settings, seed=seed)
        self.is_mainnet = is_mainnet
        self.wallets = WalletRegistry()
        self.nonces = NonceBook()
        # Venue-only order and leverage facts the core does not model.
        self.margin_types: dict[tuple[str, str], str] = {}  # (account, coin) -> "cross" | "isolated"
        self.order_tifs: dict[int, str] = {}  # order id -> "Gtc" | "Ioc" | "Alo"
        self.info_api = InfoApi(self)
        self.exchange_api = ExchangeApi(self)
        self.stream_api = StreamApi(self)

    # ----- core hooks ------------------------------------------------------------------------------------------

    def default_settings(self) -> EngineSettings:
        # Reduce-only orders larger than the position close it (the SDK's market_close relies on it); a cloid is
        # never reusable, so a retried order is always recognised.
        return EngineSettings(reduce_only_policy=ReduceOnlyPolicy.CAP, duplicate_scope=DuplicateScope.ALL_ORDERS)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/info", self.info_api.handle)
        app.router.add_post("/exchange", self.exchange_api.handle)
        app.router.add_get("/ws", self.stream_api.handle)

    def classify(self, request: web.Request) -> str:
        if request.path == "/ws":
            return EndpointClass.WS
        if request.path == "/exchange":
            return EndpointClass.ORDER
        return EndpointClass.READ

    def format_injected_error(self, kind: InjectedError, request: web.Request) -> web.StreamResponse:
        # The SDK raises ClientError(429, ...) for any 4xx whose body is not {code,msg} JSON, ServerError for 5xx.
        if kind is InjectedError.RATE_LIMIT:
            return web.Response(status=429, text="429 Too Many Requests", content_type="text/plain")
        return web.Response(status=500, text="Internal Server Error", content_type="text/plain")

    def create_credentials(self, account: str) -> HyperliquidCredentials:
        main, agent = Wallet.generate(), Wallet.generate()
        return HyperliquidCredentials(
            account=account,
            key=main.address,
            secret=main.private_key,
            key_field="address",
            secret_field="private_key",
            agent_address=agent.address,
            agent_private_key=agent.private_key,
        )

    def register_account(
        self, name: str, balance: Decimal, position_mode: PositionMode = PositionMode.ONE_WAY
    ) -> Credentials:
        if position_mode is not PositionMode.ONE_WAY:
            raise ValueError("position_mode: Hyperliquid positions are one-way only; create the account as one_way")
        credentials = super().register_account(name, balance, position_mode)
        assert isinstance(credentials, HyperliquidCredentials)
        self.wallets.add_user(credentials.key, name)
        self.wallets.approve_agent(credentials.key, credentials.agent_address, DEFAULT_AGENT_NAME, self.now_ms())
        self.add_credentials(
            Credentials(
                account=name,
                key=credentials.agent_address,
                secret=credentials.agent_private_key,
                key_field="agent_address",
                secret_field="agent_private_key",
            )
        )
        return credentials

    def on_events(self, batch: EventBatch) -> None:
        self.stream_api.on_events(batch)

    def on_reset(self) -> None:
        self.wallets = WalletRegistry()
        self.nonces = NonceBook()
        self.margin_types.clear()
        self.order_tifs.clear()

    @property
    def ws_url(self) -> str:
        return f"{self.ws_base}/ws"

    # ----- helpers for the API modules -------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.engine.clock()

    def instrument_by_asset(self, asset: int) -> SimInstrument | None:
        for item in self.engine.catalogue:
            if item.asset_index == asset:
                return item
        return None

    def account_of_user(self, user: object) -> str | None:
        """The ledger account of a user address (None for an address the venue has never seen)."""
        return self.wallets.account_name(user) if isinstance(user, str) else None

    def margin_type(self, account: str, coin: str) -> str:
        return self.margin_types.get((account, coin), "cross")
