"""The contract between the infrastructure and the code that runs on it: table keys, queue names, environment
variable names and the custom metrics. Plain Python (no CDK import) so tests, docs and the local AWS host can read
it without synthesizing anything.

The runtime side (DynamoDB store, SQS publisher, handlers, listener) must use exactly these names; docs/deploy.md
describes every item for a human.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

APP_NAME = "copytrader"
METRICS_NAMESPACE = "CopyTrader"


def resource_prefix(env_name: str) -> str:
    """Every physical name starts with this, so dev and prod can share an account without colliding."""
    return f"{APP_NAME}-{env_name}"


def service_name(env_name: str) -> str:
    """POWERTOOLS_SERVICE_NAME of every component; Powertools adds it to each metric as the ``service`` dimension,
    so it doubles as the environment dimension of every custom metric."""
    return resource_prefix(env_name)


# --- DynamoDB -------------------------------------------------------------------------------------------------


class KeyType(StrEnum):
    STRING = "S"
    NUMBER = "N"


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = KeyType.STRING


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index (projection: all attributes)."""

    name: str
    partition_key: Key
    sort_key: Key | None = None


@dataclass(frozen=True)
class TableSpec:
    """One DynamoDB table. ``ledger`` tables are never deleted with the stack (their loss changes sizes or allows a
    second order for the same change). ``ttl_attribute`` holds epoch seconds; items without it never expire."""

    logical_id: str
    suffix: str
    env_var: str
    partition_key: Key
    sort_key: Key | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()
    ledger: bool = True

    def table_name(self, env_name: str) -> str:
        return f"{resource_prefix(env_name)}-{self.suffix}"


EXPIRES_AT = "expires_at"

# claim_id = the client order id. While a claim is unfinished the store sets ``pending`` = "claimed" and removes it
# when the claim is finished: the sparse index then holds exactly the unfinished claims, oldest first.
CLAIMS = TableSpec(
    logical_id="Claims",
    suffix="claims",
    env_var="CLAIMS_TABLE",
    partition_key=Key("claim_id"),
    ttl_attribute=EXPIRES_AT,
    indexes=(IndexSpec("unfinished-by-created", Key("pending"), Key("created_ms", KeyType.NUMBER)),),
)
# item_key = "snapshot#{symbol}#{position_idx}" for the latest snapshot of a leg, "lifecycle#{lifecycle_id}" for a
# lifecycle's open_im/open_equity. One Query on master_id lists a master's legs.
MASTER_STATE = TableSpec(
    logical_id="MasterState",
    suffix="master-state",
    env_var="MASTER_STATE_TABLE",
    partition_key=Key("master_id"),
    sort_key=Key("item_key"),
    ttl_attribute=EXPIRES_AT,
)
# k per (follower, lifecycle), first writer wins (conditional put).
RATIOS = TableSpec(
    logical_id="Ratios",
    suffix="ratios",
    env_var="RATIOS_TABLE",
    partition_key=Key("follower_id"),
    sort_key=Key("lifecycle_id"),
    ttl_attribute=EXPIRES_AT,
)
# One item per open discrepancy; deleted when it resolves, so no TTL (an expiring item would re-alert).
ALERT_STATE = TableSpec(
    logical_id="AlertState",
    suffix="alert-state",
    env_var="ALERT_STATE_TABLE",
    partition_key=Key("alert_key"),
    ledger=False,
)
# log_key = f"{logged_ms:013d}#{client_order_id}" sorts by time; the store writes log_partition = "all" on every
# item so the index lists every follower's entries newest first.
ORDER_LOG = TableSpec(
    logical_id="OrderLog",
    suffix="order-log",
    env_var="ORDER_LOG_TABLE",
    partition_key=Key("follower_id"),
    sort_key=Key("log_key"),
    ttl_attribute=EXPIRES_AT,
    indexes=(IndexSpec("all-by-time", Key("log_partition"), Key("log_key")),),
)
# One item per follower: venue, enabled, paused, config (JSON of the follower's config section), secret_id.
FOLLOWERS = TableSpec(
    logical_id="Followers",
    suffix="followers",
    env_var="FOLLOWERS_TABLE",
    partition_key=Key("follower_id"),
)

TABLES: tuple[TableSpec, ...] = (CLAIMS, MASTER_STATE, RATIOS, ALERT_STATE, ORDER_LOG, FOLLOWERS)


