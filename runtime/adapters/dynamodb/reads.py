"""The DynamoDB client the store and the registry share, and the reads they make: strongly consistent single
items, every page of a query or scan, and batch reads that retry what DynamoDB left unprocessed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.config import Config

from runtime.adapters.dynamodb.errors import call, translated
from runtime.ports.store import StoreError

Item = dict[str, Any]
BATCH_GET_LIMIT = 100  # keys per BatchGetItem
_UNPROCESSED_RETRIES = 8
# Enough pooled HTTP connections for the thread fan-out of one process (urllib3 discards extras with a warning).
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)


def dynamodb_client(*, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A DynamoDB client with the store's retry and pool settings. Builds no connection until the first call."""
    import boto3

    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG)


class TableReads:
    """Reads through ``client`` (a boto3 DynamoDB client); every failure is a ``StoreError`` naming the table."""

    def __init__(self, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._db = client
        self._sleep = sleep

    def get(self, table: str, key: Item, *, projection: str | None = None) -> Item | None:
        request: Item = {"TableName": table, "Key": key, "ConsistentRead": True}
        if projection is not None:
            request.update(ProjectionExpression="#p", ExpressionAttributeNames={"#p": projection})
        answer = call("GetItem", table, self._db.get_item, **request)
        item: Item | None = answer.get("Item")
        return item

    def query(self, table: str, request: Item) -> Iterator[Item]:
        yield from self._pages("Query", table, self._db.query, request)

    def scan(self, table: str, request: Item) -> Iterator[Item]:
        yield from self._pages("Scan", table, self._db.scan, request)

    def batch_get(self, table: str, keys: list[Item]) -> list[Item]:
        """The items of ``keys`` that exist (consistent reads, any order)."""
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: Item = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            for attempt in range(_UNPROCESSED_RETRIES):
                answer = call("BatchGetItem", table, self._db.batch_get_item, RequestItems=request)
                found.extend(answer.get("Responses", {}).get(table, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 1.0))
            if request:
                raise StoreError(
                    f"DynamoDB left {len(request[table]['Keys'])} reads of table {table!r} unprocessed after "
                    f"{_UNPROCESSED_RETRIES} tries (throttling): retry later or check the table's capacity"
                )
        return found

    @staticmethod
    def _pages(action: str, table: str, operation: Callable[..., Item], request: Item) -> Iterator[Item]:
        start_key: Item | None = None
        while True:
            page_request = dict(request, TableName=table)
            if start_key is not None:
                page_request["ExclusiveStartKey"] = start_key
            with translated(action, table):
                answer = operation(**page_request)
            yield from answer.get("Items", [])
            start_key = answer.get("LastEvaluatedKey")
            if start_key is None:
                return
