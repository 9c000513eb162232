"""The Hyperliquid adapter against the Hyperliquid simulator: the shared contract, plus what only Hyperliquid has
(agent wallets, one-way only, IOC-limit market orders, whole leverage, nonces under concurrency)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from runtime.adapters.common.key_check import UnsafeKeyError, ensure_safe_key
from runtime.adapters.hyperliquid import HyperliquidClient
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import ExchangeClient, OrderRequest, OrderState
from runtime.sim.hyperliquid import HyperliquidSimulator
from runtime.sim.hyperliquid.wire import price_is_valid
from tests.integration.adapters.adapter_contract import AdapterContract
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness, qty_for_notional, started
from tests.integration.adapters.hyperliquid_harness import HyperliquidHarness

D = Decimal


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(HyperliquidHarness()) as running:
        yield running


class TestHyperliquidContract(AdapterContract):
    pass


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _client(venue: VenueHarness) -> tuple[SimAccount, HyperliquidClient]:
    account = await venue.create_account()
    client = venue.client(account)
    assert isinstance(client, HyperliquidClient)
    return account, client


def _request(venue: VenueHarness, symbol: str, side: Side, qty: Decimal, **extra: object) -> OrderRequest:
    return OrderRequest(symbol, side, qty, venue.new_client_id(symbol), **extra)  # type: ignore[arg-type]


async def test_client_satisfies_the_port_and_hides_the_key(venue: VenueHarness) -> None:
    account, client = await _client(venue)
    port: ExchangeClient = client
    assert port.venue is Venue.HYPERLIQUID
    key = account.credentials["agent_private_key"]
    assert key not in repr(client) and key.removeprefix("0x") not in repr(client)
    assert client.signer_address == account.credentials["agent_address"]


async def test_the_main_wallet_key_is_refused_with_what_to_do(venue: VenueHarness) -> None:
    account = await venue.create_account()
    assert isinstance(venue, HyperliquidHarness)
    client = venue.client_with_key(account, account.credentials["private_key"])
    with pytest.raises(UnsafeKeyError) as caught:
        await ensure_safe_key("follower hl", client)
    assert "agent/API wallet" in str(caught.value)
    assert account.credentials["private_key"] not in str(caught.value)


async def test_an_agent_of_another_account_is_not_valid_for_this_one(venue: VenueHarness) -> None:
    """An agent always acts for its owner: configured with someone else's address it would trade the wrong
    account while reading this one. The start-up check catches it."""
    mine, theirs = await venue.create_account(), await venue.create_account()
    assert isinstance(venue, HyperliquidHarness)
    client = venue.client_with_key(mine, theirs.credentials["agent_private_key"])
    permissions = await client.check_key_permissions()
    assert not permissions.valid
    assert theirs.credentials["address"] in permissions.detail


async def test_hedge_mode_and_hedge_legs_are_refused_clearly(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    assert await client.position_mode() is PositionMode.ONE_WAY
    with pytest.raises(ExchangeError) as caught:
        await client.set_position_mode(PositionMode.HEDGE)
    assert caught.value.kind is ErrorKind.INVALID_ORDER and "no hedge mode" in str(caught.value)
    request = _request(venue, "BTC", Side.BUY, D("0.001"), position_idx=PositionIdx.HEDGE_LONG)
    with pytest.raises(ExchangeError) as leg:
        await client.place_market_order(request)
    assert leg.value.kind is ErrorKind.INVALID_ORDER


async def test_a_market_order_is_an_ioc_limit_through_the_mid_by_the_slippage(venue: VenueHarness) -> None:
    account, client = await _client(venue)
    await venue.set_mark("ETH", D("3012.34"))
    buy = await client.place_market_order(_request(venue, "ETH", Side.BUY, D("0.1")))
    sell = await client.place_market_order(_request(venue, "ETH", Side.SELL, D("0.1")))
    sim = venue.simulator
    assert isinstance(sim, HyperliquidSimulator)
    orders = {order["order_id"]: order for order in (await venue.account_state(account))["orders"]}
    assert D(orders[buy.venue_order_id]["price"]) == D("3163")  # 3012.34 x 1.05 = 3162.957, up to the tick
    assert D(orders[sell.venue_order_id]["price"]) == D("2861.7")  # x 0.95 = 2861.723, down to the tick
    assert {sim.order_tifs[int(oid)] for oid in orders} == {"Ioc"}
    assert buy.state is sell.state is OrderState.FILLED
    assert buy.avg_price == sell.avg_price == D("3012.34")  # the simulator fills at the mark


async def test_orders_on_every_listed_coin_pass_the_venue_price_rule(venue: VenueHarness) -> None:
    """The limit price is built from the mid with Decimal rounding; the venue accepts it for every szDecimals."""
    _, client = await _client(venue)
    for listed in venue.simulator.engine.catalogue:
        rules = await client.instrument_rules(listed.symbol)
        mark = await venue.mark(listed.symbol)
        assert listed.sz_decimals is not None
        # The tick is the venue's finest step at this price: one tick up is valid, a tenth of it is not.
        assert price_is_valid(mark + rules.tick_size, listed.sz_decimals)
        assert not price_is_valid(mark + rules.tick_size / 10, listed.sz_decimals)
        qty = qty_for_notional(rules, mark, D("50"))
        report = await client.place_market_order(_request(venue, listed.symbol, Side.BUY, qty))
        assert report.state is OrderState.FILLED, listed.symbol
    assert (await client.instrument_rules("kPEPE")).unit_multiplier == D(1000)


async def test_the_same_cloid_twice_is_one_order(venue: VenueHarness) -> None:
    account, client = await _client(venue)
    request = _request(venue, "BTC", Side.BUY, D("0.001"))
    first = await client.place_market_order(request)
    second = await client.place_market_order(request)
    assert second == first
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1
    assert [p.size for p in await client.positions("BTC")] == [D("0.001")]


async def test_many_concurrent_orders_of_one_agent_never_reuse_a_nonce(venue: VenueHarness) -> None:
    """Two clients of one agent firing at once: the SDK's timestamp nonce would repeat within a millisecond."""
    account = await venue.create_account()
    assert isinstance(venue, HyperliquidHarness)
    first = venue.client_with_key(account, account.credentials["agent_private_key"])
    second = venue.client_with_key(account, account.credentials["agent_private_key"])
    requests = [_request(venue, "SOL", Side.BUY, D("0.1")) for _ in range(24)]
    reports = await asyncio.gather(
        *(client.place_market_order(r) for client, r in zip([first, second] * 12, requests, strict=True))
    )
    assert all(report.state is OrderState.FILLED for report in reports)
    assert [p.size for p in await first.positions("SOL")] == [D("2.4")]


