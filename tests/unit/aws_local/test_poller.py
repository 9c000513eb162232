"""The local SQS event source mapping against moto: the event AWS builds, partial batch failures, redelivery after
the visibility timeout, the dead-letter queue after maxReceiveCount, FIFO groups one at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from runtime.hosts.aws_local.lambda_context import LambdaContext
from runtime.hosts.aws_local.moto_world import FifoQueue, MotoWorld
from runtime.hosts.aws_local.poller import PollerSettings, SqsEventSourcePoller, failed_item_ids

pytestmark = pytest.mark.timeout(30)
NewQueue = Callable[..., FifoQueue]


class Recorder:
    """A handler that records its events and fails the records whose body is in ``fail``."""

    def __init__(self, fail: set[str] | None = None, *, raise_error: bool = False) -> None:
        self.fail = fail or set()
        self.raise_error = raise_error
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        if self.raise_error:
            raise RuntimeError("the function crashed")
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.fail]
        return {"batchItemFailures": failures}

    @property
    def bodies(self) -> list[list[str]]:
        return [[record["body"] for record in event["Records"]] for event in self.events]


def send(sqs: Any, queue: FifoQueue, body: str, group: str, dedup: str | None = None) -> None:
    sqs.send_message(QueueUrl=queue.url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup or body)


def poller(sqs: Any, queue: FifoQueue, handler: Any, **settings: Any) -> SqsEventSourcePoller:
    return SqsEventSourcePoller(sqs, queue.url, queue.arn, handler, PollerSettings("fn", **settings))


async def wait_for(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def counts(world: MotoWorld, url: str) -> tuple[int, int]:
    return world.queue_counts(url)


async def test_the_event_has_the_shape_aws_gives_a_function(world: MotoWorld, sqs: Any, new_queue: NewQueue) -> None:
    queue = new_queue()
    send(sqs, queue, '{"a": 1}', "alice", "alice:1")
    handler = Recorder()
    invocation = await poller(sqs, queue, handler).poll_once()
    assert invocation is not None and invocation.failed_ids == ()
    (record,) = handler.events[0]["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn and queue.arn.startswith("arn:aws:sqs:us-east-1:")
    assert record["awsRegion"] == "us-east-1"
    assert record["body"] == '{"a": 1}' and record["messageId"] and record["receiptHandle"]
    attributes = record["attributes"]
    assert attributes["MessageGroupId"] == "alice" and attributes["MessageDeduplicationId"] == "alice:1"
    assert attributes["ApproximateReceiveCount"] == "1" and attributes["SequenceNumber"].isdigit()
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"} <= set(attributes)
    assert len(record["md5OfBody"]) == 32 and record["messageAttributes"] == {}
    context = handler.contexts[0]
    assert isinstance(context, LambdaContext) and context.function_name == "fn"
    assert 0 < context.get_remaining_time_in_millis() <= 60_000
    assert counts(world, queue.url) == (0, 0)  # the succeeded record was deleted


async def test_a_batch_holds_up_to_batch_size_records(world: MotoWorld, sqs: Any, new_queue: NewQueue) -> None:
    queue = new_queue()
    for group in ("leg-a", "leg-b", "leg-c"):
        send(sqs, queue, group, group)
    handler = Recorder()
    source = poller(sqs, queue, handler, batch_size=2)
    await source.poll_once()
    await source.poll_once()
    assert [len(bodies) for bodies in handler.bodies] == [2, 1]
    assert sorted(body for bodies in handler.bodies for body in bodies) == ["leg-a", "leg-b", "leg-c"]
    assert source.stats.deleted == 3 and source.stats.invocations == 2


async def test_a_partial_failure_deletes_the_others_and_redelivers_the_failed_one(
    world: MotoWorld, sqs: Any, new_queue: NewQueue
) -> None:
    queue = new_queue()
    send(sqs, queue, "ok-1", "alice")
    send(sqs, queue, "bad", "bob")
    send(sqs, queue, "ok-2", "carol")
    handler = Recorder(fail={"bad"})
    source = poller(sqs, queue, handler, batch_size=10, failed_visibility_s=0)
    first = await source.poll_once()
    assert first is not None and len(first.message_ids) == 3 and len(first.failed_ids) == 1
    assert counts(world, queue.url) == (1, 0)  # only the failed one is left, visible again at once
    handler.fail.clear()
    second = await source.poll_once()
    assert second is not None and handler.bodies[-1] == ["bad"]
    assert handler.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert counts(world, queue.url) == (0, 0)


async def test_a_failed_record_waits_for_the_visibility_timeout(
    world: MotoWorld, sqs: Any, new_queue: NewQueue
) -> None:
    queue = new_queue(visibility_timeout_s=1)
    send(sqs, queue, "bad", "alice")
    handler = Recorder(fail={"bad"})
    source = poller(sqs, queue, handler)
    await source.poll_once()
    assert await source.poll_once() is None  # still invisible: nothing to hand out
    assert counts(world, queue.url) == (0, 1)
    await asyncio.sleep(1.2)
    again = await source.poll_once()
    assert again is not None and handler.bodies == [["bad"], ["bad"]]


async def test_a_function_error_fails_the_whole_batch(world: MotoWorld, sqs: Any, new_queue: NewQueue) -> None:
    queue = new_queue()
    send(sqs, queue, "one", "alice")
    send(sqs, queue, "two", "bob")
    source = poller(sqs, queue, Recorder(raise_error=True), failed_visibility_s=0)
    invocation = await source.poll_once()
    assert invocation is not None and set(invocation.failed_ids) == set(invocation.message_ids)
    assert "RuntimeError" in invocation.error and source.stats.function_errors == 1
    assert counts(world, queue.url) == (2, 0)


async def test_an_unknown_item_identifier_fails_the_whole_batch(
    world: MotoWorld, sqs: Any, new_queue: NewQueue
) -> None:
    queue = new_queue()
    send(sqs, queue, "one", "alice")
    send(sqs, queue, "two", "bob")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    invocation = await poller(sqs, queue, handler, failed_visibility_s=0).poll_once()
    assert invocation is not None and len(invocation.failed_ids) == 2 and "whole batch" in invocation.error
    assert counts(world, queue.url) == (2, 0)


async def test_after_max_receive_count_the_message_moves_to_the_dead_letter_queue(
    world: MotoWorld, sqs: Any, new_queue: NewQueue
) -> None:
    queue = new_queue(max_receive_count=2)
    send(sqs, queue, "poison", "leg-a")
    handler = Recorder(fail={"poison"})
    source = poller(sqs, queue, handler, failed_visibility_s=0)
    assert await source.poll_once() is not None
    assert await source.poll_once() is not None
    assert await source.poll_once() is None  # the third receive moves it instead of handing it out
    assert handler.bodies == [["poison"], ["poison"]]
    assert counts(world, queue.url) == (0, 0)
    dead = sqs.receive_message(QueueUrl=queue.dlq_url, MessageSystemAttributeNames=["All"])["Messages"]
    assert [message["Body"] for message in dead] == ["poison"]


async def test_one_group_is_processed_in_order_and_never_concurrently(
    world: MotoWorld, sqs: Any, new_queue: NewQueue
) -> None:
    queue = new_queue()
    for index in range(4):
        send(sqs, queue, f"alice-{index}", "alice")
    for index in range(2):
        send(sqs, queue, f"bob-{index}", "bob")
    seen: list[str] = []
    running: dict[str, int] = {"alice": 0, "bob": 0}
    overlap: list[str] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            group = record["attributes"]["MessageGroupId"]
            with lock:
                running[group] += 1
                if running[group] > 1:
                    overlap.append(group)
            time.sleep(0.05)
            with lock:
                running[group] -= 1
                seen.append(record["body"])

    source = poller(sqs, queue, handler, batch_size=1, concurrency=3)
    await source.start()
    await wait_for(lambda: len(seen) == 6)
    await source.stop()
    assert overlap == []
    assert [body for body in seen if body.startswith("alice")] == [f"alice-{index}" for index in range(4)]
    assert [body for body in seen if body.startswith("bob")] == ["bob-0", "bob-1"]
    assert source.is_idle() and counts(world, queue.url) == (0, 0)


def test_failed_item_ids_follows_the_documented_success_and_failure_conditions() -> None:
    batch = ("m1", "m2", "m3")
    assert failed_item_ids(None, batch) == ((), "")
    assert failed_item_ids({}, batch) == ((), "")
    assert failed_item_ids({"batchItemFailures": None}, batch) == ((), "")
    assert failed_item_ids({"batchItemFailures": []}, batch) == ((), "")
    assert failed_item_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, batch) == (("m2",), "")
    for bad in ({"itemIdentifier": ""}, {"itemIdentifier": None}, {"id": "m1"}, {"itemIdentifier": "zz"}):
        failed, error = failed_item_ids({"batchItemFailures": [bad]}, batch)
        assert failed == batch and error


def test_settings_refuse_a_batch_the_fifo_event_source_cannot_have() -> None:
    with pytest.raises(ValueError, match=r"batch_size must be 1\.\.10"):
        PollerSettings("fn", batch_size=11)
    with pytest.raises(ValueError, match="concurrency"):
        PollerSettings("fn", concurrency=0)
