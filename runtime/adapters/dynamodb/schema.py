"""The DynamoDB tables of the AWS host: names, keys, the index, the TTL attribute, and the environment variables
through which the Lambdas and the listener learn the physical table names.

This module is the runtime's side of the contract with the infrastructure (``infra/contract.py`` holds the CDK's
side; ``tests/integration/aws/test_schema_matches_infra.py`` keeps the two equal). Plain data, no boto3 import.

Physical names are ``{prefix}-{suffix}``; the CDK stacks use the prefix ``copytrader-{env}`` (``copytrader-prod``),
``state.dynamodb_table_prefix`` in the config file names the same prefix for the command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from runtime.domain.values import PositionIdx


class KeyType(StrEnum):
    STRING = "S"
    NUMBER = "N"


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: KeyType = KeyType.STRING


@dataclass(frozen=True)
class IndexSchema:
    """A global secondary index projecting all attributes."""

    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None


@dataclass(frozen=True)
class TableSchema:
    """One table. ``ttl_attribute`` holds epoch seconds; DynamoDB deletes an expired item within days, not at once
    (moto never does), so every read of a table with expiring items also filters on it in code."""

    logical_id: str
    suffix: str
    env_var: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSchema, ...] = ()

    def physical_name(self, prefix: str) -> str:
        return f"{prefix}-{self.suffix}"

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition_key.name,) if self.sort_key is None else (self.partition_key.name, self.sort_key.name)


EXPIRES_AT = "expires_at"

# --- claims: one item per client order id ----------------------------------------------------------------------
# While a claim is unfinished it carries PENDING = PENDING_VALUE; finishing removes the attribute, so the sparse
# index holds exactly the unfinished claims, oldest first. Claims never get expires_at (the store does not set it):
# a forgotten claim would allow a second order for the same change.
CLAIM_ID = "claim_id"
PENDING = "pending"
PENDING_VALUE = "claimed"
CREATED_MS = "created_ms"
UNFINISHED_INDEX = "unfinished-by-created"
CLAIMS = TableSchema(
    logical_id="Claims",
    suffix="claims",
    env_var="CLAIMS_TABLE",
    partition_key=KeyAttribute(CLAIM_ID),
    ttl_attribute=EXPIRES_AT,
    indexes=(IndexSchema(UNFINISHED_INDEX, KeyAttribute(PENDING), KeyAttribute(CREATED_MS, KeyType.NUMBER)),),
)

# --- master state: the latest snapshot of each leg and each lifecycle's open figures -----------------------------
MASTER_ID = "master_id"
ITEM_KEY = "item_key"
SNAPSHOT_KEY_PREFIX = "snapshot#"
LIFECYCLE_KEY_PREFIX = "lifecycle#"
MASTER_STATE = TableSchema(
    logical_id="MasterState",
    suffix="master-state",
    env_var="MASTER_STATE_TABLE",
    partition_key=KeyAttribute(MASTER_ID),
    sort_key=KeyAttribute(ITEM_KEY),
    ttl_attribute=EXPIRES_AT,
)


def snapshot_item_key(symbol: str, position_idx: PositionIdx) -> str:
    return f"{SNAPSHOT_KEY_PREFIX}{symbol}#{int(position_idx)}"


def lifecycle_item_key(lifecycle_id: str) -> str:
    return f"{LIFECYCLE_KEY_PREFIX}{lifecycle_id}"


# --- ratios: k per (follower, lifecycle), first writer wins --------------------------------------------------------
FOLLOWER_ID = "follower_id"
LIFECYCLE_ID = "lifecycle_id"
RATIOS = TableSchema(
    logical_id="Ratios",
    suffix="ratios",
    env_var="RATIOS_TABLE",
    partition_key=KeyAttribute(FOLLOWER_ID),
    sort_key=KeyAttribute(LIFECYCLE_ID),
    ttl_attribute=EXPIRES_AT,
)

# --- alert state: one item per open discrepancy (deleted when it resolves, so no TTL: it would re-alert) ----------
ALERT_KEY = "alert_key"
ALERT_STATE = TableSchema(
    logical_id="AlertState",
    suffix="alert-state",
    env_var="ALERT_STATE_TABLE",
    partition_key=KeyAttribute(ALERT_KEY),
)

# --- order log: per follower, newest last; expires_at = append time + retention ----------------------------------
# log_key = f"{appended_ns:020d}#{random hex}": sorts by append time (the port's order) and never collides, even for
# two entries of one client order id in the same millisecond. Every item carries LOG_PARTITION = ALL_ENTRIES so the
# index lists every follower's entries by time; order-log writes are a few per copied change, far below the
# 1,000 writes/s one index partition takes.
LOG_KEY = "log_key"
LOG_PARTITION = "log_partition"
ALL_ENTRIES = "all"
ALL_BY_TIME_INDEX = "all-by-time"
ORDER_LOG = TableSchema(
    logical_id="OrderLog",
    suffix="order-log",
    env_var="ORDER_LOG_TABLE",
    partition_key=KeyAttribute(FOLLOWER_ID),
    sort_key=KeyAttribute(LOG_KEY),
    ttl_attribute=EXPIRES_AT,
    indexes=(IndexSchema(ALL_BY_TIME_INDEX, KeyAttribute(LOG_PARTITION), KeyAttribute(LOG_KEY)),),
)
DEFAULT_ORDER_LOG_RETENTION_DAYS = 90

# --- followers: the registry (config JSON) and the pause flag the executor reads for every job --------------------
CONFIG = "config"
PAUSED = "paused"
FOLLOWERS = TableSchema(
    logical_id="Followers",
    suffix="followers",
    env_var="FOLLOWERS_TABLE",
    partition_key=KeyAttribute(FOLLOWER_ID),
)

TABLES: tuple[TableSchema, ...] = (CLAIMS, MASTER_STATE, RATIOS, ALERT_STATE, ORDER_LOG, FOLLOWERS)


class MissingTableNameError(LookupError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"environment variable(s) {', '.join(missing)} not set: they name the DynamoDB tables (the CDK stacks "
            "set them on every function); locally, set them or build the names from a prefix with "
            "TableNames.from_prefix"
        )
        self.missing = missing


@dataclass(frozen=True)
class TableNames:
    """The physical name of each table."""

    claims: str
    master_state: str
    ratios: str
    alert_state: str
    order_log: str
    followers: str

    @classmethod
    def from_prefix(cls, prefix: str) -> TableNames:
        return cls(*(table.physical_name(prefix) for table in TABLES))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TableNames:
        """Read every name from its environment variable (``environ`` defaults to ``os.environ``)."""
        env = os.environ if environ is None else environ
        missing = [table.env_var for table in TABLES if not env.get(table.env_var)]
        if missing:
            raise MissingTableNameError(missing)
        return cls(*(env[table.env_var] for table in TABLES))

    def name_of(self, table: TableSchema) -> str:
        return self.by_schema()[table.logical_id]

    def by_schema(self) -> dict[str, str]:
        """Logical id -> physical name."""
        names = (self.claims, self.master_state, self.ratios, self.alert_state, self.order_log, self.followers)
        return {table.logical_id: name for table, name in zip(TABLES, names, strict=True)}

    def as_env(self) -> dict[str, str]:
        """Environment variable -> physical name (what a function's environment holds)."""
        return {table.env_var: self.name_of(table) for table in TABLES}
