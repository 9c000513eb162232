"""The runtime's table schema equals the CDK's (infra/contract.py), and create_tables builds exactly that schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import contract
from runtime.adapters.dynamodb import schema
from runtime.adapters.dynamodb.schema import MissingTableNameError, TableNames
from runtime.adapters.dynamodb.tables import create_tables
from tests.integration.aws.local_aws import LocalAws, local_aws


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws() as server:
        yield server


def _key(key: contract.Key | None) -> tuple[str, str] | None:
    return None if key is None else (key.name, key.type.value)


def _schema_key(key: schema.KeyAttribute | None) -> tuple[str, str] | None:
    return None if key is None else (key.name, key.type.value)


@pytest.mark.parametrize("pair", list(zip(schema.TABLES, contract.TABLES, strict=True)), ids=lambda p: p[0].suffix)
def test_each_table_matches_the_cdk_contract(pair: tuple[schema.TableSchema, contract.TableSpec]) -> None:
    runtime_table, cdk_table = pair
    assert runtime_table.logical_id == cdk_table.logical_id
    assert runtime_table.suffix == cdk_table.suffix
    assert runtime_table.env_var == cdk_table.env_var
    assert _schema_key(runtime_table.partition_key) == _key(cdk_table.partition_key)
    assert _schema_key(runtime_table.sort_key) == _key(cdk_table.sort_key)
    assert runtime_table.ttl_attribute == cdk_table.ttl_attribute
    assert [(i.name, _schema_key(i.partition_key), _schema_key(i.sort_key)) for i in runtime_table.indexes] == [
        (i.name, _key(i.partition_key), _key(i.sort_key)) for i in cdk_table.indexes
    ]


def test_physical_names_match_the_stacks() -> None:
    names = TableNames.from_prefix(contract.resource_prefix("prod"))
    assert names.as_env() == {spec.env_var: spec.table_name("prod") for spec in contract.TABLES}


def test_table_names_from_the_environment() -> None:
    env = TableNames.from_prefix("copytrader-dev").as_env()
    assert TableNames.from_env(env) == TableNames.from_prefix("copytrader-dev")
    del env["ORDER_LOG_TABLE"], env["CLAIMS_TABLE"]
    with pytest.raises(MissingTableNameError, match="CLAIMS_TABLE, ORDER_LOG_TABLE not set"):
        TableNames.from_env(env)


def test_create_tables_builds_the_schema_and_is_idempotent(aws: LocalAws) -> None:
    client = aws.client("dynamodb")
    names = TableNames.from_prefix("schema-check")
    assert len(create_tables(client, names)) == 6
    for table in schema.TABLES:
        described = client.describe_table(TableName=names.name_of(table))["Table"]
        assert [key["AttributeName"] for key in described["KeySchema"]] == list(table.key_names)
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        indexes = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
        assert indexes == {index.name for index in table.indexes}
        ttl = client.describe_time_to_live(TableName=names.name_of(table))["TimeToLiveDescription"]
        if table.ttl_attribute is None:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
        else:
            assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == table.ttl_attribute
    assert create_tables(client, names) == []
