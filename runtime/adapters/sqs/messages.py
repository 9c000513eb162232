"""The JSON bodies of the two SQS FIFO queues, their group and deduplication ids, and encode/decode round trips.

Queue 1, master changes (listener -> dispatcher): one ``MasterPositionChanged`` per message, group = the master leg
``{master}:{symbol}:{position_idx}`` (a leg's changes stay in order; legs run in parallel), dedup id = leg + ``:`` +
seq, so two listeners of one master that confirm the same change send one message (within SQS's 5-minute window;
beyond it the store's seq-conditional snapshot and the claims still stop a second order).

Queue 2, follower jobs (dispatcher -> executor): one ``FollowerJob`` per message, group = the follower id (one
follower's orders in order, followers in parallel), dedup id = follower + leg + seq + reason (+ the sync round).

Every number is a string (``format(value, "f")``: every digit, no exponent), every message carries ``type`` and
``version``. Times on the wire are wall-clock epoch milliseconds: a monotonic clock means nothing on another host.
Decoding maps them back onto this host's monotonic clock, so per-hop latency keeps working across processes.
"""

from __future__ import annotations

import hashlib
import json
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.values import PositionIdx, to_decimal
from runtime.services.jobs import FollowerJob, JobReason

MESSAGE_VERSION = 1
MASTER_CHANGE_TYPE = "master_position_changed"
FOLLOWER_JOB_TYPE = "follower_job"

# SQS: group and deduplication ids are at most 128 characters of letters, digits and punctuation.
MAX_ID_LENGTH = 128
_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation)


class MessageFormatError(ValueError):
    """A queue message body that is not what this version writes; the message names the field."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message ready for ``SqsFifoPublisher``: its JSON-able body and its FIFO ids."""

    body: Mapping[str, Any]
    group_id: str
    dedup_id: str


@dataclass(frozen=True)
class MasterChangeMessage:
    """A decoded queue-1 message. ``confirmed_ms``: when the listener confirmed the change (epoch ms)."""

    change: MasterPositionChanged
    confirmed_ms: int


@dataclass(frozen=True)
class FollowerJobMessage:
    """A decoded queue-2 message. ``master_confirmed_ms`` (0 = unknown) and ``enqueued_ms`` are epoch ms."""

    job: FollowerJob
    master_confirmed_ms: int
    enqueued_ms: int


def fifo_id(text: str) -> str:
    """``text`` when SQS accepts it as a group or dedup id, else a deterministic digest of it (same input, same id)."""
    if text and len(text) <= MAX_ID_LENGTH and all(ch in _ID_CHARACTERS for ch in text):
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def master_leg_group_id(master: str, symbol: str, position_idx: PositionIdx) -> str:
    return fifo_id(f"{master}:{symbol}:{int(position_idx)}")


