"""The two queues' message formats: exact round trips, FIFO ids, and refusals that name the bad field."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from runtime.adapters.sqs import messages
from runtime.adapters.sqs.messages import (
    MessageFormatError,
    decode_follower_job,
    decode_master_change,
    encode,
    fifo_id,
    follower_job_from_dict,
    follower_job_message,
    master_change_from_dict,
    master_change_message,
)
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.values import PositionIdx
from runtime.services.jobs import FollowerJob, JobReason


def make_change(**overrides: object) -> MasterPositionChanged:
    fields: dict[str, object] = {
        "master": "master",
        "symbol": "BTCUSDT",
        "position_idx": PositionIdx.HEDGE_SHORT,
        "seq": 2**40 + 7,
        "prev_size": Decimal("0.00000001"),
        "new_size": Decimal("-123456789.123456789"),
        "position_im": Decimal("1500.10"),
        "leverage": Decimal("12.5"),
        "entry_price": Decimal("60000.5"),
        "lifecycle": Lifecycle("BTCUSDT:2:100", Decimal("1500.10"), Decimal("98765432109876543210.0123456789012"), 100),
        "exec_ids": ("e1", "e2"),
        "previous_lifecycle_id": "BTCUSDT:2:50",
        "mark_price": Decimal("60001.25"),
        "exec_types": ("Trade", "AdlTrade"),
    }
    fields.update(overrides)
    return MasterPositionChanged(**fields)  # type: ignore[arg-type]


def test_master_change_round_trips_exactly_through_json() -> None:
    change = make_change()
    message = master_change_message(change, confirmed_ms=1_700_000_000_123)
    decoded = decode_master_change(encode(message.body))
    assert decoded.confirmed_ms == 1_700_000_000_123
    assert dataclasses.replace(decoded.change, received_at=0.0) == change
    assert str(decoded.change.new_size) == "-123456789.123456789" and str(decoded.change.position_im) == "1500.10"
    assert json.loads(encode(message.body))["new_size"] == "-123456789.123456789"  # numbers travel as strings


def test_master_change_without_lifecycle_round_trips() -> None:
    change = make_change(lifecycle=None, previous_lifecycle_id=None, exec_ids=(), exec_types=(), new_size=Decimal(0))
    decoded = decode_master_change(encode(master_change_message(change, confirmed_ms=1).body))
    assert dataclasses.replace(decoded.change, received_at=0.0) == change
    assert json.loads(encode(master_change_message(change, confirmed_ms=1).body))["kind"] == "full_close"


def test_master_change_ids_name_the_leg_and_seq() -> None:
    message = master_change_message(make_change(seq=42), confirmed_ms=1)
    assert message.group_id == "master:BTCUSDT:2"
    assert message.dedup_id == "master:BTCUSDT:2:42"


def test_follower_job_round_trips_and_ids() -> None:
    job = FollowerJob("alice", "ETHUSDT", PositionIdx.ONE_WAY, 77, JobReason.LEVERAGE_ONLY)
    message = follower_job_message(job, master_confirmed_ms=1_000, enqueued_ms=1_250)
    assert message.group_id == "alice"
    assert message.dedup_id == "alice:ETHUSDT:0:77:leverage_only"
    decoded = follower_job_from_dict(json.loads(encode(message.body)), now_wall_ms=2_000, now_monotonic=50.0)
    assert (decoded.master_confirmed_ms, decoded.enqueued_ms) == (1_000, 1_250)
    assert dataclasses.replace(decoded.job, master_received_at=0.0, enqueued_at=0.0) == job
    # Wall-clock stamps land on this host's monotonic scale: 1 s and 0.75 s before "now".
    assert decoded.job.master_received_at == pytest.approx(49.0)
    assert decoded.job.enqueued_at == pytest.approx(49.25)


def test_sync_rounds_get_their_own_dedup_ids() -> None:
    first = FollowerJob("alice", "BTCUSDT", PositionIdx.ONE_WAY, 9, JobReason.HEAL, sync_round="heal-1")
    second = dataclasses.replace(first, sync_round="heal-2")
    change = dataclasses.replace(first, reason=JobReason.MASTER_CHANGE, sync_round="")
    ids = {follower_job_message(job, master_confirmed_ms=0, enqueued_ms=1).dedup_id for job in (first, second, change)}
    assert len(ids) == 3
    decoded = decode_follower_job(encode(follower_job_message(first, master_confirmed_ms=0, enqueued_ms=1).body))
    assert decoded.job.sync_round == "heal-1" and decoded.job.master_received_at == 0.0  # 0 = unknown stays 0


def test_fifo_ids_that_sqs_would_refuse_are_hashed_deterministically() -> None:
    assert fifo_id("alice:BTCUSDT:0:1") == "alice:BTCUSDT:0:1"
    long = "x" * 200
    assert fifo_id(long) == fifo_id(long) and len(fifo_id(long)) <= 128 and fifo_id(long).startswith("sha256:")
    assert fifo_id("round with spaces") != "round with spaces"
    assert fifo_id("a b") != fifo_id("a  b")


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"type": "follower_job"}, "right queue"),
        ({"version": 2}, "version 2"),
        ({"new_size": 0.5}, "new_size"),
        ({"new_size": ""}, "new_size"),
        ({"new_size": "abc"}, "new_size"),
        ({"seq": "7"}, "seq"),
        ({"position_idx": 5}, "position_idx"),
        ({"lifecycle": "L1"}, "lifecycle"),
        ({"exec_ids": "e1"}, "exec_ids"),
    ],
)
def test_bad_master_change_names_the_field(patch: dict[str, object], match: str) -> None:
    body = dict(master_change_message(make_change(), confirmed_ms=1).body)
    body.update(patch)
    with pytest.raises(MessageFormatError, match=match):
        master_change_from_dict(body)


def test_missing_field_and_non_json_are_refused() -> None:
    body = dict(master_change_message(make_change(), confirmed_ms=1).body)
    del body["symbol"]
    with pytest.raises(MessageFormatError, match="symbol: missing"):
        master_change_from_dict(body)
    with pytest.raises(MessageFormatError, match="not JSON"):
        decode_master_change("{nope")
    with pytest.raises(MessageFormatError, match="not an object"):
        decode_master_change("[1]")


def test_bad_follower_job_names_the_problem() -> None:
    job = FollowerJob("alice", "BTCUSDT", PositionIdx.ONE_WAY, 9, JobReason.SYNC, sync_round="r1")
    body = dict(follower_job_message(job, master_confirmed_ms=0, enqueued_ms=1).body)
    with pytest.raises(MessageFormatError, match="reason"):
        follower_job_from_dict({**body, "reason": "yolo"})
    with pytest.raises(MessageFormatError, match="sync_round"):
        follower_job_from_dict({**body, "sync_round": ""})


def test_non_finite_numbers_are_not_encoded() -> None:
    with pytest.raises(ValueError, match="finite"):
        master_change_message(make_change(mark_price=Decimal("NaN")), confirmed_ms=1)


def test_local_monotonic_maps_wall_clock_onto_this_host() -> None:
    assert messages.local_monotonic(0) == 0.0
    assert messages.local_monotonic(9_500, now_wall_ms=10_000, now_monotonic=100.0) == pytest.approx(99.5)
