"""The executor handler against moto and the exchange simulators, with the real venue adapters: orders land at the
simulators exactly once per follower and change, however often SQS delivers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from lambdas.dispatcher.handler import handler as dispatcher
from lambdas.executor.handler import handler as executor
from runtime.adapters.sqs.messages import decode_follower_job
from runtime.domain.values import Venue
from tests.integration.aws_handlers.world import HandlerWorld, failed_ids, sqs_event

# margin_ratio: k = equity 10000 x margin_pct 0.1 / open_im 600; the master's 0.1 BTC -> 0.1666.. -> 0.166 (step).
FOLLOWER_SIZE = Decimal("0.166")


def publish_change(world: HandlerWorld, seq: int, size: Decimal, prev: Decimal = Decimal(0)) -> None:
    asyncio.run(world.listener_sink(world.install_once())(world.master_change(seq, size, prev)))


def dispatch_queued(world: HandlerWorld) -> list[dict[str, Any]]:
    """Run the dispatcher over what queue 1 holds; return the follower jobs it queued (taken off queue 2)."""
    assert failed_ids(dispatcher(sqs_event(world.drain(world.master_queue)))) == []
    return world.drain(world.orders_queue)


def follower_of(message: dict[str, Any]) -> str:
    return decode_follower_job(message["Body"]).job.follower_id


def test_a_change_reaches_every_follower_venue_once(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    bob = world.add_follower("bob", Venue.BINANCE)
    publish_change(world, 101, Decimal("0.1"))
    jobs = dispatch_queued(world)

    for job in jobs:  # batch size 1, as deployed: every follower its own invocation
        assert failed_ids(executor(sqs_event([job]))) == []

    for follower_id, venue in ((alice, Venue.BYBIT), (bob, Venue.BINANCE)):
        assert len(world.sims.orders(venue, follower_id)) == 1
        assert world.sims.position(venue, follower_id) == FOLLOWER_SIZE


def test_a_redelivered_job_places_nothing_more(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    bob = world.add_follower("bob", Venue.BINANCE)
    publish_change(world, 101, Decimal("0.1"))
    event = sqs_event(dispatch_queued(world))

    assert failed_ids(executor(event)) == []
    assert failed_ids(executor(event)) == []  # SQS delivers again (visibility timeout, a lost delete, ...)

    assert len(world.sims.orders(Venue.BYBIT, alice)) == 1
    assert len(world.sims.orders(Venue.BINANCE, bob)) == 1


def test_a_duplicated_master_change_places_one_order_per_follower(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    bob = world.add_follower("bob", Venue.BINANCE)
    change = world.master_change(101, Decimal("0.1"))
    services = world.install_once()
    sink = world.listener_sink(services)

    asyncio.run(sink(change))
    first_jobs = dispatch_queued(world)
    # The same change sent again after the first copy left the queue (beyond the dedup window: another listener,
    # a redrive): SQS takes it, and the dispatcher fans it out again with the same job dedup ids.
    asyncio.run(sink(change))
    second_jobs = dispatch_queued(world)
    assert len(first_jobs) == len(second_jobs) == 2

    for job in [*first_jobs, *second_jobs]:
        assert failed_ids(executor(sqs_event([job]))) == []

    assert len(world.sims.orders(Venue.BYBIT, alice)) == 1
    assert len(world.sims.orders(Venue.BINANCE, bob)) == 1
    assert world.sims.position(Venue.BYBIT, alice) == FOLLOWER_SIZE


def test_a_failing_follower_fails_only_its_own_group_in_a_batch(world: HandlerWorld) -> None:
    broken = world.add_follower("broken", Venue.BYBIT, secret=False)  # its keys are missing: it cannot trade
    bob = world.add_follower("bob", Venue.BINANCE)
    publish_change(world, 101, Decimal("0.1"))
    jobs = dispatch_queued(world)
    publish_change(world, 102, Decimal("0.2"), Decimal("0.1"))
    jobs += dispatch_queued(world)
    broken_jobs = [job for job in jobs if follower_of(job) == broken]
    bob_first = next(job for job in jobs if follower_of(job) == bob)
    batch = [broken_jobs[0], bob_first, broken_jobs[1]]

    response = executor(sqs_event(batch))

    assert failed_ids(response) == [broken_jobs[0]["MessageId"], broken_jobs[1]["MessageId"]]
    # bob's job went through, to the latest snapshot (seq 102: 0.2 BTC -> 0.333)
    assert len(world.sims.orders(Venue.BINANCE, bob)) == 1
    assert world.sims.position(Venue.BINANCE, bob) == Decimal("0.333")


def test_an_order_the_venue_failed_makes_sqs_deliver_again_and_the_retry_places_once(world: HandlerWorld) -> None:
    bob = world.add_follower("bob", Venue.BINANCE)
    publish_change(world, 101, Decimal("0.1"))
    [job] = dispatch_queued(world)
    world.install_once()
    # The venue turns the order away (rate limit): known not placed, so the job must be tried again.
    world.sims.admin(Venue.BINANCE, "faults", {"errors": [{"class": "order", "kind": "rate_limit", "count": 50}]})
    try:
        assert failed_ids(executor(sqs_event([job]))) == [job["MessageId"]]
    finally:
        world.sims.admin(Venue.BINANCE, "faults", {"clear": True})
    assert world.sims.orders(Venue.BINANCE, bob) == []

    assert failed_ids(executor(sqs_event([job]))) == []
    assert len(world.sims.orders(Venue.BINANCE, bob)) == 1


def test_refusals_and_skips_are_outcomes_not_failures(world: HandlerWorld) -> None:
    # Too small an account to carry the copy: the venue's margin check refuses it, and retrying cannot help.
    tiny = world.add_follower(
        "tiny", Venue.BYBIT, balance=Decimal(1), sizing={"mode": "fixed_margin", "margin_usdt": "600"}
    )
    publish_change(world, 101, Decimal("0.1"))
    [job] = dispatch_queued(world)

    assert failed_ids(executor(sqs_event([job]))) == []
    assert world.sims.position(Venue.BYBIT, tiny) == 0
    alerts = world.alerts_published()
    assert [a["kind"] for a in alerts if a.get("follower_id") == tiny]  # the refusal reached the alerts topic


def test_a_job_for_a_follower_no_longer_registered_is_dropped(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    publish_change(world, 101, Decimal("0.1"))
    [job] = dispatch_queued(world)
    world.registry.remove(alice)

    assert failed_ids(executor(sqs_event([job]))) == []
    assert world.sims.orders(Venue.BYBIT, alice) == []