def encode(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MessageFormatError(f"the message body is not JSON ({exc}): a producer other than copytrader?") from None
    if not isinstance(body, dict):
        raise MessageFormatError(f"the message body is a JSON {type(body).__name__}, not an object")
    return body


# --- queue 1: master changes ------------------------------------------------------------------------------------
def master_change_message(change: MasterPositionChanged, *, confirmed_ms: int) -> OutgoingMessage:
    group = master_leg_group_id(change.master, change.symbol, change.position_idx)
    return OutgoingMessage(
        body=master_change_to_dict(change, confirmed_ms=confirmed_ms),
        group_id=group,
        dedup_id=fifo_id(f"{change.master}:{change.symbol}:{int(change.position_idx)}:{change.seq}"),
    )


def master_change_to_dict(change: MasterPositionChanged, *, confirmed_ms: int) -> dict[str, Any]:
    lifecycle = change.lifecycle
    return {
        "type": MASTER_CHANGE_TYPE,
        "version": MESSAGE_VERSION,
        "master": change.master,
        "symbol": change.symbol,
        "position_idx": int(change.position_idx),
        "seq": change.seq,
        "kind": change.kind.value,  # for people reading a dead-letter queue; decoding ignores it
        "prev_size": _number(change.prev_size),
        "new_size": _number(change.new_size),
        "position_im": _number(change.position_im),
        "leverage": _number(change.leverage),
        "entry_price": _number(change.entry_price),
        "mark_price": _number(change.mark_price),
        "lifecycle": None
        if lifecycle is None
        else {
            "id": lifecycle.id,
            "open_im": _number(lifecycle.open_im),
            "open_equity": _number(lifecycle.open_equity),
            "opened_seq": lifecycle.opened_seq,
        },
        "previous_lifecycle_id": change.previous_lifecycle_id,
        "exec_ids": list(change.exec_ids),
        "exec_types": list(change.exec_types),
        "confirmed_ms": confirmed_ms,
    }


def master_change_from_dict(
    body: Mapping[str, Any], *, now_wall_ms: int | None = None, now_monotonic: float | None = None
) -> MasterChangeMessage:
    _expect_type(body, MASTER_CHANGE_TYPE)
    confirmed_ms = _int(body, "confirmed_ms")
    raw_lifecycle = body.get("lifecycle")
    lifecycle = None
    if raw_lifecycle is not None:
        if not isinstance(raw_lifecycle, Mapping):
            raise MessageFormatError("lifecycle: expected an object or null")
        lifecycle = Lifecycle(
            _str(raw_lifecycle, "id"),
            _dec(raw_lifecycle, "open_im"),
            _dec(raw_lifecycle, "open_equity"),
            _int(raw_lifecycle, "opened_seq"),
        )
    previous = body.get("previous_lifecycle_id")
    if previous is not None and not isinstance(previous, str):
        raise MessageFormatError("previous_lifecycle_id: expected a string or null")
    change = MasterPositionChanged(
        master=_str(body, "master"),
        symbol=_str(body, "symbol"),
        position_idx=_position_idx(body),
        seq=_int(body, "seq"),
        prev_size=_dec(body, "prev_size"),
        new_size=_dec(body, "new_size"),
        position_im=_dec(body, "position_im"),
        leverage=_dec(body, "leverage"),
        entry_price=_dec(body, "entry_price"),
        lifecycle=lifecycle,
        exec_ids=_strings(body, "exec_ids"),
        previous_lifecycle_id=previous,
        mark_price=_dec(body, "mark_price"),
        received_at=local_monotonic(confirmed_ms, now_wall_ms=now_wall_ms, now_monotonic=now_monotonic),
        exec_types=_strings(body, "exec_types"),
    )
    return MasterChangeMessage(change, confirmed_ms)


def decode_master_change(text: str) -> MasterChangeMessage:
    return master_change_from_dict(decode(text))


# --- queue 2: follower jobs -------------------------------------------------------------------------------------
def follower_job_dedup_id(job: FollowerJob) -> str:
    text = f"{job.follower_id}:{job.symbol}:{int(job.position_idx)}:{job.trigger_seq}:{job.reason.value}"
    if job.is_sync:
        text += f":{job.sync_round}"  # each sync/heal round is new work even under the same master seq
    return fifo_id(text)


def follower_job_message(job: FollowerJob, *, master_confirmed_ms: int, enqueued_ms: int) -> OutgoingMessage:
    return OutgoingMessage(
        body=follower_job_to_dict(job, master_confirmed_ms=master_confirmed_ms, enqueued_ms=enqueued_ms),
        group_id=fifo_id(job.follower_id),
        dedup_id=follower_job_dedup_id(job),
    )


def follower_job_to_dict(job: FollowerJob, *, master_confirmed_ms: int, enqueued_ms: int) -> dict[str, Any]:
    return {
        "type": FOLLOWER_JOB_TYPE,
        "version": MESSAGE_VERSION,
        "follower_id": job.follower_id,
        "symbol": job.symbol,
        "position_idx": int(job.position_idx),
        "trigger_seq": job.trigger_seq,
        "reason": job.reason.value,
        "sync_round": job.sync_round,
        "master_confirmed_ms": master_confirmed_ms,
        "enqueued_ms": enqueued_ms,
    }


def follower_job_from_dict(
    body: Mapping[str, Any], *, now_wall_ms: int | None = None, now_monotonic: float | None = None
) -> FollowerJobMessage:
    _expect_type(body, FOLLOWER_JOB_TYPE)
    master_ms, enqueued_ms = _int(body, "master_confirmed_ms"), _int(body, "enqueued_ms")
    wall = time.time_ns() // 1_000_000 if now_wall_ms is None else now_wall_ms
    mono = time.monotonic() if now_monotonic is None else now_monotonic
    reason_text = _str(body, "reason")
    if reason_text not in {reason.value for reason in JobReason}:
        known = ", ".join(reason.value for reason in JobReason)
        raise MessageFormatError(f"reason: {reason_text!r} is not one of {known}")
    try:
        job = FollowerJob(
            follower_id=_str(body, "follower_id"),
            symbol=_str(body, "symbol"),
            position_idx=_position_idx(body),
            trigger_seq=_int(body, "trigger_seq"),
            reason=JobReason(reason_text),
            sync_round=str(body.get("sync_round", "")),
            master_received_at=local_monotonic(master_ms, now_wall_ms=wall, now_monotonic=mono),
            enqueued_at=local_monotonic(enqueued_ms, now_wall_ms=wall, now_monotonic=mono),
        )
    except ValueError as exc:
        raise MessageFormatError(f"follower job: {exc}") from None
    return FollowerJobMessage(job, master_ms, enqueued_ms)


def decode_follower_job(text: str) -> FollowerJobMessage:
    return follower_job_from_dict(decode(text))


# --- clocks and fields ------------------------------------------------------------------------------------------
def local_monotonic(epoch_ms: int, *, now_wall_ms: int | None = None, now_monotonic: float | None = None) -> float:
    """The moment ``epoch_ms`` on this host's ``time.monotonic()`` scale (0.0 stays 0.0: unknown)."""
    if epoch_ms <= 0:
        return 0.0
    wall = time.time_ns() // 1_000_000 if now_wall_ms is None else now_wall_ms
    mono = time.monotonic() if now_monotonic is None else now_monotonic
    return mono - (wall - epoch_ms) / 1000.0


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"a queue message carries finite numbers only, got {value!r}")
    return format(value, "f")


