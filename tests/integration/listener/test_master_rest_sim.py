"""MasterRest against the Bybit simulator: what the gap replay reads, paging, flat legs, and a rate-limit retry."""

from __future__ import annotations

from decimal import Decimal

from runtime.adapters.common.retry import RetryPolicy
from runtime.domain.values import PositionIdx
from runtime.listener.master_rest import MasterRest, MasterRestConfig
from tests.integration.listener.conftest import Harness


def make_rest(harness: Harness, credentials: object, **config: object) -> MasterRest:
    settings: dict[str, object] = {"base_url": harness.sim.base_url, "call_timeout_s": 2.0}
    settings.update(config)
    return MasterRest.from_credentials(credentials, harness.runner, MasterRestConfig(**settings))  # type: ignore[arg-type]


async def test_the_reads_of_a_gap_replay(harness: Harness) -> None:
    master = await harness.new_master(mode="hedge", balance="50000")
    rest = make_rest(harness, master.credentials, execution_page_limit=2)
    await master.market("BTCUSDT", "Buy", "0.01", position_idx=1)
    await master.market("BTCUSDT", "Buy", "0.02", position_idx=1)
    await master.market("ETHUSDT", "Sell", "0.1", position_idx=2)
    await master.market("ETHUSDT", "Buy", "0.1", position_idx=2, reduce_only=True)
    await master.market("SOLUSDT", "Buy", "1", position_idx=1)

    assert await rest.wallet_equity() == Decimal("50000")
    listed = await rest.open_positions("USDT")
    assert {(p.symbol, p.position_idx, p.signed_size) for p in listed} == {
        ("BTCUSDT", PositionIdx.HEDGE_LONG, Decimal("0.03")),
        ("SOLUSDT", PositionIdx.HEDGE_LONG, Decimal("1")),
    }
    # The ETH short went flat: not listed by settle coin, but read by symbol, flat and with its seq.
    eth = {p.position_idx: p for p in await rest.symbol_positions("ETHUSDT")}
    assert eth[PositionIdx.HEDGE_SHORT].size == 0 and eth[PositionIdx.HEDGE_SHORT].seq == 4
    assert eth[PositionIdx.HEDGE_LONG].seq == -1  # never traded

    batch = await rest.executions_since(0)  # three pages of two
    assert batch.complete
    assert [e.seq for e in batch.executions] == [1, 2, 3, 4, 5]
    fills = (await harness.admin.get(f"accounts/{master.name}"))["fills"]
    assert [e.exec_id for e in batch.executions] == [fill["exec_id"] for fill in fills]


async def test_a_rate_limited_read_is_retried(harness: Harness) -> None:
    master = await harness.new_master()
    rest = make_rest(harness, master.credentials, retry=RetryPolicy(3, 0.01, 0.05))
    await harness.admin.faults(errors=[{"class": "read", "kind": "rate_limit", "count": 1}])
    assert await rest.open_positions("USDT") == []
    state = await harness.admin.get("faults")
    assert state["errors"] == [] or all(rule.get("count") == 0 for rule in state["errors"])
