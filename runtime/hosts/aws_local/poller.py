"""The SQS event source mapping, played locally: receive a batch, invoke the handler with the event AWS would build,
delete what succeeded, leave what failed for redelivery.

What AWS Lambda does for an SQS event source with ``ReportBatchItemFailures`` (and what this class does):
- ``ReceiveMessage`` with up to ``batch_size`` messages and every system attribute; the event is
  ``{"Records": [...]}`` with ``messageId``, ``receiptHandle``, ``body``, ``attributes`` (``ApproximateReceiveCount``,
  ``SentTimestamp``, ``MessageGroupId``, ``MessageDeduplicationId``, ``SequenceNumber``, ...),
  ``messageAttributes``, ``md5OfBody``, ``eventSource`` = ``aws:sqs``, ``eventSourceARN`` and ``awsRegion``.
- The response ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}``: every other record is deleted; the
  failed ones stay in flight and come back when their visibility timeout expires. An empty or missing list means
  the whole batch succeeded.
- The function raised, or its response names an id that is not in the batch (or no id at all): the whole batch
  failed and nothing is deleted.
- After ``maxReceiveCount`` receives the queue's redrive policy moves a message to its dead-letter queue (the queue
  does that on the next receive; moto too).
- Up to ``concurrency`` invocations run at once (the mapping's maximum concurrency); a FIFO queue never hands out
  two messages of one group at a time, so a group's messages are processed in order.

Handlers are synchronous (as on Lambda), so each invocation runs in a worker thread. ``failed_visibility_s`` (off by
default) shortens the wait before a failed record comes back: tests set 0 for an immediate redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.hosts.aws_local.lambda_context import LambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class PollerSettings:
    function_name: str
    batch_size: int = 10
    concurrency: int = 1
    function_timeout_s: float = 60.0
    idle_sleep_s: float = 0.02  # between empty receives (no long polling: moto's spins while a group is locked)
    failed_visibility_s: int | None = None  # None: failed records wait for the queue's visibility timeout
    stop_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10:
            raise ValueError(f"batch_size must be 1..10 (the FIFO event source maximum), got {self.batch_size}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")


@dataclass(frozen=True)
class Invocation:
    """One handler invocation: the records it got, the ones that failed, and the function error if any."""

    message_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]
    error: str = ""

    @property
    def succeeded_ids(self) -> tuple[str, ...]:
        return tuple(mid for mid in self.message_ids if mid not in self.failed_ids)


@dataclass
class PollerStats:
    invocations: int = 0
    records: int = 0
    deleted: int = 0
    failed: int = 0
    function_errors: int = 0
    history: list[Invocation] = field(default_factory=list)


class SqsEventSourcePoller:
    """Feeds ``handler`` from the queue at ``queue_url`` (``queue_arn`` goes into each record)."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        settings: PollerSettings,
        *,
        region: str = "us-east-1",
        context_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._handler = handler
        self.settings = settings
        self._region = region
        self._context_factory = context_factory or self._default_context
        self.stats = PollerStats()
        self._in_flight = 0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        name = self.settings.function_name
        self._tasks = [
            asyncio.create_task(self._work_loop(), name=f"sqs-poller:{name}:{index}")
            for index in range(self.settings.concurrency)
        ]

    async def stop(self) -> None:
        """No new receives; invocations under way finish (bounded by ``stop_timeout_s``: a thread cannot be killed,
        an unfinished one's messages simply come back after their visibility timeout, as on AWS)."""
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.settings.stop_timeout_s)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def in_flight(self) -> int:
        """Messages received and not yet deleted or released by this poller."""
        return self._in_flight

    def is_idle(self) -> bool:
        return self._in_flight == 0

    # --- one batch -----------------------------------------------------------------------------------------------

    async def poll_once(self) -> Invocation | None:
        """Receive one batch and invoke the handler with it; None when the queue had nothing to hand out."""
        messages = await asyncio.to_thread(self._receive)
        if not messages:
            return None
        self._in_flight += len(messages)
        try:
            return await self._invoke(messages)
        finally:
            self._in_flight -= len(messages)

    async def _work_loop(self) -> None:
        while not self._stopping:
            try:
                invocation = await self.poll_once()
            except Exception:  # the queue itself failed (moto stopped?): log, back off, keep the loop alive
                log.exception("%s: polling %s failed", self.settings.function_name, self.queue_url)
                await asyncio.sleep(0.5)
                continue
            if invocation is None:
                await asyncio.sleep(self.settings.idle_sleep_s)

    def _receive(self) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.settings.batch_size,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(answer.get("Messages", []))

    async def _invoke(self, messages: list[dict[str, Any]]) -> Invocation:
        event = sqs_event(messages, self.queue_arn, self._region)
        ids = tuple(str(message["MessageId"]) for message in messages)
        self.stats.invocations += 1
        self.stats.records += len(ids)
        try:
            response = await asyncio.to_thread(self._handler, event, self._context_factory())
            failed, error = failed_item_ids(response, ids)
        except Exception as exc:  # a function error fails the whole batch, as on AWS
            log.exception("%s: the handler raised; the batch of %d stays for redelivery", self.name, len(ids))
            failed, error = ids, f"{type(exc).__name__}: {exc}"
        if error:
            self.stats.function_errors += 1
        invocation = Invocation(ids, failed, error)
        receipts = {str(message["MessageId"]): str(message["ReceiptHandle"]) for message in messages}
        await asyncio.to_thread(self._settle, invocation, receipts)
        self.stats.history.append(invocation)
        return invocation

    def _settle(self, invocation: Invocation, receipts: Mapping[str, str]) -> None:
        done = [{"Id": str(i), "ReceiptHandle": receipts[mid]} for i, mid in enumerate(invocation.succeeded_ids)]
        if done:
            answer = self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
            self.stats.deleted += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):
                log.error("%s: could not delete a processed message: %s", self.name, failure)
        self.stats.failed += len(invocation.failed_ids)
        if invocation.failed_ids and self.settings.failed_visibility_s is not None:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": receipts[mid],
                        "VisibilityTimeout": self.settings.failed_visibility_s,
                    }
                    for i, mid in enumerate(invocation.failed_ids)
                ],
            )

    @property
    def name(self) -> str:
        return self.settings.function_name

    def _default_context(self) -> LambdaContext:
        return LambdaContext(self.settings.function_name, self.settings.function_timeout_s, region=self._region)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda event for a batch of ``ReceiveMessage`` results (the shape AWS documents for SQS)."""
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    body = str(message["Body"])
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {str(key): str(value) for key, value in message.get("Attributes", {}).items()},
        "messageAttributes": {
            str(name): _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's ``StringValue``/``DataType`` as Lambda's camel-cased ``stringValue``/``dataType``."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = value["BinaryValue"]
    return attribute


def failed_item_ids(response: Any, batch_ids: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """(the ids to leave for redelivery, an error text when the response fails the whole batch)."""
    if response is None:
        return (), ""
    if not isinstance(response, Mapping):
        return (), ""  # a handler without partial batch responses: success means the whole batch
    failures = response.get("batchItemFailures")
    if not failures:
        return (), ""
    failed: list[str] = []
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not item or item not in batch_ids:
            # AWS treats an empty or unknown identifier as a failure of the whole batch.
            return batch_ids, f"invalid batchItemFailures entry {failure!r}: the whole batch is retried"
        if item not in failed:
            failed.append(str(item))
    return tuple(failed), ""
