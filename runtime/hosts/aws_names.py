"""The runtime's copy of the names in ``infra/contract.py``: environment variables, the metric namespace, metric
names and dimensions.

A copy, not an import: the Lambda asset and the listener image ship ``runtime`` (and ``lambdas``) without ``infra``.
``tests/integration/aws_handlers/test_names_match_infra.py`` checks that the two agree.
"""

from __future__ import annotations

from enum import StrEnum

ENV_NAME = "COPYTRADER_ENV"
MASTER_ID = "MASTER_ID"
MASTER_CHANGES_QUEUE_URL = "MASTER_CHANGES_QUEUE_URL"
FOLLOWER_ORDERS_QUEUE_URL = "FOLLOWER_ORDERS_QUEUE_URL"
ALERTS_TOPIC_ARN = "ALERTS_TOPIC_ARN"
FOLLOWER_SECRET_PREFIX = "FOLLOWER_SECRET_PREFIX"
MASTER_API_KEY = "MASTER_API_KEY"
MASTER_API_SECRET = "MASTER_API_SECRET"
BYBIT_TESTNET = "BYBIT_TESTNET"
LISTENER_HEARTBEAT_FILE = "LISTENER_HEARTBEAT_FILE"
TELEGRAM_SECRET_ARN = "TELEGRAM_SECRET_ARN"
TWILIO_SECRET_ARN = "TWILIO_SECRET_ARN"
HEARTBEAT_PATH = "/tmp/copytrader-listener.heartbeat"

METRICS_NAMESPACE = "CopyTrader"
HOP_DIMENSION = "Hop"
MASTER_DIMENSION = "Master"

COPY_LATENCY_MS = "CopyLatencyMs"
ORDERS_PLACED = "OrdersPlaced"
ORDERS_REFUSED = "OrdersRefused"
ORDERS_FAILED = "OrdersFailed"
AUDIT_DISCREPANCIES = "AuditDiscrepancies"
STREAM_RECONNECTS = "StreamReconnects"
GAP_REPLAYS = "GapReplays"
LISTENER_HEARTBEAT = "ListenerHeartbeat"


class Hop(StrEnum):
    EXCHANGE_TO_LISTENER = "exchange_to_listener"
    LISTENER_TO_DISPATCHER = "listener_to_dispatcher"
    DISPATCHER_TO_EXECUTOR = "dispatcher_to_executor"
    EXECUTOR_TO_ACK = "executor_to_ack"
    END_TO_END = "end_to_end"
