"""Exactly once: duplicate jobs, duplicate-id and lost answers, a crash between the call and the record, recovery,
and SYNC rounds. "One order" is always checked at the (fake) venue itself."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from runtime.domain.errors import ErrorKind
from runtime.ports.exchange import OrderRequest
from runtime.ports.store import ClaimStatus, OrderOutcome
from runtime.services.executor import UnknownFollowerError
from runtime.services.jobs import JobReason, OrderStatus, SkipReason
from tests.unit.services.fake_exchange import FakeExchange, PlaceFault
from tests.unit.services.kit import Kit, follower_config, job, new_kit

D = Decimal


class SimulatedCrash(BaseException):
    """The process dies: not an Exception, so nothing in the executor records it (as with a real kill)."""


def open_kit(tmp_path: Path) -> tuple[Kit, FakeExchange]:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="fixed_margin", value="500"), FakeExchange())
    kit.master.move("0.1", im="1000")  # k = 0.5 -> 0.05
    return kit, venue


async def test_the_same_master_seq_twice_places_one_order(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    await kit.run("f")
    venue.set_position("BTCUSDT", D("0.04"))  # something shrank the position (an ADL on the follower)
    again = await kit.run("f")
    assert [(o.status, o.reason_code) for o in again.orders] == [(OrderStatus.SKIPPED, "already_done")]
    assert len(venue.placed) == 1
    assert kit.log("f")[-1].outcome is OrderOutcome.SKIPPED

    # A sync round corrects the residue under ids of its own; the same round delivered twice places once.
    synced = await kit.run("f", reason=JobReason.SYNC, sync_round="r1")
    assert [(o.status, o.qty) for o in synced.orders] == [(OrderStatus.PLACED, D("0.01"))]
    duplicate = await kit.run("f", reason=JobReason.SYNC, sync_round="r1")
    assert duplicate.skip_reason is SkipReason.ON_TARGET
    assert len(venue.placed) == 2 and venue.size() == D("0.05")


async def test_concurrent_duplicate_jobs_place_one_order(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    venue.latency_s = 0.01
    first, second = await asyncio.gather(kit.run("f"), kit.run("f"))
    assert [o.status for o in first.orders] == [OrderStatus.PLACED]
    assert second.skip_reason is SkipReason.ON_TARGET  # one follower's jobs run one at a time
    assert len(venue.placed) == 1


async def test_a_duplicate_id_answer_is_reconciled_by_look_up(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    # The order lands, but the answer the executor gets is "duplicate client id" (e.g. a transport-level retry).
    venue.place_faults.append(
        PlaceFault(venue.error(ErrorKind.DUPLICATE_CLIENT_ID, "OrderLinkedID is duplicate"), "after")
    )
    outcome = await kit.run("f")
    (order,) = outcome.orders
    assert order.status is OrderStatus.RECONCILED and order.venue_order_id == venue.placed[0].report.venue_order_id
    assert kit.store.get_claim(order.client_order_id).status is ClaimStatus.RECONCILED  # type: ignore[union-attr]
    assert len(venue.placed) == 1
    assert (await kit.run("f")).skip_reason is SkipReason.ON_TARGET


async def test_a_lost_answer_is_looked_up_and_a_never_seen_order_is_retried_under_a_new_attempt(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    venue.place_faults.append(PlaceFault(venue.error(ErrorKind.AMBIGUOUS, "read timeout"), "after"))
    landed = await kit.run("f")
    assert [o.status for o in landed.orders] == [OrderStatus.RECONCILED]
    assert len(venue.placed) == 1

    kit.master.move("0.2")
    venue.place_faults.append(PlaceFault(venue.error(ErrorKind.AMBIGUOUS, "connection reset"), "before"))
    lost = await kit.run("f")
    assert [(o.status, o.attempt) for o in lost.orders] == [(OrderStatus.FAILED, 0)]
    assert "has not seen client id" in lost.orders[0].message
    retried = await kit.run("f")  # the same seq: attempt 0 is known not at the venue, attempt 1 goes out
    assert [(o.status, o.attempt) for o in retried.orders] == [(OrderStatus.PLACED, 1)]
    assert len(venue.placed) == 2 and venue.size() == D("0.1")


async def test_an_unresolvable_answer_keeps_the_claim_open_until_a_look_up_works(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    venue.place_faults.append(PlaceFault(venue.error(ErrorKind.AMBIGUOUS, "read timeout"), "after"))
    venue.lookup_error = venue.error(ErrorKind.TEMPORARY, "502 bad gateway")
    unresolved = await kit.run("f")
    (order,) = unresolved.orders
    assert (order.status, order.reason_code) == (OrderStatus.FAILED, "unresolved")
    assert kit.store.get_claim(order.client_order_id).status is ClaimStatus.CLAIMED  # type: ignore[union-attr]

    venue.lookup_error = None
    venue.set_position("BTCUSDT", D("0"))  # even if the position no longer shows it, the claim is looked up first
    resumed = await kit.run("f")
    assert [o.status for o in resumed.orders] == [OrderStatus.RECONCILED]
    assert len(venue.placed) == 1


async def test_a_crash_after_the_call_is_reconciled_by_recovery_and_sync_places_nothing(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)

    async def crash(order: OrderRequest) -> None:
        raise SimulatedCrash

    venue.on_place = crash
    with pytest.raises(SimulatedCrash):
        await kit.run("f")
    (claim,) = kit.store.unfinished_claims()
    assert len(venue.placed) == 1

    venue.on_place = None
    restarted = kit.build()  # a new process: new executor, same store and venue
    report = await restarted.recover()
    assert [c.claim_id for c in report.reconciled] == [claim.claim_id]
    assert report.reconciled[0].venue_order_id == venue.placed[0].report.venue_order_id
    assert kit.store.unfinished_claims() == []
    assert kit.log("f")[-1].outcome is OrderOutcome.RECONCILED

    synced = await kit.run("f", reason=JobReason.SYNC, sync_round="startup-1")
    assert synced.skip_reason is SkipReason.ON_TARGET
    assert len(venue.placed) == 1


async def test_a_crash_before_the_call_fails_the_claim_at_recovery_and_sync_places_once(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    venue.place_faults.append(PlaceFault(None, "hang"))  # the request never reaches the venue; then the kill
    task = asyncio.create_task(kit.run("f"))
    await venue.hung.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(kit.store.unfinished_claims()) == 1

    report = await kit.build().recover()
    assert len(report.failed) == 1 and "stopped before the order reached the venue" in report.failed[0].message
    synced = await kit.run("f", reason=JobReason.SYNC, sync_round="startup-2")
    assert [o.status for o in synced.orders] == [OrderStatus.PLACED]
    assert len(venue.placed) == 1 and venue.size() == D("0.05")


async def test_a_job_that_meets_an_unfinished_claim_looks_it_up_first(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)

    async def crash(order: OrderRequest) -> None:
        raise SimulatedCrash

    venue.on_place = crash
    with pytest.raises(SimulatedCrash):
        await kit.run("f")
    venue.on_place = None
    venue.set_position("BTCUSDT", D("0"))  # the position read misses it (a lagging venue): the claim still wins
    again = await kit.build().execute(job("f", kit.master.last_seq))
    assert [o.status for o in again.orders] == [OrderStatus.RECONCILED]
    assert len(venue.placed) == 1


async def test_venue_refusals_take_the_next_attempt_and_stop_after_three(tmp_path: Path) -> None:
    kit, venue = open_kit(tmp_path)
    for _ in range(3):
        venue.place_faults.append(PlaceFault(venue.error(ErrorKind.RATE_LIMITED, "too many requests")))
    attempts = [await kit.run("f") for _ in range(4)]
    assert [[(o.status, o.attempt) for o in a.orders] for a in attempts[:3]] == [
        [(OrderStatus.FAILED, 0)], [(OrderStatus.FAILED, 1)], [(OrderStatus.FAILED, 2)],
    ]  # fmt: skip
    assert attempts[3].orders[0].reason_code == "attempts_exhausted"
    assert venue.placed == []
    kit.master.move("0.1")  # a new master seq is a new id space
    assert [o.status for o in (await kit.run("f")).orders] == [OrderStatus.PLACED]


async def test_an_unknown_follower_is_a_wiring_error(tmp_path: Path) -> None:
    kit, _ = open_kit(tmp_path)
    with pytest.raises(UnknownFollowerError, match="same config"):
        await kit.run("nobody")