async def test_fractional_leverage_is_floored_to_a_whole_number(venue: VenueHarness) -> None:
    account, client = await _client(venue)
    await client.set_leverage("ETH", D("7.5"))
    assert D((await venue.account_state(account))["leverage"]["ETH"]) == D(7)
    assert await client.leverage("ETH") == D(7)
    with pytest.raises(ExchangeError) as caught:
        await client.set_leverage("ETH", D(26))  # above ETH's maxLeverage 25
    assert caught.value.kind is ErrorKind.INVALID_ORDER


async def test_a_short_and_its_close_below_ten_dollars(venue: VenueHarness) -> None:
    """A reduce-only order closing the whole position goes through under the $10 minimum."""
    _, client = await _client(venue)
    await client.place_market_order(_request(venue, "DOGE", Side.SELL, D("100")))  # 100 x 0.15 = $15
    [short] = await client.positions("DOGE")
    assert short.size == D(-100) and short.entry_price == D("0.15")
    await venue.set_mark("DOGE", D("0.05"))  # now worth $5
    close = await client.place_market_order(_request(venue, "DOGE", Side.BUY, D("100"), reduce_only=True))
    assert close.state is OrderState.FILLED
    assert await client.positions() == []


async def test_no_secret_in_logs_or_errors_on_failures(venue: VenueHarness, caplog: pytest.LogCaptureFixture) -> None:
    account = await venue.create_account()
    client = venue.client_with_bad_secret(account)
    assert isinstance(client, HyperliquidClient)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(_request(venue, "BTC", Side.BUY, D("0.001")))
    assert caught.value.kind is ErrorKind.AUTH
    for secret in client.secrets._secrets:
        assert secret not in str(caught.value) and secret not in caplog.text


async def test_instruments_are_served_from_the_cache_while_reads_fail(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    before = await client.instrument_rules("ETH")
    await venue.inject_errors("read", "server_error", 20)
    assert await client.instrument_rules("ETH") == before
    with pytest.raises(ExchangeError) as caught:
        await client.refresh_instruments()
    assert caught.value.kind is ErrorKind.TEMPORARY


async def test_a_lost_answer_whose_look_up_fails_too_stays_ambiguous(venue: VenueHarness) -> None:
    """No answer and no look-up: the adapter must not guess (neither "placed" nor "send again")."""
    account = await venue.create_account()
    client = venue.client(account, ClientTuning(timeout_s=0.25))
    assert isinstance(client, HyperliquidClient)
    request = _request(venue, "BTC", Side.BUY, D("0.001"))
    await client.instrument_rules("BTC")
    await venue.set_latency("order", D("0.6"))

    async def look_up_fails(symbol: str, client_order_id: str) -> None:
        raise ExchangeError(ErrorKind.TEMPORARY, Venue.HYPERLIQUID, "look-up down")

    client.get_order = look_up_fails  # type: ignore[method-assign]
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(request)
    assert caught.value.kind is ErrorKind.AMBIGUOUS and "look it up again" in str(caught.value)
    await asyncio.sleep(0.5)  # the venue handled the one order meanwhile
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1
