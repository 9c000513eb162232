"""The AWS wiring on one machine: the moto world, the registered followers, the Fargate listener, the two SQS event
source mappings and the audit schedule.

listener (``run_listener``: master stream -> snapshot in DynamoDB -> ``master-changes.fifo``)
  -> poller (batch 10, 2 at once) -> dispatcher handler -> ``follower-orders.fifo`` (group = follower)
  -> poller (batch 1, 5 at once) -> executor handler -> the followers' venues
audit handler every ``audit_interval_s`` (the EventBridge rule), alerts to the SNS topic.

As on AWS, the listener and the functions do not share a process: the listener gets ``AwsServices`` of its own
(the Fargate task), the handlers the installed one (``install_services``; one for the three functions, since
``current_services`` is process-wide). Each gets the environment the stacks give it, built from the moto world;
the functions get the union of their three environments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime.adapters.dynamodb.followers import FollowerRegistry
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.adapters.notifiers.sns import SnsNotifier
from runtime.adapters.sqs.messages import decode_master_change
from runtime.domain.symbols import SymbolMap
from runtime.hosts import aws_names as names
from runtime.hosts.aws import AwsOverrides, AwsServices, install_services, reset_services
from runtime.hosts.aws_local.alert_bridge import LoopFeedChannel
from runtime.hosts.aws_local.audits import AuditRuns
from runtime.hosts.aws_local.config import (
    QUIET_POWERTOOLS,
    AwsLocalSettings,
    FollowerSeat,
    LambdaHandlers,
    MasterAccess,
)
from runtime.hosts.aws_local.moto_world import MotoWorld, MotoWorldSettings
from runtime.hosts.aws_local.names import master_secret_name
from runtime.hosts.aws_local.observed import LoopBridge, ObservedAwsServices
from runtime.hosts.aws_local.poller import Handler, PollerSettings, SqsEventSourcePoller
from runtime.hosts.aws_settings import AUDIT_HEAL, MASTER_REST_URL, MASTER_WS_URL, AwsSettings
from runtime.listener.fargate_main import run_listener
from runtime.ports.store import StateStore
from runtime.services.alerts.model import Severity
from runtime.services.alerts.router import Route
from runtime.services.audit_report import AuditReport
from runtime.services.observers import EngineObserver

log = logging.getLogger(__name__)

ReadyProbe = Callable[[], Awaitable[bool]]


class AwsLocalHost:
    def __init__(
        self,
        *,
        master: MasterAccess,
        followers: Sequence[FollowerSeat],
        symbol_map: SymbolMap | None = None,
        observer: EngineObserver | None = None,
        alert_feed: AlertFeed | None = None,
        settings: AwsLocalSettings | None = None,
        handlers: Callable[[], LambdaHandlers] = LambdaHandlers.deployed,
    ) -> None:
        self.master = master
        self.followers = tuple(followers)
        self.settings = settings or AwsLocalSettings()
        self._symbol_map = symbol_map or SymbolMap()
        self._observer = observer or EngineObserver()
        self._alert_feed = alert_feed
        self._handlers = handlers
        self.world = MotoWorld(self._world_settings())
        self._services: ObservedAwsServices | None = None
        self._listener_services: AwsServices | None = None
        self._pollers: list[SqsEventSourcePoller] = []
        self._listener: asyncio.Task[None] | None = None
        self._listener_stop = asyncio.Event()
        self._audits = AuditRuns()
        self._audit_schedule: asyncio.Task[None] | None = None
        self._state_dir: tempfile.TemporaryDirectory[str] | None = None
        self._saved_env: dict[str, str | None] = {}
        self.started = False

    # --- what the demo and the tests use -----------------------------------------------------------------------

    @property
    def services(self) -> ObservedAwsServices:
        if self._services is None:
            raise RuntimeError("the local AWS host has not been started")
        return self._services

    @property
    def store(self) -> StateStore:
        return self.services.store

    @property
    def feed(self) -> object:
        return None  # ``run_listener`` keeps its feed to itself (as the Fargate task does)

    @property
    def pollers(self) -> tuple[SqsEventSourcePoller, ...]:
        """(master changes -> dispatcher, follower orders -> executor)."""
        return tuple(self._pollers)

    def is_idle(self) -> bool:
        """No message queued or in flight on either queue and no invocation running. Queue 1 is read first: its
        record is deleted only after the dispatcher sent the follower jobs, so work cannot slip between the reads."""
        if not self.started:
            return True
        if not all(poller.is_idle() for poller in self._pollers):
            return False
        for queue in (self.world.master_changes, self.world.follower_orders):
            visible, in_flight = self.world.queue_counts(queue.url)
            if visible or in_flight:
                return False
        return all(poller.is_idle() for poller in self._pollers)

    async def audit_once(self, *, grace_s: float | None = None) -> AuditReport:
        """One audit pass now, as the audit function runs it (alerts, dedup state, heal jobs on queue 2);
        ``grace_s`` overrides the grace period for this pass."""
        return await self._audits.once(self.services, grace_s)

    # --- start and stop ----------------------------------------------------------------------------------------

    async def start(self, listener_ready: ReadyProbe | None = None, ready_timeout_s: float = 10.0) -> None:
        """The local AWS, the followers, the functions' pollers and schedule, then the listener (which seeds from
        REST and sends what changed while it was down, as the Fargate task does). ``run_listener`` does not say
        when its stream is up; ``listener_ready`` (the demo asks the simulator) lets ``start`` wait for it."""
        loop = asyncio.get_running_loop()
        self._set_env(QUIET_POWERTOOLS)
        await asyncio.to_thread(self.world.start)
        try:
            self._state_dir = tempfile.TemporaryDirectory(prefix="copytrader-aws-local-")
            await asyncio.to_thread(self._register_followers)
            bridge = LoopBridge(self._observer, loop)
            self._services = ObservedAwsServices(
                AwsSettings.from_environ(self._function_environment()), self._overrides(loop), bridge
            )
            install_services(self._services)
            self._listener_services = AwsServices.from_environment(
                self._listener_environment(), overrides=AwsOverrides(alert_routes=self._routes(loop))
            )
            handlers = await asyncio.to_thread(self._handlers)
            self._pollers = [self._poller_for_dispatcher(handlers.dispatcher), self._poller_for_executor(handlers)]
            for poller in self._pollers:
                await poller.start()
            interval = self.settings.audit_interval_s
            if interval is not None:
                rule = f"copytrader-{self.settings.env_name}-audit"
                schedule = self._audits.schedule(handlers.audit, interval, rule)
                self._audit_schedule = asyncio.create_task(schedule, name="audit-schedule")
            self._listener_stop = asyncio.Event()
            self._listener = asyncio.create_task(
                run_listener(self._listener_services, self._listener_stop, self.settings.listener), name="listener"
            )
            if listener_ready is not None:
                await _wait_ready(self._listener, listener_ready, ready_timeout_s)
            self.started = True
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Listener first (no new changes), then the schedule and the pollers (running invocations finish), then
        the services and the local AWS. Safe to call twice."""
        self.started = False
        self._listener_stop.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            # It delivers the changes it already confirmed, then returns (bounded: a hung stream must not hang us).
            await asyncio.wait([listener], timeout=self.settings.stop_timeout_s)
            await _cancelled(listener)
        schedule, self._audit_schedule = self._audit_schedule, None
        if schedule is not None:
            await _cancelled(schedule)
        pollers, self._pollers = self._pollers, []
        for poller in pollers:
            await poller.stop()
        # Closing drains alerts through the feed bridge, which needs this loop running: close off the loop.
        if self._listener_services is not None:
            await asyncio.to_thread(self._listener_services.close)
            self._listener_services = None
        if self._services is not None:
            await asyncio.to_thread(reset_services)
            self._services = None
        await asyncio.to_thread(self.world.stop)
        if self._state_dir is not None:
            self._state_dir.cleanup()
            self._state_dir = None
        self._restore_env()

    # --- wiring ------------------------------------------------------------------------------------------------

    def _world_settings(self) -> MotoWorldSettings:
        settings = MotoWorldSettings(env_name=self.settings.env_name, master_id=self.master.master_id)
        if self.settings.visibility_timeouts_s is not None:
            changes_s, orders_s = self.settings.visibility_timeouts_s
            settings = replace(
                settings,
                master_changes=replace(settings.master_changes, visibility_timeout_s=changes_s),
                follower_orders=replace(settings.follower_orders, visibility_timeout_s=orders_s),
            )
        return settings

    def _register_followers(self) -> None:
        """What an operator does after deploying (docs/deploy.md, step 4): the master's secret, each follower's
        secret and registry item."""
        keys = {"api_key": self.master.api_key, "api_secret": self.master.api_secret}
        self.world.put_secret(master_secret_name(self.settings.env_name, self.master.master_id), keys)
        registry = self._registry()
        for seat in self.followers:
            secret_id = self.world.put_follower_secret(seat.config.id, seat.keys)
            registry.put(seat.config, replace=True, secret_id=secret_id)

    def _registry(self) -> FollowerRegistry:
        return FollowerRegistry(self.world.client("dynamodb"), self.world.tables.followers)

    def _function_environment(self) -> dict[str, str]:
        return {
            **self.world.function_environment(),
            AUDIT_HEAL: "true" if self.settings.audit_settings.heal else "false",
        }

    def _listener_environment(self) -> dict[str, str]:
        assert self._state_dir is not None
        env = {
            **self.world.function_environment(),
            names.MASTER_API_KEY: self.master.api_key,
            names.MASTER_API_SECRET: self.master.api_secret,
            names.LISTENER_HEARTBEAT_FILE: str(Path(self._state_dir.name) / "listener.heartbeat"),
        }
        if self.master.rest_url:
            env[MASTER_REST_URL] = self.master.rest_url
        if self.master.ws_url:
            env[MASTER_WS_URL] = self.master.ws_url
        return env

    def _routes(self, loop: asyncio.AbstractEventLoop) -> list[Route]:
        routes = [Route(SnsNotifier(self.world.topic_arn), Severity.INFO)]
        if self._alert_feed is not None:
            routes.append(Route(LoopFeedChannel(self._alert_feed, loop), Severity.INFO))
        return routes

    def _overrides(self, loop: asyncio.AbstractEventLoop) -> AwsOverrides:
        return AwsOverrides(
            symbol_map=self._symbol_map,
            alert_routes=self._routes(loop),
            audit_settings=self.settings.audit_settings,
        )

    def _poller_for_dispatcher(self, handler: Handler) -> SqsEventSourcePoller:
        queue = self.world.master_changes
        settings = PollerSettings(
            "copytrader-local-dispatcher",
            batch_size=self.settings.dispatcher_batch_size,
            concurrency=self.settings.dispatcher_concurrency,
            function_timeout_s=queue.settings.visibility_timeout_s / 2,
            failed_visibility_s=self.settings.failed_visibility_s,
        )
        observed = self._observe_changes(handler)
        return SqsEventSourcePoller(self.world.client("sqs"), queue.url, queue.arn, observed, settings)

    def _poller_for_executor(self, handlers: LambdaHandlers) -> SqsEventSourcePoller:
        queue = self.world.follower_orders
        settings = PollerSettings(
            "copytrader-local-executor",
            batch_size=self.settings.executor_batch_size,
            concurrency=self.settings.executor_concurrency,
            function_timeout_s=queue.settings.visibility_timeout_s / 2,
            failed_visibility_s=self.settings.failed_visibility_s,
        )
        return SqsEventSourcePoller(self.world.client("sqs"), queue.url, queue.arn, handlers.executor, settings)

    def _observe_changes(self, handler: Handler) -> Handler:
        """The dispatcher as deployed, telling the observer of each master change it fanned out (on AWS nobody
        watches; the demo's live view and counters do)."""
        observer = self.services.observer

        def dispatcher(event: dict[str, Any], context: Any) -> Any:
            response = handler(event, context)
            failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures") or []}
            for record in event["Records"]:
                if record["messageId"] not in failed:
                    with contextlib.suppress(ValueError):
                        observer.master_change(decode_master_change(record["body"]).change, True)
            return response

        return dispatcher

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` if it still runs and wait for it; its failure was logged where it happened."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _wait_ready(listener: asyncio.Task[None], ready: ReadyProbe, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not listener.done():
        if await ready():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the listener's master stream was not up within {timeout_s:g} s; see the log")
        await asyncio.sleep(0.02)
    listener.result()  # its start-up error
    raise RuntimeError("the listener stopped during start-up; see the log")
