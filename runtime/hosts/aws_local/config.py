"""What the local AWS host is built from: the master's access, the followers to register, the three handlers, and
its settings (batch sizes, concurrency, visibility timeouts, the audit schedule)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runtime.config.model import FollowerConfig
from runtime.hosts.aws_local.poller import Handler
from runtime.listener.fargate_main import ListenerTuning
from runtime.services.audit import AuditSettings

# Outside Lambda, Powertools would print a JSON log line (and an EMF blob) per invocation to stdout.
QUIET_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "copytrader-local",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass(frozen=True)
class LambdaHandlers:
    """The three functions' entry points (``handler(event, context)``); tests wrap them to inject failures."""

    dispatcher: Handler
    executor: Handler
    audit: Handler

    @staticmethod
    def deployed() -> LambdaHandlers:
        """The handlers the stacks deploy (imported on demand: Powertools reads its settings at import)."""
        from lambdas.audit.handler import handler as audit
        from lambdas.dispatcher.handler import handler as dispatcher
        from lambdas.executor.handler import handler as executor

        return LambdaHandlers(dispatcher, executor, audit)


@dataclass(frozen=True)
class FollowerSeat:
    """A follower to register: its config (the registry item) and its keys (its Secrets Manager secret)."""

    config: FollowerConfig
    keys: Mapping[str, str]


@dataclass(frozen=True)
class MasterAccess:
    """What the listener's task gets: the master's id and keys, and the venue's URLs (a simulator) if not Bybit's."""

    master_id: str
    api_key: str
    api_secret: str
    rest_url: str | None = None
    ws_url: str | None = None


@dataclass(frozen=True)
class AwsLocalSettings:
    """Defaults mirror the dev environment of ``cdk.json`` and ``infra/function_settings.py``."""

    env_name: str = "local"
    dispatcher_batch_size: int = 10
    dispatcher_concurrency: int = 2
    executor_batch_size: int = 1
    executor_concurrency: int = 5
    audit_interval_s: float | None = 60.0  # rate(1 minute); None: audits only on demand (``audit_once``)
    audit_settings: AuditSettings = field(default_factory=AuditSettings)
    failed_visibility_s: int | None = None  # None: a failed record waits for the queue's visibility timeout
    visibility_timeouts_s: tuple[int, int] | None = None  # (master changes, follower orders); None: the stacks'
    listener: ListenerTuning = field(default_factory=ListenerTuning)
    stop_timeout_s: float = 5.0
