"""The composition root: ``AppConfig`` -> the wired engine (store, symbol map, venue clients, master feed, executor,
local host, observers, and around them the alert pipeline, the periodic audit and the master stream watch). Nothing
here runs at import; ``build_engine`` constructs objects (opening the SQLite file is its only I/O), ``Engine.start``
connects.

Secrets come from the environment through the config's resolver (``runtime.config.credentials``) and are registered
with one ``SecretRegistry``, which the adapters and the log filter share, so a key never reaches a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from runtime.adapters.bybit import BybitClient, BybitConfig, BybitCredentials
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.adapters.sqlite_store import SqliteStore
from runtime.config import AppConfig, master_credentials, require_secrets
from runtime.domain.symbols import SymbolMap
from runtime.hosts.local import ChangeSink, FollowerAccount, HostSettings, LocalHost, MasterFeedPort
from runtime.hosts.supervision import Supervisor
from runtime.listener.build import build_master_feed
from runtime.listener.master_feed import MasterFeedConfig
from runtime.listener.master_rest import MasterRestConfig
from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials
from runtime.listener.stream_stats import StreamStats
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import StateStore
from runtime.services.alerts.dispatcher import AlertDispatcher, DeliveryPolicy
from runtime.services.alerts.factory import build_alert_dispatcher
from runtime.services.audit import AuditService, AuditSettings
from runtime.services.audit_report import AuditReport
from runtime.services.client_factory import ClientFactory
from runtime.services.copy_alerts import CopyAlerts
from runtime.services.executor import FollowerExecutor
from runtime.services.follower_context import FollowerContext
from runtime.services.observers import EngineCounters, EngineObserver, ObserverHub, StatusBoard
from runtime.services.risk_gate import RiskGate
from runtime.services.stream_alerts import MasterStreamWatch, StreamAlertSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineTuning:
    """Timings and switches for tests and the demo; each None keeps the part's production default."""

    stream: MasterStreamConfig | None = None  # the master stream (the URL is still taken from the config)
    feed_poll_interval_s: float | None = None
    master_rest: MasterRestConfig | None = None
    check_keys: bool = True
    shutdown_timeout_s: float = 5.0
    blocking_threads: int = 64
    alert_policy: DeliveryPolicy | None = None
    stream_alerts: StreamAlertSettings | None = None
    periodic_audit: bool = True  # False: audits run only on demand (``Engine.audit_once``)