def _expect_type(body: Mapping[str, Any], expected: str) -> None:
    kind, version = body.get("type"), body.get("version")
    if kind != expected:
        raise MessageFormatError(f"type is {kind!r}, expected {expected!r}: is this message on the right queue?")
    if version != MESSAGE_VERSION:
        raise MessageFormatError(
            f"{expected} version {version!r} is not {MESSAGE_VERSION}: deploy the same copytrader version to the "
            "producer and the consumer, then redrive the message from the dead-letter queue"
        )


def _field(body: Mapping[str, Any], name: str) -> Any:
    if name not in body:
        raise MessageFormatError(f"{name}: missing")
    return body[name]


def _str(body: Mapping[str, Any], name: str) -> str:
    value = _field(body, name)
    if not isinstance(value, str) or not value:
        raise MessageFormatError(f"{name}: expected a non-empty string, got {value!r}")
    return value


def _int(body: Mapping[str, Any], name: str) -> int:
    value = _field(body, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageFormatError(f"{name}: expected an integer, got {value!r}")
    return value


def _dec(body: Mapping[str, Any], name: str) -> Decimal:
    value = _field(body, name)
    if not isinstance(value, str) or not value.strip():
        raise MessageFormatError(f"{name}: expected a number written as a string, got {value!r}")
    try:
        return to_decimal(value, field=name)
    except (TypeError, ValueError) as exc:
        raise MessageFormatError(str(exc)) from None


def _strings(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MessageFormatError(f"{name}: expected a list of strings")
    return tuple(value)


def _position_idx(body: Mapping[str, Any]) -> PositionIdx:
    try:
        return PositionIdx(_int(body, "position_idx"))
    except ValueError:
        raise MessageFormatError(f"position_idx: {body.get('position_idx')!r} is not 0, 1 or 2") from None
