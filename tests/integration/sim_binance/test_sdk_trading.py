"""python-binance Client against the simulator: orders, read-backs, leverage, hedge mode, look-ups, duplicates."""

from __future__ import annotations

from decimal import Decimal

from binance.client import Client

from runtime.domain.values import PositionMode
from runtime.sim.binance import BinanceSimulator
from runtime.sim.model import DuplicateScope
from tests.integration.sim_binance.conftest import call, refused, sdk_client


async def test_market_order_fills_and_reads_back(sim: BinanceSimulator, client: Client) -> None:
    placed = await call(
        client.futures_create_order, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
        newClientOrderId="copy-1", newOrderRespType="RESULT",
    )
    assert (placed["status"], placed["executedQty"], placed["avgPrice"]) == ("FILLED", "0.01", "60000")
    assert (placed["clientOrderId"], placed["positionSide"], placed["timeInForce"]) == ("copy-1", "BOTH", "GTC")

    (position,) = await call(client.futures_position_information, symbol="BTCUSDT")
    assert (position["positionAmt"], position["entryPrice"], position["initialMargin"]) == ("0.01", "60000", "60")
    assert "leverage" not in position  # v3 carries no leverage, as on the venue

    sim.engine.set_mark("BTCUSDT", Decimal("61000"))
    account = await call(client.futures_account)
    # Hand-computed: uPnL = 0.01 x (61000 - 60000) = 10; equity = 10000 + 10; IM = 0.01 x 60000 / 10 = 60.
    assert (account["totalUnrealizedProfit"], account["totalMarginBalance"]) == ("10", "10010")
    assert account["availableBalance"] == "9950"
    btc = next(p for p in account["positions"] if p["symbol"] == "BTCUSDT")
    assert (btc["positionAmt"], btc["leverage"], btc["positionSide"]) == ("0.01", "10", "BOTH")
    (balance,) = await call(client.futures_account_balance)
    assert (balance["asset"], balance["balance"], balance["crossUnPnl"]) == ("USDT", "10000", "10")


async def test_ack_response_shows_the_accepted_order(client: Client) -> None:
    ack = await call(client.futures_create_order, symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.1")
    assert (ack["status"], ack["executedQty"], ack["clientOrderId"][:10]) == ("NEW", "0", "x-Cb7ytekJ")
    looked_up = await call(client.futures_get_order, symbol="ETHUSDT", orderId=ack["orderId"])
    assert (looked_up["status"], looked_up["executedQty"], looked_up["avgPrice"]) == ("FILLED", "0.1", "3000")


async def test_lookup_and_cancel_by_client_id(client: Client) -> None:
    await call(
        client.futures_create_order, symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01", price="50000",
        timeInForce="GTC", newClientOrderId="rest-1",
    )
    found = await call(client.futures_get_order, symbol="BTCUSDT", origClientOrderId="rest-1")
    assert (found["status"], found["price"], found["type"]) == ("NEW", "50000", "LIMIT")
    assert found["clientOrderId"] == "rest-1"
    assert found["time"] > 0
    assert [o["clientOrderId"] for o in await call(client.futures_get_open_orders, symbol="BTCUSDT")] == ["rest-1"]
    cancelled = await call(client.futures_cancel_order, symbol="BTCUSDT", origClientOrderId="rest-1")
    assert cancelled["status"] == "CANCELED"
    assert (await refused(client.futures_cancel_order, symbol="BTCUSDT", origClientOrderId="rest-1")).code == -2011
    assert (await refused(client.futures_get_order, symbol="BTCUSDT", origClientOrderId="never")).code == -2013


async def test_duplicate_client_id_among_open_orders_is_4116(client: Client) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "50000",
             "timeInForce": "GTC", "newClientOrderId": "dup-1"}
    await call(client.futures_create_order, **order)
    error = await refused(client.futures_create_order, **order)
    assert (error.status_code, error.code, error.message) == (400, -4116, "ClientOrderId is duplicated.")


async def test_filled_order_id_may_be_reused_by_default(client: Client) -> None:
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "newClientOrderId": "m-1"}
    first = await call(client.futures_create_order, **market)
    second = await call(client.futures_create_order, **market)
    assert first["orderId"] != second["orderId"]
    # The look-up answers the latest order that used the id.
    latest = await call(client.futures_get_order, symbol="BTCUSDT", origClientOrderId="m-1")
    assert latest["orderId"] == second["orderId"]


async def test_duplicate_scope_all_orders_blocks_reuse_of_a_filled_id(sim: BinanceSimulator, client: Client) -> None:
    sim.engine.settings.duplicate_scope = DuplicateScope.ALL_ORDERS
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "newClientOrderId": "m-2"}
    await call(client.futures_create_order, **market)
    assert (await refused(client.futures_create_order, **market)).code == -4116