@dataclass
class Engine:
    """Everything ``build_engine`` wired. ``start``/``stop`` (or ``async with``) run and tear it down."""

    config: AppConfig
    store: StateStore
    symbols: SymbolMap
    secrets: SecretRegistry
    runner: BlockingCallRunner
    clients: dict[str, ExchangeClient]
    master_client: BybitClient
    executor: FollowerExecutor
    host: LocalHost
    observers: ObserverHub
    counters: EngineCounters
    board: StatusBoard
    supervisor: Supervisor
    alert_feed: AlertFeed | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def alerts(self) -> AlertDispatcher:
        return self.supervisor.alerts

    @property
    def audit(self) -> AuditService:
        return self.supervisor.audit

    async def start(self) -> None:
        """The alert pipeline first (a start-up refusal is alerted), then the host, then the audit and stream
        watch tasks."""
        await self.supervisor.start_alerts()
        await self.host.start()
        self.supervisor.start_watchers()

    async def audit_once(self, *, grace_s: float | None = None) -> AuditReport:
        """One audit pass now (alerts, dedup state and heal as the periodic pass); ``grace_s`` overrides the
        configured grace period for this pass."""
        return await self.supervisor.audit_once(grace_s=grace_s)

    async def stop(self) -> None:
        """Stop the audit and stream watch, the host, deliver the queued alerts, then close the venue clients, the
        blocking-call threads and the store (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.supervisor.stop_watchers()
            await self.host.stop()
        finally:
            try:
                await self.supervisor.close_alerts()
            except Exception:  # alerting must never stop the shutdown
                log.exception("closing the alert pipeline failed")
            for client in (*self.clients.values(), self.master_client):
                try:
                    await client.close()
                except Exception:  # closing must go on for the others
                    log.exception("closing the %s client failed", client.venue.value)
            self.runner.shutdown()
            self.store.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def build_engine(
    config: AppConfig,
    *,
    environ: Mapping[str, str] | None = None,
    tuning: EngineTuning | None = None,
    observers: Iterable[EngineObserver] = (),
    secrets: SecretRegistry | None = None,
    alert_feed: AlertFeed | None = None,
) -> Engine:
    """Wire the engine for ``config``. Raises ``MissingSecretError`` listing every unset secret variable.
    ``alert_feed`` receives every alert too (a live view, the demo's report)."""
    tuning = tuning or EngineTuning()
    require_secrets(config, environ)
    secrets = secrets or SecretRegistry()
    # Built first: it only reads its secrets (no connection until start), so a failure here leaks nothing.
    alerts = build_alert_dispatcher(
        config.alerts, environ, policy=tuning.alert_policy, secrets=secrets, feed=alert_feed
    )
    runner = BlockingCallRunner(max_workers=tuning.blocking_threads, thread_name_prefix="venue")
    store = SqliteStore(config.state.sqlite_path, pool_size=config.state.sqlite_pool_size)
    symbols = config.symbol_map()
    followers = config.enabled_followers
    factory = ClientFactory(runner=runner, secrets=secrets)
    clients = factory.build_all(config, environ=environ)
    master = master_credentials(config, environ)
    for secret in (master.api_key, master.api_secret):
        secrets.add(secret.get_secret_value())
    master_client = BybitClient(
        BybitCredentials(master.api_key.get_secret_value(), master.api_secret.get_secret_value()),
        BybitConfig(base_url=config.master.rest_url) if config.master.rest_url else BybitConfig(),
        runner=runner,
        limiters=factory.limiters,
        secrets=secrets,
    )
    contexts = {follower.id: FollowerContext(follower, clients[follower.id]) for follower in followers}
    # The risk controls (symbol allow/deny, notional and leverage caps, the kill switch) gate every order.
    gate = RiskGate(store, {follower.id: follower for follower in followers})
    executor = FollowerExecutor(store, contexts.values(), master_id=config.master.id, symbol_map=symbols, gate=gate)
    counters, board = EngineCounters(), StatusBoard()
    hub = ObserverHub([counters, board, CopyAlerts(alerts.notify), *observers])

    def feed_factory(sink: ChangeSink) -> MasterFeedPort:
        stream = tuning.stream or MasterStreamConfig()
        return build_master_feed(
            config.master.id,
            StreamCredentials(master.api_key.get_secret_value(), master.api_secret.get_secret_value()),
            sink,
            runner=runner,
            rest_url=config.master.rest_url,
            ws_url=config.master.ws_url,
            feed_config=MasterFeedConfig(
                config.master.id,
                poll_interval_s=tuning.feed_poll_interval_s or 1.0,
                pending_timeout_s=config.engine.pending_fill_timeout_s,
            ),
            stream_config=stream,
            rest_config=tuning.master_rest,
        )

    host = LocalHost(
        master_id=config.master.id,
        store=store,
        followers=[FollowerAccount(f.id, clients[f.id], contexts[f.id].position_mode) for f in followers],
        executor=executor,
        feed_factory=feed_factory,
        observers=hub,
        master_key_client=master_client,
        recover=executor.recover,
        settings=HostSettings(
            check_keys=tuning.check_keys,
            shutdown_timeout_s=tuning.shutdown_timeout_s,
            feed_stop_timeout_s=tuning.shutdown_timeout_s,
        ),
        notify=alerts.notify,
    )
    audit = AuditService(
        store,
        {follower.id: clients[follower.id] for follower in followers},
        {follower.id: follower for follower in followers},
        symbols,
        config.master.id,
        notify=alerts.notify,
        heal=host.enqueue_heal,  # called only with [engine] heal = true
        settings=AuditSettings.from_engine(config.engine),
    )

    def stream_stats() -> StreamStats | None:
        stats = getattr(host.feed, "stats", None)
        return stats if isinstance(stats, StreamStats) else None

    watch = MasterStreamWatch(stream_stats, alerts.notify, master_id=config.master.id, settings=tuning.stream_alerts)
    supervisor = Supervisor(alerts, audit, watch, periodic_audit=tuning.periodic_audit)
    return Engine(
        config, store, symbols, secrets, runner, clients, master_client, executor, host, hub, counters, board,
        supervisor, alert_feed,
    )  # fmt: skip
