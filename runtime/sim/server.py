"""The HTTP + WebSocket server every venue simulator builds on (aiohttp, one app, 127.0.0.1 only).

A venue layer subclasses ``SimulatorServer``, sets ``venue``, and overrides the hooks: ``add_routes`` (its REST
and WebSocket endpoints), ``classify`` (request -> endpoint class for fault injection), ``format_injected_error``
(an injected fault in the venue's envelope), ``create_credentials`` (what a new account gets) and ``on_events``
(engine events -> stream frames). The admin API (admin.py) is mounted on every simulator under /admin.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from aiohttp import web

from runtime.domain.values import PositionMode, Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.admin import mount_admin
from runtime.sim.catalogue import Catalogue, catalogue_for
from runtime.sim.events import EventBatch
from runtime.sim.faults import EndpointClass, FaultPlan, InjectedError, fault_middleware
from runtime.sim.marks import MarkPathPlayer
from runtime.sim.matching import MatchingEngine
from runtime.sim.streams import StreamHub

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Credentials:
    """What identifies an account on the wire: an API key and secret, or an address and private key."""

    account: str
    key: str
    secret: str
    key_field: str = "api_key"
    secret_field: str = "api_secret"

    def as_json(self) -> dict[str, str]:
        return {"name": self.account, self.key_field: self.key, self.secret_field: self.secret}


class SimulatorServer:
    venue: ClassVar[Venue]

    def __init__(
        self,
        *,
        catalogue: Catalogue | None = None,
        settings: EngineSettings | None = None,
        seed: int = 0,
    ) -> None:
        self.engine = MatchingEngine(catalogue or catalogue_for(self.venue), settings or self.default_settings())
        self.faults = FaultPlan(seed)
        self.streams = StreamHub(seed)
        self.mark_paths = MarkPathPlayer(self.engine)
        self._credentials_by_key: dict[str, Credentials] = {}
        self._credentials_by_account: dict[str, Credentials] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.engine.bus.subscribe(self.on_events)

    # ----- hooks for the venue layers ----------------------------------------------------------------------------

    def default_settings(self) -> EngineSettings:
        """The venue's matching settings (reduce-only policy, duplicate scope); override per venue."""
        return EngineSettings()

    def add_routes(self, app: web.Application) -> None:
        """Register the venue's REST and WebSocket routes on ``app``."""

    def classify(self, request: web.Request) -> str:
        """The endpoint class of a request (see ``EndpointClass``); override with the venue's paths."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return EndpointClass.WS
        return EndpointClass.READ if request.method == "GET" else EndpointClass.ORDER

    def format_injected_error(self, kind: InjectedError, request: web.Request) -> web.StreamResponse:
        """An injected fault in the venue's envelope; override per venue."""
        status = 429 if kind is InjectedError.RATE_LIMIT else 503
        return web.json_response({"error": f"injected {kind.value}"}, status=status)

    def create_credentials(self, account: str) -> Credentials:
        """Fresh credentials for a new account (HMAC key pair by default; Hyperliquid overrides)."""
        return Credentials(account=account, key=secrets.token_hex(12), secret=secrets.token_hex(24))

    def on_events(self, batch: EventBatch) -> None:
        """Engine events -> stream frames. Called synchronously: queue frames, never await."""

    def on_reset(self) -> None:
        """Forget venue-layer state (listen keys, nonces...) when /admin/reset runs."""

    # ----- accounts and credentials ----------------------------------------------------------------------------

    def register_account(
        self, name: str, balance: Decimal, position_mode: PositionMode = PositionMode.ONE_WAY
    ) -> Credentials:
        self.engine.create_account(name, balance, position_mode)
        credentials = self.create_credentials(name)
        self.add_credentials(credentials)
        return credentials

    def add_credentials(self, credentials: Credentials) -> None:
        """Also usable for extra keys of an account (e.g. an approved Hyperliquid agent wallet)."""
        self._credentials_by_key[credentials.key] = credentials
        self._credentials_by_account.setdefault(credentials.account, credentials)

    def credentials_for_key(self, key: str) -> Credentials | None:
        return self._credentials_by_key.get(key)

    def account_for_key(self, key: str) -> str | None:
        found = self._credentials_by_key.get(key)
        return found.account if found is not None else None

    def credentials_for_account(self, account: str) -> Credentials | None:
        return self._credentials_by_account.get(account)

    async def reset(self) -> None:
        await self.mark_paths.stop_all()
        self.engine.reset()
        self._credentials_by_key.clear()
        self._credentials_by_account.clear()
        self.faults.clear()
        self.streams.resume()
        self.on_reset()

    # ----- lifecycle -------------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware(self.faults, self.classify, self.format_injected_error)])
        mount_admin(app, self)
        self.add_routes(app)
        return app

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1:``port`` (0 = a free port; read it back from ``.port``)."""
        if self._runner is not None:
            raise RuntimeError(f"{self.venue.value} simulator is already running on port {self.port}")
        # A short shutdown timeout: an injected "timeout" may be holding a request open when we stop.
        runner = web.AppRunner(self.build_app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        self.faults.released.clear()
        site = web.TCPSite(runner, LOOPBACK, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.faults.released.set()
        await self.mark_paths.stop_all()
        await self.streams.close_all()
        with contextlib.suppress(Exception):
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The URL of the venue's main stream; venue layers override with their path (e.g. /v5/private)."""
        return self.ws_base