async def test_leverage_change_and_invalid_leverage(client: Client) -> None:
    answer = await call(client.futures_change_leverage, symbol="ETHUSDT", leverage=25)
    assert (answer["symbol"], answer["leverage"]) == ("ETHUSDT", 25)
    again = await call(client.futures_change_leverage, symbol="ETHUSDT", leverage=25)
    assert again["leverage"] == 25  # the same leverage twice succeeds quietly
    rows = await call(client.futures_position_information, symbol="ETHUSDT", version=2)
    assert [(r["leverage"], r["positionSide"]) for r in rows] == [("25", "BOTH")]
    for bad in (0, 126):
        error = await refused(client.futures_change_leverage, symbol="BTCUSDT", leverage=bad)
        assert (error.code, error.message) == (-4028, f"Leverage {bad} is not valid")


async def test_hedge_mode_orders_on_both_legs(client: Client) -> None:
    assert (await call(client.futures_get_position_mode))["dualSidePosition"] is False
    assert (await call(client.futures_change_position_mode, dualSidePosition=True))["code"] == 200
    assert (await call(client.futures_get_position_mode))["dualSidePosition"] is True
    assert (await refused(client.futures_change_position_mode, dualSidePosition=True)).code == -4059

    await call(client.futures_create_order, symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.2",
               positionSide="LONG")
    await call(client.futures_create_order, symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.1",
               positionSide="SHORT")
    close = await call(client.futures_create_order, symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.05",
                       positionSide="LONG", newOrderRespType="RESULT")
    assert (close["positionSide"], close["status"]) == ("LONG", "FILLED")
    legs = {r["positionSide"]: r["positionAmt"] for r in await call(client.futures_position_information)}
    assert legs == {"LONG": "0.15", "SHORT": "-0.1"}

    both = await refused(client.futures_create_order, symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.1")
    assert (both.code, both.message) == (-4061, "Order's position side does not match user's setting.")
    reduce = await refused(client.futures_create_order, symbol="ETHUSDT", side="SELL", type="MARKET",
                           quantity="0.1", positionSide="LONG", reduceOnly=True)
    assert (reduce.code, reduce.message) == (-1106, "Parameter 'reduceonly' sent when not required.")
    assert (await refused(client.futures_change_position_mode, dualSidePosition=False)).code == -4068


async def test_position_side_in_one_way_mode_is_4061(client: Client) -> None:
    error = await refused(client.futures_create_order, symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.1",
                          positionSide="LONG")
    assert error.code == -4061


async def test_mode_change_with_open_orders_is_4067(client: Client) -> None:
    await call(client.futures_create_order, symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
               price="50000", timeInForce="GTC")
    assert (await refused(client.futures_change_position_mode, dualSidePosition=True)).code == -4067


async def test_margin_type_changes(client: Client) -> None:
    assert (await refused(client.futures_change_margin_type, symbol="BTCUSDT", marginType="CROSSED")).code == -4046
    assert (await call(client.futures_change_margin_type, symbol="BTCUSDT", marginType="ISOLATED"))["code"] == 200
    (row,) = await call(client.futures_position_information, symbol="BTCUSDT", version=2)
    assert row["marginType"] == "isolated"


async def test_reduce_only_closes_and_is_exempt_from_min_notional(client: Client) -> None:
    await call(client.futures_create_order, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    # 0.001 BTC is worth 60 USDT, below the 100 minimum, but reduce-only orders are exempt.
    close = await call(client.futures_create_order, symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.001",
                       reduceOnly=True, newOrderRespType="RESULT")
    assert (close["status"], close["reduceOnly"]) == ("FILLED", True)
    # Larger than the position: capped to it, leaving the position flat.
    await call(client.futures_create_order, symbol="BTCUSDT", side="SELL", type="MARKET", quantity="1",
               reduceOnly="true")
    assert await call(client.futures_position_information, symbol="BTCUSDT") == []


async def test_public_market_data(client: Client) -> None:
    info = await call(client.futures_exchange_info)
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.1"
    assert (filters["LOT_SIZE"]["stepSize"], filters["LOT_SIZE"]["minQty"]) == ("0.001", "0.001")
    assert filters["MARKET_LOT_SIZE"]["maxQty"] == "120"
    assert filters["MIN_NOTIONAL"]["notional"] == "100"
    assert (btc["pricePrecision"], btc["quantityPrecision"]) == (2, 3)
    assert (await call(client.futures_mark_price, symbol="DOGEUSDT"))["markPrice"] == "0.15"
    assert {"serverTime"} == set(await call(client.futures_time))
    assert await call(client.futures_ping) == {}


async def test_key_permissions_and_a_withdrawing_key(sim: BinanceSimulator, client: Client) -> None:
    permissions = await call(client.get_account_api_permissions)
    assert (permissions["enableWithdrawals"], permissions["enableFutures"]) == (False, True)
    risky = sim.register_account("risky", Decimal("100"), PositionMode.ONE_WAY, can_withdraw=True)
    risky_permissions = await call(sdk_client(sim, risky).get_account_api_permissions)
    assert risky_permissions["enableWithdrawals"] is True
