"""Least privilege, read from the synthesized policies: no wildcard action anywhere, wildcard resources only where
AWS offers no resource-level permission, and each identity gets exactly its own tables, queues, topic and secrets.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.synth import Synthesized, dynamodb_grants, grants, resources_for

READ = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem"}
READ_WRITE = READ | {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
INDEX = {"dynamodb:Query", "dynamodb:Scan"}
CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}

DISPATCHER, EXECUTOR, AUDIT = "copytrader-dev-dispatcher", "copytrader-dev-executor", "copytrader-dev-audit"
LISTENER_TASK, LISTENER_EXECUTION = "copytrader-dev-listener-main:task", "copytrader-dev-listener-main:execution"
NOTIFIER = "copytrader-dev-notifier"


def _t(name: str) -> str:
    return f"table:copytrader-dev-{name}"


def _q(name: str) -> str:
    return f"queue:copytrader-dev-{name}"


EXPECTED_TABLES: dict[str, dict[str, set[str]]] = {
    DISPATCHER: {_t("followers"): READ, _t("master-state"): READ},
    EXECUTOR: {
        _t("claims"): READ_WRITE,
        _t("claims") + "/index/unfinished-by-created": INDEX,
        _t("ratios"): READ_WRITE,
        _t("master-state"): READ,
        _t("followers"): READ,
        _t("order-log"): {"dynamodb:PutItem"},
    },
    AUDIT: {
        _t("master-state"): READ,
        _t("ratios"): READ,
        _t("followers"): READ,
        _t("claims"): READ,
        _t("claims") + "/index/unfinished-by-created": INDEX,
        _t("alert-state"): READ_WRITE,
    },
    LISTENER_TASK: {_t("master-state"): READ_WRITE},
}
EXPECTED_QUEUES: dict[str, dict[str, set[str]]] = {
    DISPATCHER: {_q("master-changes.fifo"): CONSUME, _q("follower-orders.fifo"): SEND},
    EXECUTOR: {_q("follower-orders.fifo"): CONSUME},
    AUDIT: {_q("follower-orders.fifo"): SEND},
    LISTENER_TASK: {_q("master-changes.fifo"): SEND},
    NOTIFIER: {_q("notifier-failures"): SEND},
}
FOLLOWER_SECRETS = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:copytrader/dev/followers/*"
)
EXPECTED_SECRETS: dict[str, set[str]] = {
    EXECUTOR: {FOLLOWER_SECRETS},
    AUDIT: {FOLLOWER_SECRETS},
    LISTENER_EXECUTION: {"secret:copytrader/dev/master/main"},
    NOTIFIER: {"secret:copytrader/dev/alerts/telegram", "secret:copytrader/dev/alerts/twilio"},
}
UNSCOPABLE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken"}


@pytest.fixture(scope="module")
def by_owner(dev: Synthesized) -> dict[str, set[tuple[str, str]]]:
    merged: dict[str, set[tuple[str, str]]] = {}
    for part in ("compute", "alerting", "monitoring", "data", "messaging", "secrets"):
        for owner, allowed in grants(dev, part).items():
            merged.setdefault(owner, set()).update(allowed)
    return merged


def _policy_documents(synth: Synthesized) -> list[dict[str, Any]]:
    documents = []
    for template in synth.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(resource["Properties"]["PolicyDocument"])
            if resource["Type"] == "AWS::IAM::Role":
                documents.extend(p["PolicyDocument"] for p in resource["Properties"].get("Policies", []))
    return documents


def test_no_identity_policy_has_a_wildcard_action(dev: Synthesized) -> None:
    documents = _policy_documents(dev)
    assert documents
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], statement


def test_no_role_uses_a_managed_policy(dev: Synthesized) -> None:
    for template in dev.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in resource["Properties"], resource


def test_wildcard_resources_only_for_actions_without_resource_permissions(
    by_owner: dict[str, set[tuple[str, str]]],
) -> None:
    starred = {action for allowed in by_owner.values() for action, resource in allowed if resource == "*"}
    assert starred == UNSCOPABLE_ACTIONS


@pytest.mark.parametrize("owner", [*sorted(EXPECTED_TABLES), NOTIFIER, LISTENER_EXECUTION])
def test_each_identity_gets_exactly_its_tables(by_owner: dict[str, set[tuple[str, str]]], owner: str) -> None:
    assert dynamodb_grants(by_owner[owner]) == EXPECTED_TABLES.get(owner, {})


@pytest.mark.parametrize("owner", [*sorted(EXPECTED_QUEUES), LISTENER_EXECUTION])
def test_each_identity_gets_exactly_its_queues(by_owner: dict[str, set[tuple[str, str]]], owner: str) -> None:
    queues: dict[str, set[str]] = {}
    for action, resource in by_owner[owner]:
        if action.startswith("sqs:"):
            queues.setdefault(resource, set()).add(action)
    expected = EXPECTED_QUEUES.get(owner, {})
    assert set(queues) == set(expected)
    for queue, actions in expected.items():
        assert actions <= queues[queue] <= actions | {"sqs:GetQueueUrl"}, (owner, queue)


@pytest.mark.parametrize("owner", [*sorted(EXPECTED_SECRETS), DISPATCHER, LISTENER_TASK])
def test_each_identity_reads_exactly_its_secrets(by_owner: dict[str, set[tuple[str, str]]], owner: str) -> None:
    assert resources_for(by_owner[owner], "secretsmanager") == EXPECTED_SECRETS.get(owner, set())
    assert {a for a, _ in by_owner[owner] if a.startswith("secretsmanager:")} <= {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }


def test_only_the_engine_publishes_alerts_with_exact_kms_actions(by_owner: dict[str, set[tuple[str, str]]]) -> None:
    publishers = {
        owner for owner, allowed in by_owner.items() if ("sns:Publish", "topic:copytrader-dev-alerts") in allowed
    }
    assert publishers == {EXECUTOR, AUDIT, LISTENER_TASK}
    for owner in publishers:
        kms = {action for action, _ in by_owner[owner] if action.startswith("kms:")}
        assert kms == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert not any(a.startswith("kms:") for a, _ in by_owner[DISPATCHER])


def test_logs_go_only_to_each_identitys_own_log_group(by_owner: dict[str, set[tuple[str, str]]]) -> None:
    for owner in (DISPATCHER, EXECUTOR, AUDIT, NOTIFIER):
        assert resources_for(by_owner[owner], "logs") == {f"loggroup:/aws/lambda/{owner}"}
    assert resources_for(by_owner[LISTENER_EXECUTION], "logs") == {"loggroup:/ecs/copytrader-dev-listener-main"}
