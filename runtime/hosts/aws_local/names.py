"""The physical names the stacks give an environment's resources: the runtime's copy of ``infra/contract.py`` (the
runtime ships without ``infra``; ``tests/unit/aws_local/test_names.py`` checks that the two agree)."""

from __future__ import annotations

APP_NAME = "copytrader"
MASTER_CHANGES_SUFFIX = "master-changes"
FOLLOWER_ORDERS_SUFFIX = "follower-orders"


def resource_prefix(env_name: str) -> str:
    return f"{APP_NAME}-{env_name}"


def queue_name(env_name: str, suffix: str) -> str:
    return f"{resource_prefix(env_name)}-{suffix}.fifo"


def dead_letter_queue_name(env_name: str, suffix: str) -> str:
    return f"{resource_prefix(env_name)}-{suffix}-dlq.fifo"


def alerts_topic_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-alerts"


def follower_secret_prefix(env_name: str) -> str:
    return f"{APP_NAME}/{env_name}/followers/"


def master_secret_name(env_name: str, master_id: str) -> str:
    return f"{APP_NAME}/{env_name}/master/{master_id}"


def alert_secret_name(env_name: str, channel: str) -> str:
    return f"{APP_NAME}/{env_name}/alerts/{channel}"
