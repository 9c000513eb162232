"""SQS: two FIFO queues with high-throughput settings, encrypted, TLS-only, each redriving to its own FIFO DLQ."""

from __future__ import annotations

from typing import Any

import pytest

from infra import contract
from infra.contract import QueueSpec
from tests.infrastructure.synth import Synthesized


def _queues(synth: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        q["Properties"]["QueueName"]: (logical_id, q["Properties"])
        for logical_id, q in synth.resources("messaging", "AWS::SQS::Queue").items()
    }


def test_two_queues_and_two_dead_letter_queues(dev: Synthesized) -> None:
    assert set(_queues(dev)) == {
        "copytrader-dev-master-changes.fifo",
        "copytrader-dev-master-changes-dlq.fifo",
        "copytrader-dev-follower-orders.fifo",
        "copytrader-dev-follower-orders-dlq.fifo",
    }


@pytest.mark.parametrize("spec", contract.QUEUES, ids=lambda spec: spec.suffix)
def test_fifo_high_throughput_with_explicit_dedup_ids(dev: Synthesized, spec: QueueSpec) -> None:
    _, props = _queues(dev)[spec.queue_name("dev")]
    assert props["FifoQueue"] is True
    assert props["ContentBasedDeduplication"] is False  # producers set leg + seq as the dedup id
    assert props["DeduplicationScope"] == "messageGroup"
    assert props["FifoThroughputLimit"] == "perMessageGroupId"


@pytest.mark.parametrize("spec", contract.QUEUES, ids=lambda spec: spec.suffix)
def test_redrive_to_its_own_fifo_dead_letter_queue(dev: Synthesized, spec: QueueSpec) -> None:
    queues = _queues(dev)
    dlq_logical_id, dlq = queues[spec.dead_letter_queue_name("dev")]
    _, props = queues[spec.queue_name("dev")]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_logical_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dlq["FifoQueue"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_queue_is_encrypted_and_refuses_plain_http(dev: Synthesized) -> None:
    queues = dev.resources("messaging", "AWS::SQS::Queue")
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    denied = set()
    for policy in dev.resources("messaging", "AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                denied.add(statement["Resource"]["Fn::GetAtt"][0])
    assert denied == set(queues)


@pytest.mark.parametrize(
    ("spec", "function"), [(contract.MASTER_CHANGES, "dispatcher"), (contract.FOLLOWER_ORDERS, "executor")]
)
def test_visibility_timeout_is_twice_the_consumer_timeout(dev: Synthesized, spec: QueueSpec, function: str) -> None:
    _, props = _queues(dev)[spec.queue_name("dev")]
    consumer = next(
        f["Properties"]
        for f in dev.resources("compute", "AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == f"copytrader-dev-{function}"
    )
    assert props["VisibilityTimeout"] == 2 * consumer["Timeout"]
