"""An SQS FIFO queue with its FIFO dead-letter queue, redrive, encryption at rest and in transit, and the
high-throughput FIFO settings.

High throughput = deduplication per message group + throughput limit per message group: each group (one master leg,
or one follower) gets its own quota, so one busy group never slows another. Content-based deduplication is off:
the producers set an explicit MessageDeduplicationId (leg + seq), so two listeners for one master, or a retried
send, collapse into one message while it is within SQS's 5-minute window. Correctness never depends on that window:
the executor is level-triggered and claims every client order id before placing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.contract import QueueSpec

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time for an operator to inspect and redrive


@dataclass(frozen=True)
class FifoQueueProps:
    spec: QueueSpec
    env_name: str
    visibility_timeout: Duration
    max_receive_count: int
    retention_days: int = 4  # SQS default; stale master changes are harmless (the executor is level-triggered)


class FifoQueueWithDlq(Construct):
    """``queue`` is what producers and the consumer use; ``dead_letter_queue`` receives a message after
    ``max_receive_count`` failed receives and is what the DLQ alarm watches."""

    def __init__(self, scope: Construct, construct_id: str, *, props: FifoQueueProps) -> None:
        super().__init__(scope, construct_id)
        self.spec = props.spec
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=props.spec.dead_letter_queue_name(props.env_name),
            fifo=True,
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=props.spec.queue_name(props.env_name),
            fifo=True,
            content_based_deduplication=False,
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            visibility_timeout=props.visibility_timeout,
            retention_period=Duration.days(props.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=props.max_receive_count
            ),
            removal_policy=RemovalPolicy.DESTROY,  # in-flight messages only; the state lives in DynamoDB
        )
