"""The paper venue: each venue's catalogue rules through the simulator core, the adapters' error kinds, and the
venue-layer rules the core leaves to the simulators (whole leverage, no hedge on Hyperliquid, Hyperliquid's $10
partial close)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.adapters.paper import PaperClient, PaperVenue
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import OrderRequest, OrderState

D = Decimal


def account(venue: Venue, balance: str = "10000", mode: PositionMode = PositionMode.ONE_WAY) -> PaperClient:
    return PaperVenue(venue).open_account("alice", D(balance), mode)


def market(symbol: str, side: Side, qty: str, cid: str, **kwargs: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=D(qty), client_order_id=cid, **kwargs)  # type: ignore[arg-type]


async def refusal(call: object) -> ExchangeError:
    with pytest.raises(ExchangeError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_rules_are_the_venues_own_catalogue() -> None:
    binance = await account(Venue.BINANCE).instrument_rules("BTCUSDT")
    hyperliquid = await account(Venue.HYPERLIQUID).instrument_rules("BTC")
    assert (binance.venue, binance.min_notional, binance.max_market_qty) == (Venue.BINANCE, D(100), D(120))
    assert (hyperliquid.venue, hyperliquid.qty_step, hyperliquid.min_notional) == (
        Venue.HYPERLIQUID,
        D("0.00001"),
        D(10),
    )


async def test_market_order_fills_at_the_mark_and_moves_position_and_margin() -> None:
    client = account(Venue.BYBIT)
    report = await client.place_market_order(market("BTCUSDT", Side.BUY, "0.1", "c1"))
    assert (report.state, report.filled_qty, report.avg_price, report.client_order_id) == (
        OrderState.FILLED,
        D("0.1"),
        D(60000),
        "c1",
    )
    [position] = await client.positions("BTCUSDT")
    assert (position.size, position.entry_price, position.leverage, position.initial_margin) == (
        D("0.1"),
        D(60000),
        D(10),
        D(600),
    )
    client.paper.set_mark("BTCUSDT", D(61000))
    assert await client.equity() == D(10100)


async def test_catalogue_rules_refuse_as_invalid_order() -> None:
    binance = account(Venue.BINANCE)
    below_notional = await refusal(binance.place_market_order(market("BTCUSDT", Side.BUY, "0.001", "n1")))
    off_step = await refusal(binance.place_market_order(market("BTCUSDT", Side.BUY, "0.0015", "n2")))
    assert below_notional.kind is off_step.kind is ErrorKind.INVALID_ORDER
    assert "notional" in str(below_notional)
    assert await binance.positions() == []


async def test_margin_refusal_is_insufficient_margin() -> None:
    client = account(Venue.BYBIT, balance="1000")
    error = await refusal(client.place_market_order(market("BTCUSDT", Side.BUY, "0.17", "m1")))
    assert error.kind is ErrorKind.INSUFFICIENT_MARGIN
    await client.place_market_order(market("BTCUSDT", Side.BUY, "0.16", "m2"))  # 960 of margin fits in 1000


async def test_duplicate_client_id_bybit_refuses_binance_accepts_once_filled() -> None:
    bybit, binance = account(Venue.BYBIT), account(Venue.BINANCE)
    await bybit.place_market_order(market("BTCUSDT", Side.BUY, "0.01", "dup"))
    error = await refusal(bybit.place_market_order(market("BTCUSDT", Side.BUY, "0.01", "dup")))
    assert error.kind is ErrorKind.DUPLICATE_CLIENT_ID
    await binance.place_market_order(market("BTCUSDT", Side.BUY, "0.01", "dup"))
    await binance.place_market_order(market("BTCUSDT", Side.BUY, "0.01", "dup"))  # Binance: only open orders count
    [position] = await binance.positions("BTCUSDT")
    assert position.size == D("0.02")


async def test_get_order_by_client_id() -> None:
    client = account(Venue.HYPERLIQUID)
    placed = await client.place_market_order(market("ETH", Side.SELL, "0.5", "0xabc"))
    found = await client.get_order("ETH", "0xabc")
    assert found is not None and found.venue_order_id == placed.venue_order_id and found.side is Side.SELL
    assert await client.get_order("ETH", "0xnever") is None
    assert await client.get_order("BTC", "0xabc") is None  # another symbol's order is not this one


async def test_leverage_whole_on_binance_and_hyperliquid_fractional_on_bybit() -> None:
    bybit, binance, hyperliquid = account(Venue.BYBIT), account(Venue.BINANCE), account(Venue.HYPERLIQUID)
    await bybit.set_leverage("BTCUSDT", D("12.5"))
    await binance.set_leverage("BTCUSDT", D("12.7"))
    await hyperliquid.set_leverage("BTC", D("7.9"))
    await hyperliquid.set_leverage("BTC", D(7))  # unchanged: success, as "not modified" is
    assert await bybit.leverage("BTCUSDT") == D("12.5")
    assert await binance.leverage("BTCUSDT") == D(12)
    assert await hyperliquid.leverage("BTC") == D(7)
    too_high = await refusal(hyperliquid.set_leverage("BTC", D(41)))  # BTC's maximum there is 40
    assert too_high.kind is ErrorKind.INVALID_ORDER


async def test_hyperliquid_has_no_hedge_mode() -> None:
    paper = PaperVenue(Venue.HYPERLIQUID)
    with pytest.raises(ValueError, match="no hedge mode"):
        paper.open_account("h", D(1000), PositionMode.HEDGE)
    client = paper.open_account("o", D(1000))
    error = await refusal(client.set_position_mode(PositionMode.HEDGE))
    assert error.kind is ErrorKind.INVALID_ORDER
    assert await client.position_mode() is PositionMode.ONE_WAY


async def test_hyperliquid_partial_close_needs_ten_dollars_a_whole_close_does_not() -> None:
    client = account(Venue.HYPERLIQUID)
    await client.place_market_order(market("DOGE", Side.BUY, "100", "o1"))  # 15 USD at 0.15
    small = await refusal(client.place_market_order(market("DOGE", Side.SELL, "50", "c1", reduce_only=True)))
    assert small.kind is ErrorKind.INVALID_ORDER and "minimum value of $10" in str(small)
    await client.place_market_order(market("DOGE", Side.SELL, "100", "c2", reduce_only=True))
    assert await client.positions("DOGE") == []


async def test_hedge_legs_on_bybit() -> None:
    client = account(Venue.BYBIT, mode=PositionMode.HEDGE)
    await client.place_market_order(market("ETHUSDT", Side.BUY, "1", "l", position_idx=PositionIdx.HEDGE_LONG))
    await client.place_market_order(market("ETHUSDT", Side.SELL, "2", "s", position_idx=PositionIdx.HEDGE_SHORT))
    legs = {p.position_idx: p.size for p in await client.positions("ETHUSDT")}
    assert legs == {PositionIdx.HEDGE_LONG: D(1), PositionIdx.HEDGE_SHORT: D(-2)}
    wrong_leg = await refusal(client.place_market_order(market("ETHUSDT", Side.BUY, "1", "x")))
    assert wrong_leg.kind is ErrorKind.INVALID_ORDER


async def test_key_permissions_and_unknown_account() -> None:
    paper = PaperVenue(Venue.BINANCE)
    permissions = await paper.open_account("k", D(1)).check_key_permissions()
    assert permissions.valid and permissions.can_trade_futures and not permissions.can_withdraw
    ghost = await refusal(PaperClient(paper, "ghost").equity())
    assert ghost.kind is ErrorKind.AUTH
    with pytest.raises(KeyError, match="open it first"):
        paper.client("ghost")
