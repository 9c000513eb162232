"""The DynamoDB state store (the AWS host's ``StateStore``), on the low-level boto3 client.

Every method is one or two short requests and nothing is held between calls. Exactly-once comes from DynamoDB's
own conditional writes, so any number of Lambdas, threads and listeners can race on one claim or leg:

- ``claim``: ``PutItem`` if ``attribute_not_exists(claim_id)``; only one caller ever creates it.
- ``finish_claim``: ``UpdateItem`` if the claim exists; it also drops the claim from the sparse unfinished index.
- ``put_master_snapshot``: the lifecycle first (``if_not_exists`` on each figure, so the first writer's figures
  stay), then the snapshot ``PutItem`` if the leg is new or its stored ``seq`` is lower. The snapshot embeds the
  stored lifecycle, so one read returns the whole leg. No transaction is needed: the lifecycle write is idempotent
  and comes first, so a snapshot never names a lifecycle that is not stored, and a crash between the two leaves
  only a lifecycle that a retry writes again. (A transaction would also conflict under concurrent writers of a leg.)
- ``get_or_set_ratio``: ``UpdateItem SET k = if_not_exists(k, :k)`` returning the stored k: first writer wins in
  one request.

Reads of single items are strongly consistent. The two index reads (unfinished claims, the all-followers order log)
are eventually consistent by DynamoDB's rules; unfinished claims are therefore confirmed with a consistent batch
read. Order-log items carry ``expires_at`` (append time + retention); DynamoDB deletes expired items only within
days, so reads filter on it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime.adapters.dynamodb import items, schema
from runtime.adapters.dynamodb.errors import call, is_condition_failure, store_error
from runtime.adapters.dynamodb.reads import TableReads, dynamodb_client
from runtime.adapters.dynamodb.schema import TableNames
from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx
from runtime.ports.store import (
    DEFAULT_ORDER_LOG_LIMIT,
    AlertState,
    ClaimNotFoundError,
    ClaimRecord,
    ClaimStatus,
    MasterSnapshot,
    OrderLogEntry,
)

Item = dict[str, Any]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class DynamoDBStore:
    """``StateStore`` on the six tables named by ``names``. ``client`` is a boto3 DynamoDB client (thread-safe;
    build it with ``dynamodb_client``). ``order_log_retention_days`` sets each order-log entry's expiry."""

    def __init__(
        self,
        client: Any,
        names: TableNames,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        order_log_retention_days: int = schema.DEFAULT_ORDER_LOG_RETENTION_DAYS,
    ) -> None:
        if order_log_retention_days < 1:
            raise ValueError(f"order_log_retention_days must be at least 1, got {order_log_retention_days}")
        self._db = client
        self._reads = TableReads(client)
        self.names = names
        self._clock_ms = clock_ms
        self._retention_s = order_log_retention_days * 86_400
        self._log_keys = items.LogKeys()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **options: Any) -> DynamoDBStore:
        """The store of a Lambda or the listener: table names from the ``*_TABLE`` variables the stacks set,
        region and credentials from the AWS environment. ``options`` go to the constructor."""
        return cls(dynamodb_client(), TableNames.from_env(environ), **options)

    @classmethod
    def from_prefix(
        cls, prefix: str, *, region: str | None = None, endpoint_url: str | None = None, **options: Any
    ) -> DynamoDBStore:
        """The store for ``state.dynamodb_table_prefix`` (``copytrader-prod`` names the prod stack's tables)."""
        return cls(dynamodb_client(region=region, endpoint_url=endpoint_url), TableNames.from_prefix(prefix), **options)

    def close(self) -> None:
        """Nothing to release: the client's connection pool is shared and closes with the process."""

    # --- idempotency claims -----------------------------------------------------------------------------------
    def claim(self, claim: ClaimRecord) -> bool:
        table = self.names.claims
        try:
            self._db.put_item(
                TableName=table,
                Item=items.claim_item(claim),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": schema.CLAIM_ID},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise store_error("claim (conditional PutItem)", table, exc) from exc
        except BotoCoreError as exc:
            raise store_error("claim (conditional PutItem)", table, exc) from exc
        return True

    def get_claim(self, claim_id: str) -> ClaimRecord | None:
        item = self._reads.get(self.names.claims, {schema.CLAIM_ID: items.s(claim_id)})
        return None if item is None else items.claim_from_item(item)

    def finish_claim(
        self, claim_id: str, status: ClaimStatus, result: Mapping[str, str], *, at_ms: int | None = None
    ) -> None:
        if ClaimStatus(status) is ClaimStatus.CLAIMED:
            raise ValueError("finish_claim needs an outcome status (placed, refused, failed, reconciled), not claimed")
        table = self.names.claims
        try:
            self._db.update_item(
                TableName=table,
                Key={schema.CLAIM_ID: items.s(claim_id)},
                UpdateExpression="SET #status = :status, #result = :result, updated_ms = :at REMOVE #pending",
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={
                    "#id": schema.CLAIM_ID,
                    "#status": "status",
                    "#result": "result",
                    "#pending": schema.PENDING,
                },
                ExpressionAttributeValues={
                    ":status": items.s(ClaimStatus(status).value),
                    ":result": items.string_map(result),
                    ":at": items.n(self._clock_ms() if at_ms is None else at_ms),
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise ClaimNotFoundError(claim_id) from None
            raise store_error("finish_claim (conditional UpdateItem)", table, exc) from exc
        except BotoCoreError as exc:
            raise store_error("finish_claim (conditional UpdateItem)", table, exc) from exc

    def unfinished_claims(self, older_than_ms: int | None = None) -> list[ClaimRecord]:
        condition = "#pending = :pending"
        names = {"#pending": schema.PENDING, "#id": schema.CLAIM_ID}
        values: Item = {":pending": items.s(schema.PENDING_VALUE)}
        if older_than_ms is not None:
            condition += " AND #created <= :cutoff"
            names["#created"] = schema.CREATED_MS
            values[":cutoff"] = items.n(self._clock_ms() - older_than_ms)
        request = {
            "IndexName": schema.UNFINISHED_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "#id",
        }
        ids = [items.read_s(item, schema.CLAIM_ID) for item in self._reads.query(self.names.claims, request)]
        # The index lags the table: confirm each with a consistent read so a just-finished claim is not returned.
        confirmed = [
            items.claim_from_item(item)
            for item in self._reads.batch_get(self.names.claims, [{schema.CLAIM_ID: items.s(cid)} for cid in ids])
        ]
        unfinished = [claim for claim in confirmed if claim.status is ClaimStatus.CLAIMED]
        return sorted(unfinished, key=lambda claim: (claim.created_ms, claim.claim_id))

    # --- master snapshots and lifecycles ----------------------------------------------------------------------
    def put_master_snapshot(self, snapshot: MasterSnapshot) -> bool:
        stored_lifecycle = None
        if snapshot.lifecycle is not None:
            stored_lifecycle = self._remember_lifecycle(snapshot.master_id, snapshot.lifecycle)
        table = self.names.master_state
        try:
            self._db.put_item(
                TableName=table,
                Item=items.snapshot_item(snapshot, stored_lifecycle),
                # A higher seq, or (as Bybit reports a leverage change) the same seq and size with a new leverage.
                ConditionExpression=(
                    "attribute_not_exists(#key) OR #seq < :seq OR (#seq = :seq AND #size = :size AND #lev <> :lev)"
                ),
                ExpressionAttributeNames={"#key": schema.ITEM_KEY, "#seq": "seq", "#size": "size", "#lev": "leverage"},
                ExpressionAttributeValues={
                    ":seq": items.n(snapshot.seq),
                    ":size": items.dec(snapshot.size),
                    ":lev": items.dec(snapshot.leverage),
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False  # the same or an older seq: a duplicate or stale change
            raise store_error("put_master_snapshot (seq-conditional PutItem)", table, exc) from exc
        except BotoCoreError as exc:
            raise store_error("put_master_snapshot (seq-conditional PutItem)", table, exc) from exc
        return True

    def _remember_lifecycle(self, master_id: str, lifecycle: Lifecycle) -> Lifecycle:
        """Store the lifecycle unless stored already; returns the stored one (the first writer's figures)."""
        table = self.names.master_state
        answer = call(
            "UpdateItem (lifecycle)",
            table,
            self._db.update_item,
            TableName=table,
            Key={
                schema.MASTER_ID: items.s(master_id),
                schema.ITEM_KEY: items.s(schema.lifecycle_item_key(lifecycle.id)),
            },
            UpdateExpression="SET open_im = if_not_exists(open_im, :open_im), "
            "open_equity = if_not_exists(open_equity, :open_equity), "
            "opened_seq = if_not_exists(opened_seq, :opened_seq)",
            ExpressionAttributeValues=items.lifecycle_values(lifecycle),
            ReturnValues="ALL_NEW",
        )
        return items.lifecycle_from_item(lifecycle.id, answer["Attributes"])

    def get_master_snapshot(self, master_id: str, symbol: str, position_idx: PositionIdx) -> MasterSnapshot | None:
        key = {
            schema.MASTER_ID: items.s(master_id),
            schema.ITEM_KEY: items.s(schema.snapshot_item_key(symbol, position_idx)),
        }
        item = self._reads.get(self.names.master_state, key)
        return None if item is None else items.snapshot_from_item(item)

    def list_master_snapshots(self, master_id: str) -> list[MasterSnapshot]:
        request = {
            "KeyConditionExpression": "#master = :master AND begins_with(#key, :prefix)",
            "ExpressionAttributeNames": {"#master": schema.MASTER_ID, "#key": schema.ITEM_KEY},
            "ExpressionAttributeValues": {
                ":master": items.s(master_id),
                ":prefix": items.s(schema.SNAPSHOT_KEY_PREFIX),
            },
            "ConsistentRead": True,
        }
        snapshots = [items.snapshot_from_item(item) for item in self._reads.query(self.names.master_state, request)]
        return sorted(snapshots, key=lambda snap: (snap.symbol, int(snap.position_idx)))

    def get_lifecycle(self, master_id: str, lifecycle_id: str) -> Lifecycle | None:
        key = {schema.MASTER_ID: items.s(master_id), schema.ITEM_KEY: items.s(schema.lifecycle_item_key(lifecycle_id))}
        item = self._reads.get(self.names.master_state, key)
        return None if item is None else items.lifecycle_from_item(lifecycle_id, item)

    # --- copy ratios ------------------------------------------------------------------------------------------
    def get_or_set_ratio(self, follower_id: str, lifecycle_id: str, k: Decimal) -> Decimal:
        table = self.names.ratios
        answer = call(
            "get_or_set_ratio (UpdateItem if_not_exists)",
            table,
            self._db.update_item,
            TableName=table,
            Key={schema.FOLLOWER_ID: items.s(follower_id), schema.LIFECYCLE_ID: items.s(lifecycle_id)},
            UpdateExpression="SET k = if_not_exists(k, :k), created_ms = if_not_exists(created_ms, :now)",
            ExpressionAttributeValues={":k": items.dec(k), ":now": items.n(self._clock_ms())},
            ReturnValues="ALL_NEW",
        )
        return items.read_dec(answer["Attributes"], "k")

    def get_ratio(self, follower_id: str, lifecycle_id: str) -> Decimal | None:
        key = {schema.FOLLOWER_ID: items.s(follower_id), schema.LIFECYCLE_ID: items.s(lifecycle_id)}
        item = self._reads.get(self.names.ratios, key)
        return None if item is None else items.read_dec(item, "k")

    # --- alert state ------------------------------------------------------------------------------------------
    def get_alert(self, key: str) -> AlertState | None:
        item = self._reads.get(self.names.alert_state, {schema.ALERT_KEY: items.s(key)})
        return None if item is None else items.alert_from_item(item)

    def put_alert(self, state: AlertState) -> None:
        table = self.names.alert_state
        call("put_alert (PutItem)", table, self._db.put_item, TableName=table, Item=items.alert_item(state))

    def delete_alert(self, key: str) -> bool:
        table = self.names.alert_state
        answer = call(
            "delete_alert (DeleteItem)",
            table,
            self._db.delete_item,
            TableName=table,
            Key={schema.ALERT_KEY: items.s(key)},
            ReturnValues="ALL_OLD",
        )
        return bool(answer.get("Attributes"))

    def list_alerts(self) -> list[AlertState]:
        # One item per open discrepancy: a handful, so a consistent scan is cheap and simpler than an index.
        alerts = [
            items.alert_from_item(item) for item in self._reads.scan(self.names.alert_state, {"ConsistentRead": True})
        ]
        return sorted(alerts, key=lambda alert: alert.key)

    # --- order log --------------------------------------------------------------------------------------------
    def append_order_log(self, entry: OrderLogEntry) -> None:
        table = self.names.order_log
        expires_at_s = self._clock_ms() // 1000 + self._retention_s
        item = items.order_log_item(entry, self._log_keys.next(), expires_at_s)
        call("append_order_log (PutItem)", table, self._db.put_item, TableName=table, Item=item)

    def list_order_log(
        self, follower_id: str | None = None, limit: int = DEFAULT_ORDER_LOG_LIMIT
    ) -> list[OrderLogEntry]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        names = {"#expires": schema.EXPIRES_AT}
        values: Item = {":now": items.n(self._clock_ms() // 1000)}
        if follower_id is None:
            request: Item = {"IndexName": schema.ALL_BY_TIME_INDEX, "KeyConditionExpression": "#part = :part"}
            names["#part"] = schema.LOG_PARTITION
            values[":part"] = items.s(schema.ALL_ENTRIES)
        else:
            request = {"KeyConditionExpression": "#follower = :follower", "ConsistentRead": True}
            names["#follower"] = schema.FOLLOWER_ID
            values[":follower"] = items.s(follower_id)
        request.update(
            ScanIndexForward=False,  # newest first
            FilterExpression="attribute_not_exists(#expires) OR #expires > :now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        entries: list[OrderLogEntry] = []
        for item in self._reads.query(self.names.order_log, request):
            entries.append(items.order_log_from_item(item))
            if len(entries) == limit:
                break
        return entries

    # --- follower control -------------------------------------------------------------------------------------
    def set_follower_paused(self, follower_id: str, paused: bool) -> None:
        table = self.names.followers
        call(
            "set_follower_paused (UpdateItem)",
            table,
            self._db.update_item,
            TableName=table,
            Key={schema.FOLLOWER_ID: items.s(follower_id)},
            UpdateExpression="SET #paused = :paused, paused_updated_ms = :now",
            ExpressionAttributeNames={"#paused": schema.PAUSED},
            ExpressionAttributeValues={":paused": items.boolean(paused), ":now": items.n(self._clock_ms())},
        )

    def is_follower_paused(self, follower_id: str) -> bool:
        item = self._reads.get(
            self.names.followers, {schema.FOLLOWER_ID: items.s(follower_id)}, projection=schema.PAUSED
        )
        return item is not None and items.read_bool(item, schema.PAUSED)

    def list_paused_followers(self) -> list[str]:
        # The followers table holds one small item per follower (tens), so a filtered scan is fine.
        request = {
            "FilterExpression": "#paused = :yes",
            "ProjectionExpression": "#id",
            "ExpressionAttributeNames": {"#paused": schema.PAUSED, "#id": schema.FOLLOWER_ID},
            "ExpressionAttributeValues": {":yes": items.boolean(True)},
            "ConsistentRead": True,
        }
        return sorted(
            items.read_s(item, schema.FOLLOWER_ID) for item in self._reads.scan(self.names.followers, request)
        )
