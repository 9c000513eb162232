"""The venue calls of one cycle, and the physical floors they set.

- ``order_floor_s``: the slowest single order call of the cycle (its injected latency): no copy cycle can end
  before its slowest order is acknowledged.
- ``path_floor_s``: the slowest follower's own chain of venue time: its calls grouped into phases of overlapping
  calls (the executor's concurrent leverage sync + reads are one phase, each order another), the slowest call of
  each phase summed. A design that reads the follower's position before ordering cannot beat it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from runtime.adapters.paper import CallRecord

ORDER_METHOD = "place_market_order"


class CallLog:
    """Collects every call of the paper venues (``venue.on_call = log.record``); cleared at each cycle's start."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    def record(self, call: CallRecord) -> None:
        self.calls.append(call)

    def clear(self) -> None:
        self.calls.clear()


def order_floor_s(calls: Iterable[CallRecord]) -> float:
    return max((call.injected_s for call in calls if call.method == ORDER_METHOD), default=0.0)


def slowest_order_call_s(calls: Iterable[CallRecord]) -> float:
    """The slowest order call as the client saw it (injected latency plus waiting for the event loop)."""
    return max((call.elapsed_s for call in calls if call.method == ORDER_METHOD), default=0.0)


def _chain_s(calls: list[CallRecord]) -> float:
    total, phase_end, phase_max = 0.0, float("-inf"), 0.0
    for call in sorted(calls, key=lambda c: c.started):
        if call.started >= phase_end:  # a new phase: the previous one had ended before this call began
            total += phase_max
            phase_max = 0.0
        phase_max = max(phase_max, call.injected_s)
        phase_end = max(phase_end, call.ended)
    return total + phase_max


def path_floor_s(calls: Iterable[CallRecord]) -> float:
    by_account: dict[str, list[CallRecord]] = defaultdict(list)
    for call in calls:
        by_account[call.account].append(call)
    return max((_chain_s(account_calls) for account_calls in by_account.values()), default=0.0)


def calls_per_order(calls: Iterable[CallRecord]) -> tuple[int, int]:
    """(all calls, order calls) of a cycle."""
    listed = list(calls)
    return len(listed), sum(1 for call in listed if call.method == ORDER_METHOD)
