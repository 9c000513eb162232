"""Trading through the official SDK: market open/close, account state, leverage, cloids and resting orders.

Margin figures are hand-computed: alice has 10000 USD, BTC marks 60000, the simulator fills takers at the mark
(no slippage, no fees by default), and Hyperliquid values positions at the mark (marginUsed = |szi| x mark /
leverage).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from tests.integration.sim_hyperliquid.conftest import Admin, HlAccount, call


def only_status(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "ok", result
    statuses = result["response"]["data"]["statuses"]
    assert len(statuses) == 1
    return dict(statuses[0])


async def test_market_open_and_close_fill_and_show_in_the_clearinghouse_state(
    exchange: Exchange, info: Info, admin: Admin, alice: HlAccount
) -> None:
    assert await call(exchange.update_leverage, 20, "BTC") == {"status": "ok", "response": {"type": "default"}}

    opened = only_status(await call(exchange.market_open, "BTC", True, 0.1))
    assert opened["filled"]["totalSz"] == "0.1"
    assert Decimal(opened["filled"]["avgPx"]) == Decimal("60000")

    state = await call(info.user_state, alice.address)
    [entry] = state["assetPositions"]
    position = entry["position"]
    assert entry["type"] == "oneWay"
    assert (position["coin"], Decimal(position["szi"]), Decimal(position["entryPx"])) == (
        "BTC",
        Decimal("0.1"),
        Decimal(60000),
    )
    assert position["leverage"] == {"type": "cross", "value": 20}
    assert Decimal(position["positionValue"]) == Decimal("6000")  # 0.1 x 60000
    assert Decimal(position["marginUsed"]) == Decimal("300")  # 6000 / 20
    assert Decimal(state["marginSummary"]["accountValue"]) == Decimal("10000")
    assert Decimal(state["crossMarginSummary"]["totalMarginUsed"]) == Decimal("300")
    assert Decimal(state["withdrawable"]) == Decimal("9700")

    await admin.set_mark("BTC", "62000")
    state = await call(info.user_state, alice.address)
    position = state["assetPositions"][0]["position"]
    assert Decimal(position["unrealizedPnl"]) == Decimal("200")  # 0.1 x (62000 - 60000)
    assert Decimal(position["marginUsed"]) == Decimal("310")  # 0.1 x 62000 / 20
    assert Decimal(state["marginSummary"]["accountValue"]) == Decimal("10200")
    assert Decimal(state["marginSummary"]["totalRawUsd"]) == Decimal("4000")  # 10200 - 0.1 x 62000

    closed = only_status(await call(exchange.market_close, "BTC"))
    assert closed["filled"]["totalSz"] == "0.1"
    state = await call(info.user_state, alice.address)
    assert state["assetPositions"] == []
    assert Decimal(state["marginSummary"]["accountValue"]) == Decimal("10200")

    fills = await call(info.user_fills, alice.address)
    assert [(f["dir"], f["side"], Decimal(f["closedPnl"])) for f in fills] == [
        ("Close Long", "A", Decimal("200")),
        ("Open Long", "B", Decimal("0")),
    ]


async def test_short_liquidation_price_and_market_close_of_a_short(
    exchange: Exchange, info: Info, alice: HlAccount
) -> None:
    only_status(await call(exchange.market_open, "ETH", False, 1))
    position = (await call(info.user_state, alice.address))["assetPositions"][0]["position"]
    assert Decimal(position["szi"]) == Decimal("-1")
    # Short 1 ETH at 3000, account value 10000, maintenance 1/(2 x 25): P = (3000 + 10000) / (1 x 1.02).
    assert Decimal(position["liquidationPx"]) == (Decimal(13000) / Decimal("1.02")).quantize(Decimal("0.000001"))
    closed = only_status(await call(exchange.market_close, "ETH"))
    assert closed["filled"]["totalSz"] == "1"
    assert (await call(info.user_state, alice.address))["assetPositions"] == []


async def test_update_leverage_cross_and_isolated(exchange: Exchange, info: Info, alice: HlAccount) -> None:
    assert (await call(exchange.update_leverage, 5, "SOL", False))["status"] == "ok"
    only_status(await call(exchange.market_open, "SOL", True, 10))
    position = (await call(info.user_state, alice.address))["assetPositions"][0]["position"]
    assert position["leverage"]["type"] == "isolated"
    assert position["leverage"]["value"] == 5
    assert Decimal(position["marginUsed"]) == Decimal("300")  # 10 x 150 / 5
    assert "rawUsd" in position["leverage"]

    switched = await call(exchange.update_leverage, 5, "SOL", True)
    assert switched["status"] == "err" and "open position" in switched["response"]
    too_high = await call(exchange.update_leverage, 21, "SOL")
    assert too_high["status"] == "err" and "maximum leverage 20" in too_high["response"]


async def test_cloid_lookup_and_duplicate_cloid_keeps_the_first_order(
    exchange: Exchange, info: Info, alice: HlAccount
) -> None:
    cloid = Cloid.from_str("0x0123456789abcdef0123456789abcdef")
    first = only_status(await call(exchange.market_open, "ETH", True, 0.01, None, 0.05, cloid))
    oid = first["filled"]["oid"]
    assert first["filled"]["cloid"] == cloid.to_raw()

    second = only_status(await call(exchange.market_open, "ETH", True, 0.01, None, 0.05, cloid))
    assert "duplicate cloid" in second["error"]

    state = await call(info.user_state, alice.address)
    assert Decimal(state["assetPositions"][0]["position"]["szi"]) == Decimal("0.01")  # only the first filled

    by_cloid = await call(info.query_order_by_cloid, alice.address, cloid)
    assert by_cloid["status"] == "order"
    assert by_cloid["order"]["status"] == "filled"
    assert by_cloid["order"]["order"]["oid"] == oid
    assert by_cloid["order"]["order"]["cloid"] == cloid.to_raw()
    assert (await call(info.query_order_by_oid, alice.address, oid))["order"]["order"]["cloid"] == cloid.to_raw()

    unknown = Cloid.from_int(7)
    assert await call(info.query_order_by_cloid, alice.address, unknown) == {"status": "unknownOid"}
    assert await call(info.query_order_by_oid, alice.address, 42) == {"status": "unknownOid"}


async def test_resting_gtc_fills_when_the_mark_crosses_and_cancels_answer_per_order(
    exchange: Exchange, info: Info, admin: Admin, alice: HlAccount
) -> None:
    gtc = {"limit": {"tif": "Gtc"}}
    resting = only_status(await call(exchange.order, "BTC", True, 0.001, 59000, gtc))
    oid = resting["resting"]["oid"]
    [open_order] = await call(info.open_orders, alice.address)
    assert (open_order["oid"], open_order["coin"], open_order["side"], open_order["limitPx"]) == (
        oid,
        "BTC",
        "B",
        "59000",
    )

    await admin.set_mark("BTC", "58900")
    assert await call(info.open_orders, alice.address) == []
    status = await call(info.query_order_by_oid, alice.address, oid)
    assert status["order"]["status"] == "filled"
    assert Decimal((await call(info.user_fills, alice.address))[0]["px"]) == Decimal("59000")

    cloid = Cloid.from_int(99)
    only_status(await call(exchange.order, "BTC", False, 0.001, 70000, gtc, False, cloid))
    cancelled = await call(exchange.cancel_by_cloid, "BTC", cloid)
    assert cancelled["response"]["data"]["statuses"] == ["success"]
    again = await call(exchange.cancel, "BTC", oid)
    assert again["response"]["data"]["statuses"] == [{"error": "Order was never placed, already canceled, or filled."}]
    assert (await call(info.query_order_by_cloid, alice.address, cloid))["order"]["status"] == "canceled"


async def test_meta_spot_meta_and_mids(info: Info) -> None:
    meta = await call(info.meta)
    names = [asset["name"] for asset in meta["universe"]]
    assert names[:3] == ["BTC", "ETH", "SOL"] and "kPEPE" in names
    assert meta["universe"][0] == {"name": "BTC", "szDecimals": 5, "maxLeverage": 40}
    assert await call(info.spot_meta) == {"universe": [], "tokens": []}
    assert info.name_to_asset("ETH") == 1
    assert Decimal((await call(info.all_mids))["BTC"]) == Decimal("60000")
