"""DynamoDB: every table of the contract with its keys, encryption, PITR, TTL where it fits, and RETAIN for the
ledgers."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import contract
from infra.contract import TableSpec
from tests.infrastructure.synth import Synthesized


def _table(synth: Synthesized, spec: TableSpec) -> dict[str, Any]:
    name = spec.table_name(synth.config.name)
    matches = [
        t for t in synth.resources("data", "AWS::DynamoDB::Table").values() if t["Properties"]["TableName"] == name
    ]
    assert len(matches) == 1, f"expected one table named {name}"
    return matches[0]


def test_exactly_the_contract_tables_exist(dev: Synthesized) -> None:
    names = {t["Properties"]["TableName"] for t in dev.resources("data", "AWS::DynamoDB::Table").values()}
    assert names == {
        "copytrader-dev-claims",
        "copytrader-dev-master-state",
        "copytrader-dev-ratios",
        "copytrader-dev-alert-state",
        "copytrader-dev-order-log",
        "copytrader-dev-followers",
    }


@pytest.mark.parametrize("spec", contract.TABLES, ids=lambda spec: spec.suffix)
def test_keys_and_indexes_follow_the_contract(dev: Synthesized, spec: TableSpec) -> None:
    props = _table(dev, spec)["Properties"]
    expected_keys = [{"AttributeName": spec.partition_key.name, "KeyType": "HASH"}]
    if spec.sort_key:
        expected_keys.append({"AttributeName": spec.sort_key.name, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys
    indexes = {index["IndexName"]: index for index in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"][0]["AttributeName"] == index.partition_key.name
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}
        if index.sort_key:
            assert indexes[index.name]["KeySchema"][1] == {"AttributeName": index.sort_key.name, "KeyType": "RANGE"}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types[spec.partition_key.name] == spec.partition_key.type.value


@pytest.mark.parametrize("spec", contract.TABLES, ids=lambda spec: spec.suffix)
def test_encrypted_recoverable_on_demand(dev: Synthesized, spec: TableSpec) -> None:
    props = _table(dev, spec)["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True}  # AWS-managed KMS key (aws/dynamodb)
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_ledgers_are_retained_and_alert_state_is_disposable_in_dev(dev: Synthesized) -> None:
    for spec in contract.TABLES:
        table = _table(dev, spec)
        expected = "Retain" if spec.ledger else "Delete"
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == (expected, expected), spec.suffix
    assert not contract.ALERT_STATE.ledger and contract.CLAIMS.ledger and contract.ORDER_LOG.ledger


def test_prod_retains_everything_and_protects_deletion(prod: Synthesized) -> None:
    for spec in contract.TABLES:
        table = _table(prod, spec)
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    prod.assertions("data").resource_count_is("AWS::DynamoDB::Table", len(contract.TABLES))


def test_master_secrets_are_generated_placeholders_one_per_master(dev: Synthesized) -> None:
    template = dev.assertions("secrets")
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "copytrader/dev/master/main",
            "GenerateSecretString": Match.object_like(
                {"GenerateStringKey": "api_secret", "SecretStringTemplate": '{"api_key": "REPLACE_ME"}'}
            ),
        },
    )
    names = {s["Properties"]["Name"] for s in dev.resources("secrets", "AWS::SecretsManager::Secret").values()}
    assert names == {"copytrader/dev/master/main", "copytrader/dev/alerts/telegram", "copytrader/dev/alerts/twilio"}
    secrets = dev.resources("secrets", "AWS::SecretsManager::Secret").values()
    assert all("SecretString" not in s["Properties"] for s in secrets)  # no literal value in the template