# --- SQS --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    suffix: str
    url_env_var: str
    message_group: str  # what MessageGroupId means on this queue (documentation and tests)

    def queue_name(self, env_name: str) -> str:
        return f"{resource_prefix(env_name)}-{self.suffix}.fifo"

    def dead_letter_queue_name(self, env_name: str) -> str:
        return f"{resource_prefix(env_name)}-{self.suffix}-dlq.fifo"


MASTER_CHANGES = QueueSpec(
    logical_id="MasterChanges",
    suffix="master-changes",
    url_env_var="MASTER_CHANGES_QUEUE_URL",
    message_group="{master_id}:{symbol}:{position_idx} (the master leg); dedup id = the same + ':' + seq",
)
FOLLOWER_ORDERS = QueueSpec(
    logical_id="FollowerOrders",
    suffix="follower-orders",
    url_env_var="FOLLOWER_ORDERS_QUEUE_URL",
    message_group="{follower_id}; dedup id = follower + leg + seq",
)

QUEUES: tuple[QueueSpec, ...] = (MASTER_CHANGES, FOLLOWER_ORDERS)


# --- other environment variables ----------------------------------------------------------------------------------

ENV_NAME = "COPYTRADER_ENV"
ALERTS_TOPIC_ARN = "ALERTS_TOPIC_ARN"
FOLLOWER_SECRET_PREFIX = "FOLLOWER_SECRET_PREFIX"
MASTER_ID = "MASTER_ID"
MASTER_API_KEY = "MASTER_API_KEY"
MASTER_API_SECRET = "MASTER_API_SECRET"
BYBIT_TESTNET = "BYBIT_TESTNET"
LISTENER_HEARTBEAT_FILE = "LISTENER_HEARTBEAT_FILE"
TELEGRAM_SECRET_ARN = "TELEGRAM_SECRET_ARN"
TWILIO_SECRET_ARN = "TWILIO_SECRET_ARN"

HEARTBEAT_PATH = "/tmp/copytrader-listener.heartbeat"  # on a task-private volume (the root filesystem is read-only)
HEARTBEAT_MAX_AGE_S = 90  # the listener touches the file at least every 30 s while its event loop runs


def master_secret_name(env_name: str, master_id: str) -> str:
    """JSON {"api_key": ..., "api_secret": ...}; created by the Secrets stack, filled in by the operator."""
    return f"{APP_NAME}/{env_name}/master/{master_id}"


def follower_secret_prefix(env_name: str) -> str:
    """Follower secrets are created by the operator (no redeploy) as ``<prefix><follower_id>``."""
    return f"{APP_NAME}/{env_name}/followers/"


def alert_secret_name(env_name: str, channel: str) -> str:
    return f"{APP_NAME}/{env_name}/alerts/{channel}"


# --- custom metrics (namespace METRICS_NAMESPACE) ---------------------------------------------------------------
# Every metric carries the dimension service = service_name(env). Latency also carries Hop; the listener heartbeat
# carries Master. Emit the dimensioned ones with Powertools ``single_metric`` so no other dimension leaks in.

HOP_DIMENSION = "Hop"
MASTER_DIMENSION = "Master"
SERVICE_DIMENSION = "service"

COPY_LATENCY_MS = "CopyLatencyMs"


class Hop(StrEnum):
    """The copy path, cut where a timestamp can be taken. Each value is one CopyLatencyMs series."""

    EXCHANGE_TO_LISTENER = "exchange_to_listener"  # Bybit position message creation time -> change confirmed
    LISTENER_TO_DISPATCHER = "listener_to_dispatcher"  # SQS send (master queue) -> dispatcher handler start
    DISPATCHER_TO_EXECUTOR = "dispatcher_to_executor"  # SQS send (follower queue) -> executor handler start
    EXECUTOR_TO_ACK = "executor_to_ack"  # executor handler start -> exchange acknowledged the order
    END_TO_END = "end_to_end"  # Bybit position message creation time -> follower order acknowledged


ORDERS_PLACED = "OrdersPlaced"
ORDERS_REFUSED = "OrdersRefused"
ORDERS_FAILED = "OrdersFailed"
AUDIT_DISCREPANCIES = "AuditDiscrepancies"  # per audit run: discrepancies found (after the grace period)
STREAM_RECONNECTS = "StreamReconnects"
GAP_REPLAYS = "GapReplays"
LISTENER_HEARTBEAT = "ListenerHeartbeat"  # 1 per minute per master while the listener runs (dimension Master)
