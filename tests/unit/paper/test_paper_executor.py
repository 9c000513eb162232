"""The executor trading on paper venues: the same job path as against a real venue, in process."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runtime.adapters.paper import PaperVenue
from runtime.domain.values import PositionIdx, PositionMode, Venue
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import FollowerJob, OrderStatus
from runtime.sim.faults import LatencySpec
from tests.unit.services.kit import follower_config, job, new_kit

D = Decimal


async def test_followers_on_the_three_paper_venues_follow_an_open_and_a_flip(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    latency = LatencySpec(low_s=D(1), high_s=D(9), scale=D("0.001"))
    venues = {venue: PaperVenue(venue, seed=5, latency=latency) for venue in Venue}
    followers = {
        "by": (Venue.BYBIT, PositionMode.ONE_WAY, "BTCUSDT"),
        "bn": (Venue.BINANCE, PositionMode.HEDGE, "BTCUSDT"),
        "hl": (Venue.HYPERLIQUID, PositionMode.ONE_WAY, "BTC"),
    }
    for follower_id, (venue, mode, _symbol) in followers.items():
        config = follower_config(follower_id, venue=venue, mode="equity_ratio", value="1", position_mode=mode)
        kit.contexts[follower_id] = FollowerContext(config, venues[venue].open_account(follower_id, D(20000), mode))
    executor = kit.build()

    kit.master.move("1", price="60000")  # k = 20000 / 100000 = 0.2 -> 0.2 BTC
    opened = [await executor.execute(job) for job in _jobs(kit.master.last_seq, followers)]
    kit.master.move("-0.5", price="60000")  # a flip: close 0.2, open 0.1 short
    flipped = [await executor.execute(job) for job in _jobs(kit.master.last_seq, followers)]

    assert all(o.ok and [r.status for r in o.orders] == [OrderStatus.PLACED] for o in opened)
    assert all(o.ok and [r.status for r in o.orders] == [OrderStatus.PLACED] * 2 for o in flipped)
    sizes = {
        follower_id: {p.position_idx: p.size for p in await kit.contexts[follower_id].client.positions(symbol)}
        for follower_id, (_venue, _mode, symbol) in followers.items()
    }
    assert sizes == {
        "by": {PositionIdx.ONE_WAY: D("-0.1")},
        "bn": {PositionIdx.HEDGE_SHORT: D("-0.1")},
        "hl": {PositionIdx.ONE_WAY: D("-0.1")},
    }


def _jobs(seq: int, followers: dict[str, tuple[Venue, PositionMode, str]]) -> list[FollowerJob]:
    return [job(follower_id, seq) for follower_id in followers]
