"""The follower registry on AWS: each follower's configuration in the followers table, so followers are added,
paused, resumed and removed without redeploying (the dispatcher and executor read the table on every message).

One item per follower: ``config`` (the ``FollowerConfig`` as JSON, the same model as a ``[[followers]]`` table of the
local config file), ``venue`` and ``enabled`` (copies, for reading the table in the console), ``paused`` (the kill
switch: the same flag ``DynamoDBStore.set_follower_paused`` writes and the executor reads for every job; closes still
go through while paused), ``secret_id`` (optional: the Secrets Manager secret holding the follower's keys on AWS),
``updated_ms``. An item without ``config`` is only a pause flag written by the store for
a follower that is not registered: the registry ignores it.

API keys never go in here: the config names where they are (environment variables; on AWS the follower's secret
in Secrets Manager), as in the local config file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from runtime.adapters.dynamodb import items, schema
from runtime.adapters.dynamodb.errors import is_condition_failure, store_error
from runtime.adapters.dynamodb.reads import TableReads
from runtime.config.errors import problems_from_validation
from runtime.config.model import FollowerConfig
from runtime.ports.store import StoreError


class RegistryError(StoreError):
    """A registry request that cannot be done as asked; the message says why and what to do."""


class FollowerExistsError(RegistryError):
    def __init__(self, follower_id: str) -> None:
        super().__init__(
            f"follower {follower_id!r} is already registered: pass --replace to update its configuration "
            "(its pause flag is kept), or remove it first"
        )
        self.follower_id = follower_id


class FollowerNotRegisteredError(RegistryError, LookupError):
    def __init__(self, follower_id: str) -> None:
        super().__init__(
            f"no follower {follower_id!r} in the registry: `copytrader aws followers list` shows the registered "
            "ids; add one with `copytrader aws followers add --file FOLLOWER.toml`"
        )
        self.follower_id = follower_id


@dataclass(frozen=True)
class RegisteredFollower:
    config: FollowerConfig
    paused: bool  # the kill-switch flag (pause/resume); the config's own ``paused`` also stops copying
    updated_ms: int
    secret_id: str | None = None

    @property
    def follower_id(self) -> str:
        return self.config.id

    @property
    def copying_paused(self) -> bool:
        return self.paused or self.config.paused

    @property
    def copying(self) -> bool:
        return self.config.enabled and not self.copying_paused


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def config_json(config: FollowerConfig) -> str:
    # Decimals serialize as strings in pydantic's JSON mode, so reading it back is exact.
    return config.model_dump_json(exclude_none=True)


def config_from_json(follower_id: str, text: str) -> FollowerConfig:
    try:
        return FollowerConfig.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(str(problem) for problem in problems_from_validation(exc, FollowerConfig))
        raise RegistryError(
            f"the stored configuration of follower {follower_id!r} is no longer valid ({problems}): fix the file and "
            "register it again with `copytrader aws followers add --replace --file FOLLOWER.toml`"
        ) from None


class FollowerRegistry:
    """Followers' configuration in the followers table ``table_name``; ``client`` is a boto3 DynamoDB client."""

    def __init__(self, client: Any, table_name: str, *, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._db = client
        self._reads = TableReads(client)
        self.table_name = table_name
        self._clock_ms = clock_ms

    def put(self, config: FollowerConfig, *, replace: bool = False, secret_id: str | None = None) -> None:
        """Register ``config`` (and the id of its keys' secret, if given); with ``replace`` also update an existing
        follower (keeping its pause flag). Raises ``FollowerExistsError`` when the id is taken and ``replace`` is
        False."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {schema.FOLLOWER_ID: items.s(config.id)},
            "UpdateExpression": "SET #config = :config, venue = :venue, enabled = :enabled, updated_ms = :now",
            "ExpressionAttributeNames": {"#config": schema.CONFIG},
            "ExpressionAttributeValues": {
                ":config": items.s(config_json(config)),
                ":venue": items.s(config.venue.value),
                ":enabled": items.boolean(config.enabled),
                ":now": items.n(self._clock_ms()),
            },
        }
        if secret_id:
            request["UpdateExpression"] += ", secret_id = :secret"
            request["ExpressionAttributeValues"][":secret"] = items.s(secret_id)
        if not replace:
            request["ConditionExpression"] = "attribute_not_exists(#config)"
        try:
            self._db.update_item(**request)
        except ClientError as exc:
            if is_condition_failure(exc):
                raise FollowerExistsError(config.id) from None
            raise store_error("register follower (UpdateItem)", self.table_name, exc) from exc
        except BotoCoreError as exc:
            raise store_error("register follower (UpdateItem)", self.table_name, exc) from exc

    def get(self, follower_id: str) -> RegisteredFollower | None:
        item = self._reads.get(self.table_name, {schema.FOLLOWER_ID: items.s(follower_id)})
        return None if item is None or schema.CONFIG not in item else self._from_item(item)

    def require(self, follower_id: str) -> RegisteredFollower:
        found = self.get(follower_id)
        if found is None:
            raise FollowerNotRegisteredError(follower_id)
        return found

    def list_followers(self, *, copying_only: bool = False) -> list[RegisteredFollower]:
        """Every registered follower sorted by id; ``copying_only``: enabled and not paused."""
        found = [
            self._from_item(item)
            for item in self._reads.scan(self.table_name, {"ConsistentRead": True})
            if schema.CONFIG in item
        ]
        if copying_only:
            found = [follower for follower in found if follower.copying]
        return sorted(found, key=lambda follower: follower.follower_id)

    def pause(self, follower_id: str) -> None:
        """Stop new copies from the follower's next job on (closes and reductions still go through)."""
        self._set_paused(follower_id, True)

    def resume(self, follower_id: str) -> None:
        self._set_paused(follower_id, False)

    def remove(self, follower_id: str) -> RegisteredFollower:
        """Delete the follower (config and pause flag); returns what was removed. Its open positions stay open."""
        try:
            answer = self._db.delete_item(
                TableName=self.table_name,
                Key={schema.FOLLOWER_ID: items.s(follower_id)},
                ConditionExpression="attribute_exists(#config)",
                ExpressionAttributeNames={"#config": schema.CONFIG},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise FollowerNotRegisteredError(follower_id) from None
            raise store_error("remove follower (DeleteItem)", self.table_name, exc) from exc
        except BotoCoreError as exc:
            raise store_error("remove follower (DeleteItem)", self.table_name, exc) from exc
        return self._from_item(answer["Attributes"])

    def _set_paused(self, follower_id: str, paused: bool) -> None:
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key={schema.FOLLOWER_ID: items.s(follower_id)},
                UpdateExpression="SET #paused = :paused, paused_updated_ms = :now",
                ConditionExpression="attribute_exists(#config)",
                ExpressionAttributeNames={"#paused": schema.PAUSED, "#config": schema.CONFIG},
                ExpressionAttributeValues={":paused": items.boolean(paused), ":now": items.n(self._clock_ms())},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise FollowerNotRegisteredError(follower_id) from None
            raise store_error("pause/resume follower (UpdateItem)", self.table_name, exc) from exc
        except BotoCoreError as exc:
            raise store_error("pause/resume follower (UpdateItem)", self.table_name, exc) from exc

    @staticmethod
    def _from_item(item: dict[str, Any]) -> RegisteredFollower:
        follower_id = items.read_s(item, schema.FOLLOWER_ID)
        return RegisteredFollower(
            config=config_from_json(follower_id, items.read_s(item, schema.CONFIG)),
            paused=items.read_bool(item, schema.PAUSED),
            updated_ms=items.read_int(item, "updated_ms"),
            secret_id=items.read_s(item, "secret_id") if "secret_id" in item else None,
        )
