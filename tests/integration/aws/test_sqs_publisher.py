"""The FIFO publisher on a moto server: round trips, group order across batches and retries, bounded retries,
failures reported (never dropped), deduplication while a copy is queued."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from runtime.adapters.sqs.messages import (
    OutgoingMessage,
    decode_follower_job,
    decode_master_change,
    follower_job_message,
    master_change_message,
)
from runtime.adapters.sqs.publisher import PublishError, SqsFifoPublisher
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.values import PositionIdx
from runtime.services.jobs import FollowerJob, JobReason
from tests.integration.aws.local_aws import LocalAws, local_aws

# (code, sender_fault) to fail an entry with, or None to let it through; called with (dedup id, attempt number).
Verdict = Callable[[str, int], tuple[str, bool] | None]


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws() as server:
        yield server


@pytest.fixture
def sqs(aws: LocalAws) -> Any:
    return aws.client("sqs")


@pytest.fixture
def queue_url(sqs: Any) -> str:
    name = f"q{uuid.uuid4().hex[:12]}.fifo"
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"])


class FlakyClient:
    """The real SQS client with chosen batch entries failed the way SQS reports them (in the ``Failed`` list)."""

    def __init__(self, real: Any, verdict: Verdict) -> None:
        self.real = real
        self.verdict = verdict
        self.attempts: Counter[str] = Counter()
        self.requests: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([entry["MessageDeduplicationId"] for entry in Entries])
        passing, failed = [], []
        for entry in Entries:
            dedup = entry["MessageDeduplicationId"]
            self.attempts[dedup] += 1
            verdict = self.verdict(dedup, self.attempts[dedup])
            if verdict is None:
                passing.append(entry)
            else:
                code, sender_fault = verdict
                failed.append({"Id": entry["Id"], "SenderFault": sender_fault, "Code": code, "Message": "injected"})
        answer: dict[str, Any] = {"Successful": []}
        if passing:
            answer = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing)
        answer["Failed"] = answer.get("Failed", []) + failed
        return answer


def message(group: str, number: int) -> OutgoingMessage:
    return OutgoingMessage({"group": group, "n": number}, group, f"{group}-{number}")


def drain(sqs: Any, queue_url: str, expected: int) -> list[dict[str, Any]]:
    """Receive and delete until ``expected`` messages arrived (or the queue stays empty)."""
    received: list[dict[str, Any]] = []
    empty_polls = 0
    while len(received) < expected and empty_polls < 3:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageSystemAttributeNames=["All"]
        )
        batch = answer.get("Messages", [])
        empty_polls = 0 if batch else empty_polls + 1
        for item in batch:
            received.append(item)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=item["ReceiptHandle"])
    return received


def order_by_group(received: list[dict[str, Any]]) -> dict[str, list[int]]:
    import json

    groups: dict[str, list[int]] = defaultdict(list)
    for item in received:
        body = json.loads(item["Body"])
        groups[body["group"]].append(body["n"])
    return dict(groups)


def no_sleep(_: float) -> None:
    return None


def test_master_change_and_follower_job_round_trip_through_the_queue(sqs: Any, queue_url: str) -> None:
    change = MasterPositionChanged(
        master="m1",
        symbol="ETHUSDT",
        position_idx=PositionIdx.ONE_WAY,
        seq=501,
        prev_size=Decimal("0"),
        new_size=Decimal("0.00000001"),
        position_im=Decimal("123456789.123456789"),
        leverage=Decimal("10"),
        entry_price=Decimal("3000.10"),
        lifecycle=Lifecycle("ETHUSDT:0:501", Decimal("123456789.123456789"), Decimal("5000"), 501),
        exec_ids=("x1",),
    )
    job = FollowerJob("alice", "ETHUSDT", PositionIdx.ONE_WAY, 501, JobReason.MASTER_CHANGE)
    publisher = SqsFifoPublisher(queue_url, sqs)
    first = master_change_message(change, confirmed_ms=1_700_000_000_000)
    message_id = publisher.publish(dict(first.body), first.group_id, first.dedup_id)
    publisher.publish_message(follower_job_message(job, master_confirmed_ms=1_700_000_000_000, enqueued_ms=1))
    received = drain(sqs, queue_url, 2)
    assert [item["MessageId"] for item in received][:1] == [message_id]
    assert received[0]["Attributes"]["MessageGroupId"] == "m1:ETHUSDT:0"
    assert received[0]["Attributes"]["MessageDeduplicationId"] == "m1:ETHUSDT:0:501"
    decoded = decode_master_change(received[0]["Body"])
    assert dataclasses.replace(decoded.change, received_at=0.0) == change
    assert decode_follower_job(received[1]["Body"]).job.follower_id == "alice"


def test_batch_keeps_each_groups_order_and_sends_ten_per_request(sqs: Any, queue_url: str) -> None:
    client = FlakyClient(sqs, lambda dedup, attempt: None)
    groups = [f"g{i}" for i in range(12)]
    messages = [message(group, n) for n in range(3) for group in groups]  # interleaved: g0-0, g1-0, ..., g0-1, ...
    report = SqsFifoPublisher(queue_url, client).publish_batch(messages)
    assert report.ok and len(report.sent) == 36
    assert all(len(request) <= 10 for request in client.requests)
    assert all(len({d.rsplit("-", 1)[0] for d in request}) == len(request) for request in client.requests)
    assert report.requests == len(client.requests) == 6  # 3 waves of 12 groups, 10 + 2 per wave
    assert order_by_group(drain(sqs, queue_url, 36)) == {group: [0, 1, 2] for group in groups}


def test_failed_entries_are_retried_before_later_messages_of_their_group(sqs: Any, queue_url: str) -> None:
    def verdict(dedup: str, attempt: int) -> tuple[str, bool] | None:
        return ("InternalError", False) if dedup in {"a-0", "b-1"} and attempt <= 2 else None

    client = FlakyClient(sqs, verdict)
    sleeps: list[float] = []
    publisher = SqsFifoPublisher(queue_url, client, max_attempts=3, backoff_s=0.1, sleep=sleeps.append)
    report = publisher.publish_batch([message(group, n) for group in ("a", "b", "c") for n in range(3)])
    assert report.ok
    attempts = {sent.message.dedup_id: sent.attempts for sent in report.sent}
    assert attempts["a-0"] == 3 and attempts["b-1"] == 3 and attempts["c-2"] == 1
    assert sleeps == [0.1, 0.2, 0.2]  # each wave backs off by its most-tried message's count of tries
    assert order_by_group(drain(sqs, queue_url, 9)) == {"a": [0, 1, 2], "b": [0, 1, 2], "c": [0, 1, 2]}


def test_retries_are_bounded_and_the_failure_is_reported(
    sqs: Any, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = FlakyClient(sqs, lambda dedup, attempt: ("ServiceUnavailable", False) if dedup == "a-1" else None)
    publisher = SqsFifoPublisher(queue_url, client, max_attempts=4, sleep=no_sleep)
    with caplog.at_level(logging.ERROR, logger="runtime.adapters.sqs.publisher"):
        report = publisher.publish_batch([message("a", n) for n in range(3)] + [message("b", 0)])
    assert not report.ok
    [failure] = report.failed
    assert (failure.message.dedup_id, failure.attempts, failure.code, failure.retryable) == (
        "a-1",
        4,
        "ServiceUnavailable",
        True,
    )
    assert client.attempts["a-1"] == 4
    assert sorted(sent.message.dedup_id for sent in report.sent) == ["a-0", "a-2", "b-0"]
    assert any(
        "a-1" in record.getMessage() and "ServiceUnavailable" in record.getMessage() for record in caplog.records
    )
    # The group's later message still goes out (the engine is level-triggered), after the given-up one.
    assert order_by_group(drain(sqs, queue_url, 3)) == {"a": [0, 2], "b": [0]}


def test_sender_fault_is_reported_at_once(sqs: Any, queue_url: str) -> None:
    client = FlakyClient(sqs, lambda dedup, attempt: ("InvalidParameterValue", True) if dedup == "a-0" else None)
    report = SqsFifoPublisher(queue_url, client, sleep=no_sleep).publish_batch([message("a", 0), message("b", 0)])
    [failure] = report.failed
    assert failure.attempts == 1 and failure.retryable is False and failure.code == "InvalidParameterValue"
    with pytest.raises(PublishError, match=r"a-0.*InvalidParameterValue"):
        report.raise_for_failures(queue_url)


def test_missing_queue_fails_every_message_without_retrying(sqs: Any, queue_url: str) -> None:
    missing = queue_url.rsplit("/", 1)[0] + "/does-not-exist.fifo"
    publisher = SqsFifoPublisher(missing, sqs, sleep=no_sleep)
    report = publisher.publish_batch([message("a", 0), message("b", 0)])
    assert len(report.failed) == 2 and not report.sent
    assert all(failure.attempts == 1 and not failure.retryable for failure in report.failed)
    with pytest.raises(PublishError, match=r"does-not-exist.fifo"):
        publisher.publish({"x": 1}, "g", "d")


def test_duplicate_dedup_id_is_stored_once_while_queued(sqs: Any, queue_url: str) -> None:
    # Two listeners confirming the same change send the same dedup id; SQS keeps one copy (moto: while queued).
    publisher = SqsFifoPublisher(queue_url, sqs)
    publisher.publish({"n": 1}, "leg", "leg:7")
    publisher.publish({"n": 1}, "leg", "leg:7")
    publisher.publish({"n": 2}, "leg", "leg:8")
    assert [item["Body"] for item in drain(sqs, queue_url, 3)] == ['{"n":1}', '{"n":2}']


def test_empty_batch_sends_nothing(sqs: Any, queue_url: str) -> None:
    report = SqsFifoPublisher(queue_url, sqs).publish_batch([])
    assert report.ok and report.requests == 0 and report.sent == ()


def test_standard_queue_and_zero_attempts_are_refused(sqs: Any) -> None:
    with pytest.raises(ValueError, match="not a FIFO queue"):
        SqsFifoPublisher("https://sqs.us-east-1.amazonaws.com/1/standard", sqs)
    with pytest.raises(ValueError, match="at least 1"):
        SqsFifoPublisher("https://sqs.us-east-1.amazonaws.com/1/q.fifo", sqs, max_attempts=0)
