"""``copytrader demo --host aws-local``: the demo's config on the local AWS host, with the surface the demo uses of
an engine (``runtime.demo.hosts.DemoEngine``): the same scenario, player, checks and report as the local host.

The demo's config becomes what an operator sets up in an AWS account: each follower's ``[[followers]]`` table is
registered in the followers table and its keys (read from the environment variables the config names) go into
its Secrets Manager secret; the master's keys go into the listener's environment, as ECS injects them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.bootstrap import EngineTuning
from runtime.config import AppConfig, master_credentials
from runtime.config.credentials import HyperliquidCredentials, follower_credentials
from runtime.domain.symbols import SymbolMap
from runtime.hosts.aws_local.config import AwsLocalSettings, FollowerSeat, LambdaHandlers, MasterAccess
from runtime.hosts.aws_local.host import AwsLocalHost
from runtime.listener.fargate_main import ListenerTuning
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import StateStore
from runtime.services.audit import AuditSettings
from runtime.services.audit_report import AuditReport
from runtime.services.client_factory import ClientFactory
from runtime.services.observers import EngineCounters, EngineObserver, ObserverHub, StatusBoard


@dataclass(frozen=True)
class _AlertDrain:
    host: AwsLocalHost

    async def drain(self, timeout_s: float) -> bool:
        """Deliver the alerts the functions queued (they run on the services' own loop)."""
        services = self.host.services
        return await asyncio.to_thread(services.run, services.flush_alerts(timeout_s))


@dataclass
class AwsLocalEngine:
    config: AppConfig
    host: AwsLocalHost
    symbols: SymbolMap
    counters: EngineCounters
    board: StatusBoard
    observers: ObserverHub
    clients: dict[str, ExchangeClient]  # the followers' accounts for the kill switch's close-all, not the copy path
    _factory: ClientFactory = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def store(self) -> StateStore:
        return self.host.store

    @property
    def alerts(self) -> _AlertDrain:
        return _AlertDrain(self.host)

    async def start(self) -> None:
        await self.host.start(listener_ready=self._master_stream_open)

    async def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.host.stop()
        finally:
            await self._factory.close()

    async def audit_once(self, *, grace_s: float | None = None) -> AuditReport:
        return await self.host.audit_once(grace_s=grace_s)

    async def _master_stream_open(self) -> bool:
        """The Bybit simulator counts the private streams connected to it (the demo's followers open none)."""
        url = self.config.master.rest_url
        if not url:
            return True
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(f"{url}/admin/faults") as answer:
            state: dict[str, Any] = await answer.json(content_type=None)
        return int(state.get("open_streams", 0)) > 0


@dataclass(frozen=True)
class AwsLocalEngineFactory:
    """Builds an ``AwsLocalEngine`` from the demo's config (the shape of ``build_engine``). ``settings`` and
    ``handlers`` are for tests (short visibility timeouts, handlers that fail on purpose)."""

    settings: AwsLocalSettings | None = None
    handlers: Callable[[], LambdaHandlers] = LambdaHandlers.deployed

    def __call__(
        self,
        config: AppConfig,
        *,
        tuning: EngineTuning | None = None,
        observers: Iterable[EngineObserver] = (),
        secrets: SecretRegistry | None = None,
        alert_feed: AlertFeed | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> AwsLocalEngine:
        tuning = tuning or EngineTuning()
        secrets = secrets or SecretRegistry()
        keys = master_credentials(config, environ)
        master = MasterAccess(
            config.master.id,
            keys.api_key.get_secret_value(),
            keys.api_secret.get_secret_value(),
            rest_url=config.master.rest_url,
            ws_url=config.master.ws_url,
        )
        seats = [FollowerSeat(f, _secret_values(config, f.id, environ)) for f in config.enabled_followers]
        for seat in seats:
            for value in seat.keys.values():
                secrets.add(value)
        for value in (master.api_key, master.api_secret):
            secrets.add(value)
        counters, board = EngineCounters(), StatusBoard()
        hub = ObserverHub([counters, board, *observers])
        symbols = config.symbol_map()
        host = AwsLocalHost(
            master=master,
            followers=seats,
            symbol_map=symbols,
            observer=hub,
            alert_feed=alert_feed,
            settings=self._settings(config, tuning),
            handlers=self.handlers,
        )
        factory = ClientFactory(secrets=secrets)
        clients = factory.build_all(config, environ=environ)
        return AwsLocalEngine(config, host, symbols, counters, board, hub, clients, factory)

    def _settings(self, config: AppConfig, tuning: EngineTuning) -> AwsLocalSettings:
        base = self.settings or AwsLocalSettings()
        listener = ListenerTuning(
            stream=tuning.stream,
            rest=tuning.master_rest,
            feed_poll_interval_s=tuning.feed_poll_interval_s or 1.0,
            pending_timeout_s=config.engine.pending_fill_timeout_s,
            check_key=tuning.check_keys,
        )
        audit = AuditSettings.from_engine(config.engine)
        interval = audit.interval_s if tuning.periodic_audit else None
        if self.settings is not None:  # the caller's schedule wins
            interval = self.settings.audit_interval_s
        return replace(
            base,
            audit_interval_s=interval,
            audit_settings=audit,
            listener=listener,
            stop_timeout_s=tuning.shutdown_timeout_s,
        )


def _secret_values(config: AppConfig, follower_id: str, environ: Mapping[str, str] | None) -> dict[str, str]:
    """The follower's secret as the operator would store it (see ``runtime.hosts.aws`` for the shape)."""
    credentials = follower_credentials(config, follower_id, environ)
    if isinstance(credentials, HyperliquidCredentials):
        return {
            "account_address": credentials.account_address,
            "agent_private_key": credentials.agent_private_key.get_secret_value(),
        }
    return {"api_key": credentials.api_key.get_secret_value(), "api_secret": credentials.api_secret.get_secret_value()}
