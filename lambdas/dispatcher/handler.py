"""Dispatcher Lambda: SQS ``master-changes.fifo`` batch -> for each master change, the snapshot check and one
``follower-orders.fifo`` message per enabled follower (group = follower, dedup id per ``runtime.adapters.sqs``).

A record that fails (a body this version cannot read, a job that could not be sent) is reported in
``batchItemFailures``, together with the later records of its master leg, so SQS redelivers them in order while
the other legs of the batch go through.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from runtime.adapters.sqs.messages import decode_master_change
from runtime.hosts import aws_names as names
from runtime.hosts.aws import current_services
from runtime.hosts.aws_batch import fifo_processor, message_age_ms
from runtime.hosts.aws_observability import LambdaEntry

entry = LambdaEntry("copytrader-dispatcher")


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    fan_out = current_services().fan_out()

    def record_handler(record: SQSRecord) -> None:
        age = message_age_ms(record)
        if age is not None:
            entry.metrics.latency(names.Hop.LISTENER_TO_DISPATCHER, age)
        fan_out.fan_out(decode_master_change(record.body))

    return dict(process_partial_response(event, record_handler, fifo_processor(), context))


handler = entry.handler(_work)
