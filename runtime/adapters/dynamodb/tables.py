"""Create the tables of ``schema.py`` (for tests and the local AWS host; in an AWS account the CDK data stack
creates them with the same keys, plus encryption, point-in-time recovery and retention)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime.adapters.dynamodb import schema
from runtime.adapters.dynamodb.errors import error_code, store_error
from runtime.adapters.dynamodb.schema import KeyAttribute, TableNames, TableSchema


def _key_schema(partition: KeyAttribute, sort: KeyAttribute | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        keys.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return keys


def create_table_request(table: TableSchema, name: str) -> dict[str, Any]:
    """The ``CreateTable`` request for one table (on-demand billing, every index projecting all attributes)."""
    attributes = {table.partition_key.name: table.partition_key}
    if table.sort_key is not None:
        attributes[table.sort_key.name] = table.sort_key
    for index in table.indexes:
        attributes[index.partition_key.name] = index.partition_key
        if index.sort_key is not None:
            attributes[index.sort_key.name] = index.sort_key
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(table.partition_key, table.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": key.name, "AttributeType": key.type.value} for key in attributes.values()
        ],
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    return request


def create_tables(client: Any, names: TableNames) -> list[str]:
    """Create every table that does not exist yet, wait until each is active and turn on TTL where the schema has
    it. Returns the names of the tables created (an existing table is left as it is)."""
    created: list[str] = []
    for table in schema.TABLES:
        name = names.name_of(table)
        try:
            client.create_table(**create_table_request(table, name))
        except ClientError as exc:
            if error_code(exc) == "ResourceInUseException":
                continue
            raise store_error("CreateTable", name, exc) from exc
        created.append(name)
    for table in schema.TABLES:
        name = names.name_of(table)
        if name not in created:
            continue
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if table.ttl_attribute is not None:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    return created


def delete_tables(client: Any, names: TableNames) -> None:
    """Delete every table that exists (tests and the local AWS host only)."""
    for table in schema.TABLES:
        try:
            client.delete_table(TableName=names.name_of(table))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise store_error("DeleteTable", names.name_of(table), exc) from exc
