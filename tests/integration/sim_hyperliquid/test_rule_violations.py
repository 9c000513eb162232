"""One SDK order per published error string, each answered as a per-order ``{"error": ...}`` status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from tests.integration.sim_hyperliquid.conftest import HlAccount, call

GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}


def error_of(result: dict[str, Any]) -> str:
    assert result["status"] == "ok", result
    [status] = result["response"]["data"]["statuses"]
    assert set(status) == {"error"}, status
    return str(status["error"])


async def test_order_below_ten_dollars(exchange: Exchange) -> None:
    # 0.0001 BTC x 60000 = 6 USD
    assert error_of(await call(exchange.order, "BTC", True, 0.0001, 60000, GTC)) == (
        "Order must have minimum value of $10."
    )


async def test_order_beyond_the_margin(exchange: Exchange) -> None:
    # 5 BTC at 60000 with the default 10x needs 30000 of margin; alice has 10000.
    assert error_of(await call(exchange.market_open, "BTC", True, 5)) == "Insufficient margin to place order."


async def test_reduce_only_without_or_against_the_position(exchange: Exchange) -> None:
    message = "Reduce only order would increase position."
    assert error_of(await call(exchange.order, "BTC", True, 0.001, 63000, IOC, True)) == message
    await call(exchange.market_open, "BTC", True, 0.001)
    assert error_of(await call(exchange.order, "BTC", True, 0.001, 63000, IOC, True)) == message


async def test_ioc_that_cannot_cross(exchange: Exchange, info: Info, alice: HlAccount) -> None:
    assert error_of(await call(exchange.order, "BTC", True, 0.001, 50000, IOC)) == (
        "Order could not immediately match against any resting orders."
    )
    assert (await call(info.user_state, alice.address))["assetPositions"] == []


async def test_price_with_too_many_figures_or_decimals(exchange: Exchange) -> None:
    message = "Price must be divisible by tick size."
    assert error_of(await call(exchange.order, "BTC", True, 0.001, 60000.5, GTC)) == message  # 6 figures
    assert error_of(await call(exchange.order, "ETH", True, 0.01, 2999.55, GTC)) == message  # 2 decimals > 6 - 4


async def test_size_beyond_sz_decimals(exchange: Exchange) -> None:
    assert error_of(await call(exchange.order, "SOL", True, 1.001, 150, GTC)) == "Order has invalid size."


async def test_partial_reduce_only_below_ten_dollars_is_refused_but_a_whole_close_is_not(
    exchange: Exchange, info: Info, alice: HlAccount
) -> None:
    await call(exchange.market_open, "DOGE", True, 100)  # 100 x 0.15 = 15 USD
    assert error_of(await call(exchange.order, "DOGE", False, 50, 0.14, IOC, True)) == (
        "Order must have minimum value of $10."
    )
    closed = await call(exchange.market_close, "DOGE")
    assert closed["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "100"
    assert (await call(info.user_state, alice.address))["assetPositions"] == []


async def test_one_status_per_order_in_a_batch(exchange: Exchange, info: Info, alice: HlAccount) -> None:
    result = await call(
        exchange.bulk_orders,
        [
            {"coin": "ETH", "is_buy": True, "sz": 0.01, "limit_px": 3150, "order_type": IOC, "reduce_only": False},
            {"coin": "ETH", "is_buy": True, "sz": 0.001, "limit_px": 3150, "order_type": IOC, "reduce_only": False},
        ],
    )
    first, second = result["response"]["data"]["statuses"]
    assert Decimal(first["filled"]["totalSz"]) == Decimal("0.01")
    assert second == {"error": "Order must have minimum value of $10."}
