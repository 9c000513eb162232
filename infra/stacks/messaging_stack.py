"""The two SQS FIFO queues of the copy path, each with its dead-letter queue.

- master changes: the listener -> the dispatcher. MessageGroupId = the master leg, so the changes of one leg are
  delivered in order while different legs (and masters) flow in parallel.
- follower orders: the dispatcher -> the executor. MessageGroupId = the follower, so one follower's orders stay in
  order while all followers run in parallel.

Visibility timeout = twice the consumer's function timeout. AWS advises six times for Lambda event sources so a
batch that was throttled is not redelivered while an earlier attempt may still run; here the event source's maximum
concurrency never exceeds the function's reserved concurrency (prod), so the mapping cannot be throttled, and a
shorter timeout matters more: a failed item is retried only when its visibility expires, so 2x keeps a follower's
retry within a couple of minutes instead of ten. maxReceiveCount 5: transient exchange or network failures get
five attempts; after that a human looks at the DLQ (it alarms).
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.constructs.fifo_queue import FifoQueueProps, FifoQueueWithDlq
from infra.function_settings import DISPATCHER_TIMEOUT, EXECUTOR_TIMEOUT
from infra.stacks.base import CopyTraderStack

VISIBILITY_FACTOR = 2
MAX_RECEIVE_COUNT = 5


class MessagingStack(CopyTraderStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config, description="SQS FIFO queues and dead-letter queues")
        self.master_changes = FifoQueueWithDlq(
            self,
            contract.MASTER_CHANGES.logical_id,
            props=FifoQueueProps(
                spec=contract.MASTER_CHANGES,
                env_name=config.name,
                visibility_timeout=_visibility(DISPATCHER_TIMEOUT),
                max_receive_count=MAX_RECEIVE_COUNT,
            ),
        )
        self.follower_orders = FifoQueueWithDlq(
            self,
            contract.FOLLOWER_ORDERS.logical_id,
            props=FifoQueueProps(
                spec=contract.FOLLOWER_ORDERS,
                env_name=config.name,
                visibility_timeout=_visibility(EXECUTOR_TIMEOUT),
                max_receive_count=MAX_RECEIVE_COUNT,
            ),
        )

    @property
    def queues(self) -> tuple[FifoQueueWithDlq, ...]:
        return (self.master_changes, self.follower_orders)


def _visibility(function_timeout: Duration) -> Duration:
    return Duration.seconds(function_timeout.to_seconds() * VISIBILITY_FACTOR)
