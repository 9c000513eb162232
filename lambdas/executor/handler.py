"""Executor Lambda: SQS ``follower-orders.fifo`` batch -> ``FollowerExecutor.execute`` per follower job.

``SqsFifoPartialProcessor(skip_group_on_error=True)``: a job that must be retried fails only the later jobs of the
same follower; other followers' jobs in the batch go through. Which outcomes are retried and which are recorded
and done is decided in ``runtime.hosts.aws_execute``. Alerts raised by the batch are delivered before returning.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from runtime.adapters.sqs.messages import decode_follower_job
from runtime.hosts import aws_names as names
from runtime.hosts.aws import current_services
from runtime.hosts.aws_batch import fifo_processor, message_age_ms
from runtime.hosts.aws_execute import handle_job
from runtime.hosts.aws_observability import LambdaEntry

entry = LambdaEntry("copytrader-executor")


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = current_services()

    def record_handler(record: SQSRecord) -> None:
        age = message_age_ms(record)
        if age is not None:
            entry.metrics.latency(names.Hop.DISPATCHER_TO_EXECUTOR, age)
        services.run(handle_job(services, decode_follower_job(record.body), entry.metrics))

    try:
        return dict(process_partial_response(event, record_handler, fifo_processor(), context))
    finally:
        services.run(services.flush_alerts())


handler = entry.handler(_work)
