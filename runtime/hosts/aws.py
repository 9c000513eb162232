"""The AWS composition root: environment variables (names from ``infra/contract.py``) -> the wired services that the
Lambda handlers (``lambdas/<name>/handler.py: handler(event, context)``) and the Fargate listener
(``runtime.listener.fargate_main``) are thin shells over. No I/O at import; everything is built lazily on first use
and cached for the life of the process (warm Lambda invocations reuse clients, venue adapters and caches).

How a handler gets its services (and how tests and the local AWS host inject theirs)::

    from runtime.hosts.aws import AwsServices, AwsOverrides, install_services, current_services, reset_services

    services = current_services()     # the process-wide instance; built on first call from os.environ
                                      # (AwsServices.from_environment()), reused by every later invocation

    # Tests / `copytrader demo --host aws-local`: build once with pre-built pieces, then install it so the
    # handlers use it instead of building their own. Every AwsOverrides field is optional (None = build it from the
    # environment); environ=None means os.environ.
    install_services(AwsServices.from_environment(environ, overrides=AwsOverrides(symbol_map=..., ...)))
    lambdas.executor.handler.handler(sqs_event, context)    # context may be None outside Lambda
    reset_services()                  # closes the installed instance (venue clients, loop) and forgets it

Handler calls: ``handler(event, context=None)``; without a context a ``LocalLambdaContext`` stands in. SQS handlers
return ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`` (also when every record failed: they do
not raise for that); the audit returns its report as a dict; the notifier raises ``NotificationError`` when a
channel could not deliver (Lambda's async retry).

Plain environment variables are enough for moto: boto3 honours ``AWS_ENDPOINT_URL`` (plus ``AWS_DEFAULT_REGION``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``), so ``from_environment(env)`` against a moto server needs no
overrides at all when the followers' ``rest_url`` point at the simulators.

Environment (``AwsSettings``, validated once, on the first ``from_environment``; each component needs only its own
subset and a missing one raises ``MissingSettingError`` naming the variable and who sets it):
  COPYTRADER_ENV, MASTER_ID (default "main"), the ``*_TABLE`` names, MASTER_CHANGES_QUEUE_URL,
  FOLLOWER_ORDERS_QUEUE_URL, ALERTS_TOPIC_ARN, FOLLOWER_SECRET_PREFIX, TELEGRAM_SECRET_ARN, TWILIO_SECRET_ARN,
  BYBIT_TESTNET, LISTENER_HEARTBEAT_FILE, MASTER_API_KEY/MASTER_API_SECRET (listener only);
  optional, not set by the stacks: AUDIT_HEAL (true/false, default false), SECRET_CACHE_SECONDS (default 300),
  TELEGRAM_API_URL / TWILIO_API_URL (endpoint overrides, e.g. a local capture server), MASTER_REST_URL /
  MASTER_WS_URL (the listener against a simulator).

Follower credentials: one Secrets Manager secret per follower, id = FOLLOWER_SECRET_PREFIX + follower id (or the
registry item's ``secret_id`` when set), a JSON object:
  Bybit / Binance:  {"api_key": "...", "api_secret": "..."}
  Hyperliquid:      {"account_address": "0x<40 hex>", "agent_private_key": "0x<64 hex>"}
Secrets are cached for SECRET_CACHE_SECONDS, then read again (a rotated key is picked up without a redeploy).

``AwsServices`` (public members):
  settings: AwsSettings; store: StateStore (DynamoDBStore); registry: FollowerRegistry; secrets: SecretSource;
  symbol_map; secret_registry (what the log redaction hides)
  run(coro, timeout_s=None) -> T           run a coroutine on the process's event loop (own thread, kept across
                                           invocations); handlers block their caller until it is done, so call them
                                           from a thread (asyncio.to_thread) if your simulators share your loop
  follower_orders() / master_changes() -> SqsFifoPublisher   queue 2 / queue 1
  fan_out() -> ChangeFanOut                the dispatcher over the registry's enabled followers as they are now
  executor() / async executor_for(follower_id) -> FollowerExecutor | None   the cached executor; executor_for adds
                                           the follower's current context (None: not registered or disabled)
  async audit(heal=None) -> AuditService   every enabled follower whose client is ready
  alerts() -> AlertDispatcher              SNS (ALERTS_TOPIC_ARN) or AwsOverrides.alert_routes;
  async flush_alerts()                     ... delivered before an invocation returns
  copy_alerts() -> CopyAlerts              refused / failed copies as alerts
  async notifier() -> AlertDispatcher      Telegram (info+) / Twilio (critical) from their secrets, or
                                           AwsOverrides.notifier_routes
  close()

The listener: ``runtime.listener.fargate_main.run_listener(services, stop_event, ListenerTuning(...))`` runs one
master's listener on the caller's event loop until ``stop_event`` is set (``main()`` is the container entrypoint).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.dynamodb.followers import FollowerRegistry
from runtime.adapters.dynamodb.reads import dynamodb_client
from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.store import DynamoDBStore
from runtime.adapters.notifiers.sns import SnsNotifier
from runtime.adapters.sqs.publisher import SqsFifoPublisher
from runtime.domain.symbols import SymbolMap
from runtime.hosts.aws_dispatch import ChangeFanOut
from runtime.hosts.aws_followers import FollowerAccounts, LiveRiskGate
from runtime.hosts.aws_loop import LoopThread
from runtime.hosts.aws_notifier_channels import notifier_routes
from runtime.hosts.aws_secrets import SecretsManagerSource, SecretSource
from runtime.hosts.aws_settings import AwsSettings
from runtime.ports.store import StateStore
from runtime.services.alerts.dispatcher import AlertDispatcher, DeliveryPolicy
from runtime.services.alerts.model import Severity
from runtime.services.alerts.router import AlertRouter, Route
from runtime.services.audit import AuditService, AuditSettings, HealCallback
from runtime.services.client_factory import ClientFactory
from runtime.services.copy_alerts import CopyAlerts
from runtime.services.executor import ExecutorSettings, FollowerExecutor

log = logging.getLogger(__name__)

T = TypeVar("T")

# A Lambda has a few seconds at most for alerts before it returns; what is still queued then is logged as undelivered.
ALERT_FLUSH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class AwsOverrides:
    """Pre-built pieces for tests and the local AWS host; each None is built from the environment."""

    store: StateStore | None = None
    registry: FollowerRegistry | None = None
    secrets: SecretSource | None = None
    symbol_map: SymbolMap | None = None
    sqs_client: Any = None
    # The engine's alerts (executor, audit); default: one SNS route (ALERTS_TOPIC_ARN), or none without it.
    alert_routes: Sequence[Route] | None = None
    # The notifier's ways out; default: Telegram and Twilio from their secrets.
    notifier_routes: Sequence[Route] | None = None
    audit_settings: AuditSettings | None = None
    executor_settings: ExecutorSettings | None = None
    delivery_policy: DeliveryPolicy | None = None
    check_keys: bool = True


class AwsServices:
    """The wired AWS side of one process. Every member is built on first use and kept (see the module docstring)."""

    def __init__(self, settings: AwsSettings, overrides: AwsOverrides | None = None) -> None:
        self.settings = settings
        self._overrides = overrides or AwsOverrides()
        self.secret_registry = SecretRegistry()
        self._loop = LoopThread()
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, overrides: AwsOverrides | None = None
    ) -> AwsServices:
        """Validate the environment (``AwsSettings``; raises ``AwsSettingsError``) and wire lazily from it."""
        return cls(AwsSettings.from_environ(environ), overrides)

    # --- plumbing ---------------------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on this process's event loop (kept across invocations) and return its result."""
        return self._loop.run(coro, timeout_s)

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = build()
            value: T = self._cache[name]
            return value

    @property
    def store(self) -> StateStore:
        return self._once("store", lambda: self._overrides.store or DynamoDBStore(self._dynamodb, self._tables))

    @property
    def registry(self) -> FollowerRegistry:
        def build() -> FollowerRegistry:
            return FollowerRegistry(self._dynamodb, self._tables.followers)

        return self._once("registry", lambda: self._overrides.registry or build())

    @property
    def secrets(self) -> SecretSource:
        def build() -> SecretSource:
            client = boto3.session.Session().client("secretsmanager")
            return SecretsManagerSource(client, ttl_s=self.settings.secret_cache_s)

        return self._once("secrets", lambda: self._overrides.secrets or build())

    @property
    def symbol_map(self) -> SymbolMap:
        return self._once("symbols", lambda: self._overrides.symbol_map or SymbolMap())

    @property
    def _dynamodb(self) -> Any:
        return self._once("dynamodb", dynamodb_client)

    @property
    def _tables(self) -> TableNames:
        return self._once("tables", self.settings.table_names)

    @property
    def _sqs(self) -> Any:
        return self._once("sqs", lambda: self._overrides.sqs_client or boto3.session.Session().client("sqs"))

    # --- queues -----------------------------------------------------------------------------------------------

    def follower_orders(self) -> SqsFifoPublisher:
        """Queue 2 (follower jobs): the dispatcher's fan-out and the audit's heal jobs."""
        url = self.settings.require("follower_orders_queue_url", "publishing follower jobs")
        return self._once("follower_orders", lambda: SqsFifoPublisher(url, self._sqs))

    def master_changes(self) -> SqsFifoPublisher:
        """Queue 1 (master changes): the listener."""
        url = self.settings.require("master_changes_queue_url", "publishing master changes")
        return self._once("master_changes", lambda: SqsFifoPublisher(url, self._sqs))

    # --- services ---------------------------------------------------------------------------------------------

    @property
    def accounts(self) -> FollowerAccounts:
        def build() -> FollowerAccounts:
            factory = ClientFactory(secrets=self.secret_registry)
            return FollowerAccounts(
                self.registry,
                self.secrets,
                factory,
                secret_prefix=self.settings.follower_secret_prefix,
                check_keys=self._overrides.check_keys,
            )

        return self._once("accounts", build)

    @property
    def gate(self) -> LiveRiskGate:
        return self._once("gate", lambda: LiveRiskGate(self.store))

    def fan_out(self) -> ChangeFanOut:
        """The dispatcher's fan-out over the registry's enabled followers as they are now (a follower added or
        paused takes effect with the next invocation; paused ones still get jobs: the executor's gate lets their
        closes through and refuses growth)."""
        followers = [f.follower_id for f in self.registry.list_followers() if f.config.enabled]
        return ChangeFanOut(self.store, followers, self.follower_orders())

    def executor(self) -> FollowerExecutor:
        """The process's executor (its follower contexts are added by ``executor_for``)."""

        def build() -> FollowerExecutor:
            settings = self._overrides.executor_settings or ExecutorSettings()
            return FollowerExecutor(
                self.store,
                (),
                master_id=self.settings.master_id,
                symbol_map=self.symbol_map,
                gate=self.gate,
                settings=settings,
            )

        return self._once("executor", build)

    async def executor_for(self, follower_id: str) -> FollowerExecutor | None:
        """The executor, knowing ``follower_id``'s current config and client; None when the follower is not
        registered or disabled. Raises ``FollowerSetupError`` when its client cannot be made ready."""
        context = await self.accounts.context(follower_id)
        if context is None:
            return None
        executor = self.executor()
        if executor.followers.get(follower_id) is not context:
            self.gate.set_follower(context.config)
            executor.add_follower(context)
        return executor

    async def audit(self, heal: HealCallback | None = None) -> AuditService:
        """An audit over every enabled follower whose client is ready (the others are logged and left out)."""
        contexts, problems = await self.accounts.contexts()
        for follower_id, problem in problems.items():
            log.warning("audit: follower %s left out: %s", follower_id, problem)
        settings = self._overrides.audit_settings or AuditSettings(heal=self.settings.audit_heal)
        return AuditService(
            self.store,
            {follower_id: ctx.client for follower_id, ctx in contexts.items()},
            {follower_id: ctx.config for follower_id, ctx in contexts.items()},
            self.symbol_map,
            self.settings.master_id,
            notify=self.alerts().notify,
            heal=heal,
            settings=settings,
        )

    # --- alerts -----------------------------------------------------------------------------------------------

    def alerts(self) -> AlertDispatcher:
        """The engine's alerts (``notify`` never blocks); deliver them with ``run(flush_alerts())``."""

        def build() -> AlertDispatcher:
            routes = self._overrides.alert_routes
            if routes is None:
                arn = self.settings.alerts_topic_arn
                routes = [Route(SnsNotifier(arn), Severity.INFO)] if arn else []
            return AlertDispatcher(AlertRouter(routes), self._overrides.delivery_policy, self.secret_registry)

        return self._once("alerts", build)

    def copy_alerts(self) -> CopyAlerts:
        """Refused and failed copies as alerts (deduplicated while this process lives)."""
        return self._once("copy_alerts", lambda: CopyAlerts(self.alerts().notify))

    async def flush_alerts(self, timeout_s: float = ALERT_FLUSH_TIMEOUT_S) -> bool:
        """Start the alert workers if needed and wait until every queued alert was delivered or given up on."""
        dispatcher = self.alerts()
        await dispatcher.start()
        return await dispatcher.drain(timeout_s)

    async def notifier(self) -> AlertDispatcher:
        """The notifier's channels (Telegram, Twilio SMS for critical) as a started dispatcher; rebuilt when their
        secrets changed."""
        routes = self._overrides.notifier_routes
        if routes is not None:
            dispatcher = self._once("notifier", lambda: AlertDispatcher(AlertRouter(routes), self._policy()))
        else:
            version, built = notifier_routes(self.settings, self.secrets, self.secret_registry)
            current = self._cache.get("notifier")
            if current is None or self._cache.get("notifier_version") != version:
                if current is not None:
                    await current.close()
                self._cache["notifier"] = AlertDispatcher(AlertRouter(built), self._policy(), self.secret_registry)
                self._cache["notifier_version"] = version
            dispatcher = self._cache["notifier"]
        await dispatcher.start()
        return dispatcher

    def _policy(self) -> DeliveryPolicy:
        return self._overrides.delivery_policy or DeliveryPolicy(send_timeout_s=8.0, attempts=3, max_delay_s=2.0)

    # --- teardown ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the venue clients and alert channels, then stop the event loop (idempotent)."""
        with self._lock:
            cache, self._cache = self._cache, {}

        async def close_all() -> None:
            for name in ("alerts", "notifier"):
                if name in cache:
                    await cache[name].close()
            if "accounts" in cache:
                await cache["accounts"].close()

        try:
            self._loop.run(close_all(), timeout_s=10.0)
        except Exception:  # teardown goes on: the loop must still stop
            log.exception("closing the AWS services failed")
        finally:
            self._loop.close()


# --- the process-wide instance ----------------------------------------------------------------------------------

_installed: AwsServices | None = None
_install_lock = threading.Lock()


def current_services() -> AwsServices:
    """The installed services, or (first call in a fresh process) services built from ``os.environ``."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = AwsServices.from_environment()
        return _installed


def install_services(services: AwsServices) -> None:
    """Make ``services`` what every handler uses from now on (tests, the local AWS host)."""
    global _installed
    with _install_lock:
        _installed = services


def reset_services() -> None:
    """Close the installed services and forget them; the next handler call builds fresh ones."""
    global _installed
    with _install_lock:
        services, _installed = _installed, None
    if services is not None:
        services.close()
