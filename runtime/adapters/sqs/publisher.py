"""Send JSON messages to one SQS FIFO queue, in batches of ten, retrying failed entries a bounded number of times.

Nothing is dropped silently: ``publish_batch`` returns a report with every message that could not be sent (and logs
each one); ``publish`` raises ``PublishError``. A failed entry is retried only when the fault is the service's
(throttling, internal error, network) and never beyond ``max_attempts``; an entry SQS refuses as malformed is
reported at once, as retrying would fail the same way.

Order within a message group survives retries: one request carries at most one message per group, and a group's
next message is sent only after the one before it went through (or was given up and reported). SQS keeps the order
of a group's messages as they arrive, so a retried message can never land behind a later one of its group.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime.adapters.sqs.messages import OutgoingMessage, encode

log = logging.getLogger(__name__)

BATCH_LIMIT = 10  # SQS SendMessageBatch takes at most 10 entries
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 2.0
# Whole-request failures worth another try: the service's own faults and throttling (botocore has already retried
# these a few times; this gives the queue a little longer before a message is reported as not sent).
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "RequestThrottled",
        "Throttling",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "KmsThrottled",
        "RequestTimeout",
    }
)


class PublishError(Exception):
    """A message could not be sent after the allowed attempts; the message says why and what to check."""

    def __init__(self, failures: Sequence[PublishFailure], queue_url: str) -> None:
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(
            f"could not send message {first.message.dedup_id!r} to {queue_url} after {first.attempts} attempt(s): "
            f"{first.code}: {first.detail}{more}; check the queue URL, the role's sqs:SendMessage permission and "
            "the queue's KMS key"
        )
        self.failures = tuple(failures)


@dataclass(frozen=True)
class PublishFailure:
    message: OutgoingMessage
    code: str
    detail: str
    attempts: int
    retryable: bool  # the last failure was the service's fault (it gave up after the bounded retries)


@dataclass(frozen=True)
class SentMessage:
    message: OutgoingMessage
    message_id: str
    attempts: int


@dataclass(frozen=True)
class PublishReport:
    """Every message of the call, sent or failed, in the order each finished."""

    sent: tuple[SentMessage, ...]
    failed: tuple[PublishFailure, ...]
    requests: int  # SendMessageBatch calls made

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self, queue_url: str) -> None:
        if self.failed:
            raise PublishError(self.failed, queue_url)


@dataclass
class _Pending:
    message: OutgoingMessage
    attempts: int = 0
    finished: bool = False  # sent, or given up and reported


class SqsFifoPublisher:
    """Publisher for the FIFO queue at ``queue_url``; ``client`` is a boto3 SQS client (thread-safe)."""

    def __init__(
        self,
        queue_url: str,
        client: Any,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_s: float = DEFAULT_BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not queue_url.endswith(".fifo"):
            raise ValueError(f"{queue_url} is not a FIFO queue (its name must end in .fifo): check the *_QUEUE_URL")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.queue_url = queue_url
        self._sqs = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._sleep = sleep

    def publish(self, body: dict[str, Any], group_id: str, dedup_id: str) -> str:
        """Send one message; returns its SQS message id. Raises ``PublishError`` when it could not be sent."""
        return self.publish_message(OutgoingMessage(body, group_id, dedup_id))

    def publish_message(self, message: OutgoingMessage) -> str:
        report = self.publish_batch([message])
        report.raise_for_failures(self.queue_url)
        return report.sent[0].message_id

    def publish_batch(self, messages: Sequence[OutgoingMessage]) -> PublishReport:
        """Send every message (ten per request); the report lists what was sent and what failed."""
        groups: OrderedDict[str, deque[_Pending]] = OrderedDict()
        for message in messages:
            groups.setdefault(message.group_id, deque()).append(_Pending(message))
        sent: list[SentMessage] = []
        failed: list[PublishFailure] = []
        requests = 0
        while groups:
            heads = [queue[0] for queue in groups.values()]
            for start in range(0, len(heads), BATCH_LIMIT):
                batch = heads[start : start + BATCH_LIMIT]
                requests += 1
                self._send(batch, sent, failed)
            for queue in groups.values():
                if queue[0].finished:
                    queue.popleft()
            groups = OrderedDict((group, queue) for group, queue in groups.items() if queue)
            retried = max((queue[0].attempts for queue in groups.values()), default=0)
            if retried:  # a head that was tried already failed: back off by its own count of tries
                self._sleep(min(self._backoff_s * 2 ** (retried - 1), _MAX_BACKOFF_S))
        return PublishReport(tuple(sent), tuple(failed), requests)

    def _send(self, batch: list[_Pending], sent: list[SentMessage], failed: list[PublishFailure]) -> None:
        entries = [
            {
                "Id": str(index),
                "MessageBody": encode(pending.message.body),
                "MessageGroupId": pending.message.group_id,
                "MessageDeduplicationId": pending.message.dedup_id,
            }
            for index, pending in enumerate(batch)
        ]
        for pending in batch:
            pending.attempts += 1
        try:
            answer = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            for pending in batch:
                self._failed(pending, code, str(exc), code in _RETRYABLE_CODES or status >= 500, failed)
            return
        except BotoCoreError as exc:  # network: the request may or may not have arrived; the dedup id covers a resend
            for pending in batch:
                self._failed(pending, type(exc).__name__, str(exc), True, failed)
            return
        for entry in answer.get("Successful", []):
            pending = batch[int(entry["Id"])]
            pending.finished = True
            sent.append(SentMessage(pending.message, str(entry["MessageId"]), pending.attempts))
        for entry in answer.get("Failed", []):
            pending = batch[int(entry["Id"])]
            retryable = not entry.get("SenderFault", False)
            self._failed(pending, str(entry.get("Code", "")), str(entry.get("Message", "")), retryable, failed)

    def _failed(self, pending: _Pending, code: str, detail: str, retryable: bool, failed: list[PublishFailure]) -> None:
        if retryable and pending.attempts < self._max_attempts:
            return  # stays at the head of its group for the next wave
        pending.finished = True
        failure = PublishFailure(pending.message, code, detail, pending.attempts, retryable)
        failed.append(failure)
        log.error(
            "SQS message not sent: queue=%s group=%s dedup=%s attempts=%d code=%s detail=%s",
            self.queue_url,
            pending.message.group_id,
            pending.message.dedup_id,
            pending.attempts,
            code,
            detail,
        )
