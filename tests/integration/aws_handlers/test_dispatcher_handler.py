"""The dispatcher handler against moto: queue-1 master changes in, one queue-2 job per follower out."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from lambdas.dispatcher.handler import handler as dispatcher
from runtime.adapters.sqs.messages import decode_follower_job, follower_job_dedup_id
from runtime.domain.values import Venue
from runtime.services.jobs import JobReason
from tests.integration.aws_handlers.world import HandlerWorld, failed_ids, sqs_event


def test_a_master_change_becomes_one_job_per_follower_grouped_by_follower(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    bob = world.add_follower("bob", Venue.BINANCE)
    services = world.install()
    asyncio.run(world.listener_sink(services)(world.master_change(101, Decimal("0.1"))))

    response = dispatcher(sqs_event(world.drain(world.master_queue), world.master_queue))

    assert response == {"batchItemFailures": []}
    jobs = world.drain(world.orders_queue)
    by_follower = {decode_follower_job(m["Body"]).job.follower_id: m for m in jobs}
    assert sorted(by_follower) == sorted([alice, bob])
    for follower_id, message in by_follower.items():
        job = decode_follower_job(message["Body"]).job
        assert (job.symbol, job.trigger_seq, job.reason) == ("BTCUSDT", 101, JobReason.MASTER_CHANGE)
        assert message["Attributes"]["MessageGroupId"] == follower_id
        assert message["Attributes"]["MessageDeduplicationId"] == follower_job_dedup_id(job)
        assert json.loads(message["Body"])["master_confirmed_ms"] > 0


def test_a_change_older_than_the_stored_snapshot_makes_no_jobs(world: HandlerWorld) -> None:
    world.add_follower("alice", Venue.BYBIT)
    services = world.install()
    sink = world.listener_sink(services)
    asyncio.run(sink(world.master_change(101, Decimal("0.1"))))
    asyncio.run(sink(world.master_change(102, Decimal("0.2"), Decimal("0.1"))))
    late, latest = sorted(world.drain(world.master_queue), key=lambda m: json.loads(m["Body"])["seq"])

    assert failed_ids(dispatcher(sqs_event([late]))) == []
    assert world.drain(world.orders_queue) == []  # seq 102 replaced it; its own message makes the jobs
    dispatcher(sqs_event([latest]))
    assert [decode_follower_job(m["Body"]).job.trigger_seq for m in world.drain(world.orders_queue)] == [102]


def test_a_paused_follower_still_gets_jobs_and_a_disabled_one_does_not(world: HandlerWorld) -> None:
    paused = world.add_follower("paused", Venue.BYBIT)
    world.add_follower("off", Venue.BYBIT, enabled=False)
    world.registry.pause(paused)
    services = world.install()
    asyncio.run(world.listener_sink(services)(world.master_change(101, Decimal("0.1"))))

    dispatcher(sqs_event(world.drain(world.master_queue)))

    # Paused: the executor's gate refuses growth but lets closes through, so it must still be told.
    assert [decode_follower_job(m["Body"]).job.follower_id for m in world.drain(world.orders_queue)] == [paused]


def test_an_unreadable_record_fails_alone_and_the_other_legs_go_through(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    services = world.install()
    asyncio.run(world.listener_sink(services)(world.master_change(101, Decimal("0.1"))))
    good = world.drain(world.master_queue)[0]
    broken = {
        "MessageId": "broken-1",
        "ReceiptHandle": "r",
        "Body": '{"type": "master_position_changed", "version": 1}',
        "Attributes": {"MessageGroupId": "main:ETHUSDT:0", "SentTimestamp": "1"},
    }

    response = dispatcher(sqs_event([broken, good]))

    assert failed_ids(response) == ["broken-1"]
    assert [decode_follower_job(m["Body"]).job.follower_id for m in world.drain(world.orders_queue)] == [alice]


def test_a_change_without_a_stored_snapshot_is_written_before_its_jobs(world: HandlerWorld) -> None:
    # A producer that did not write the snapshot (the deployed dispatcher may only read: such a record would fail
    # and end in the dead-letter queue; locally, with write access, the snapshot is written first).
    world.add_follower("alice", Venue.BYBIT)
    services = world.install()
    world.send_raw_change(world.master_change(101, Decimal("0.1")))

    dispatcher(sqs_event(world.drain(world.master_queue)))

    stored = services.store.get_master_snapshot("main", "BTCUSDT", world.master_change(1, Decimal(0)).position_idx)
    assert stored is not None and stored.seq == 101 and stored.size == Decimal("0.1")
    assert len(world.drain(world.orders_queue)) == 1
