"""Which host the demo's engine runs on, and what the demo needs of it.

- ``local``: the embedded host (``runtime.bootstrap.build_engine``: one asyncio process, SQLite).
- ``aws-local``: the AWS wiring on a local AWS (moto server): the Fargate listener's sink writing to SQS FIFO, the
  dispatcher, executor and audit Lambda handlers invoked as the SQS event source mapping and EventBridge invoke
  them, state in DynamoDB (``runtime.hosts.aws_local``; docs/aws-local.md).

The scenario, the player, the checks and the report are the same on both: they see the engine only through
``DemoEngine``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from typing import Protocol

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.bootstrap import EngineTuning
from runtime.config import AppConfig
from runtime.domain.symbols import SymbolMap
from runtime.ports.exchange import ExchangeClient
from runtime.ports.store import StateStore
from runtime.services.audit_report import AuditReport
from runtime.services.observers import EngineCounters, EngineObserver, StatusBoard

LOCAL = "local"
AWS_LOCAL = "aws-local"
HOST_NAMES = (LOCAL, AWS_LOCAL)


class DemoHost(Protocol):
    @property
    def feed(self) -> object:
        """The master feed (its ``stats`` say whether the stream is up), or None when the host does not expose it."""
        ...

    def is_idle(self) -> bool:
        """No follower work queued or running anywhere in the host."""
        ...


class AlertDrain(Protocol):
    async def drain(self, timeout_s: float) -> bool: ...


class DemoEngine(Protocol):
    """What the demo uses of an engine (``runtime.bootstrap.Engine`` is one)."""

    @property
    def store(self) -> StateStore: ...

    @property
    def symbols(self) -> SymbolMap: ...

    @property
    def host(self) -> DemoHost: ...

    @property
    def counters(self) -> EngineCounters: ...

    @property
    def board(self) -> StatusBoard: ...

    @property
    def clients(self) -> Mapping[str, ExchangeClient]:
        """Venue clients of the followers' accounts (the kill switch's close-all uses them)."""
        ...

    @property
    def alerts(self) -> AlertDrain: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def audit_once(self, *, grace_s: float | None = None) -> AuditReport: ...


class EngineFactory(Protocol):
    """``build_engine``'s shape: the demo's config and timings -> an engine, not yet started."""

    def __call__(
        self,
        config: AppConfig,
        *,
        tuning: EngineTuning | None = None,
        observers: Iterable[EngineObserver] = (),
        secrets: SecretRegistry | None = None,
        alert_feed: AlertFeed | None = None,
    ) -> DemoEngine: ...


class UnknownHostError(ValueError):
    def __init__(self, host: str) -> None:
        super().__init__(f"unknown demo host {host!r}: use one of {', '.join(HOST_NAMES)}")


class HostUnavailableError(RuntimeError):
    """The host needs a package that is not installed; the message says which and how to get it."""


def engine_factory(host: str) -> EngineFactory:
    """The engine builder of ``host`` (the AWS one is imported only when asked for: it loads moto)."""
    if host == LOCAL:
        from runtime.bootstrap import build_engine

        return build_engine
    if host == AWS_LOCAL:
        for module in ("moto", "lambdas"):  # the local AWS (a dev requirement) and the handlers (not in the wheel)
            if importlib.util.find_spec(module) is None:
                raise HostUnavailableError(
                    f"the aws-local host needs the {module!r} package, which is not importable here: run it from "
                    "the root of a checkout of the repository, with the development requirements installed "
                    "(pip install -r requirements-dev.txt)"
                )
        from runtime.hosts.aws_local.demo_engine import AwsLocalEngineFactory

        return AwsLocalEngineFactory()
    raise UnknownHostError(host)
