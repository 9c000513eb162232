"""The Binance USD-M adapter against the Binance simulator: the shared contract, plus what only Binance has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from runtime.adapters.binance import BinanceClient, BinanceEndpoints, BinanceRateLimits
from runtime.adapters.common.rate_limit import RateLimiterRegistry
from runtime.adapters.common.redaction import SecretRegistry
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import ExchangeClient, OrderRequest, OrderState
from tests.integration.adapters.adapter_contract import AdapterContract
from tests.integration.adapters.binance_harness import BinanceHarness
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness, started


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(BinanceHarness()) as running:
        yield running


class TestBinanceContract(AdapterContract):
    pass


pytestmark = pytest.mark.asyncio(loop_scope="module")


# ----- what only Binance has ---------------------------------------------------------------------------------------

BTC = "BTCUSDT"


async def _client(venue: VenueHarness, mode: PositionMode = PositionMode.ONE_WAY) -> tuple[SimAccount, BinanceClient]:
    account = await venue.create_account(mode=mode)
    client = venue.client(account)
    assert isinstance(client, BinanceClient)
    return account, client


def _request(venue: VenueHarness, side: Side, qty: str, **kwargs: object) -> OrderRequest:
    return OrderRequest(BTC, side, Decimal(qty), venue.new_client_id(BTC), **kwargs)  # type: ignore[arg-type]


async def _refused(call: object) -> ExchangeError:
    assert asyncio.iscoroutine(call)
    with pytest.raises(ExchangeError) as caught:
        await call
    return caught.value


async def test_client_satisfies_the_port(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    port: ExchangeClient = client
    assert port.venue is Venue.BINANCE


async def test_filled_client_id_is_reusable_at_binance_so_the_look_up_is_the_guard(venue: VenueHarness) -> None:
    """-4116 covers open orders only: Binance takes a filled market order's id again. The adapter's look-up after a
    lost answer is what keeps the order single; a blind re-send would have doubled it."""
    account = await venue.create_account()
    client = venue.client(account, ClientTuning(timeout_s=0.25))
    request = _request(venue, Side.BUY, "0.01")
    await venue.set_latency("order", Decimal("0.6"))
    report = await client.place_market_order(request)
    assert report.state is OrderState.FILLED
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1

    await venue.clear_faults()
    await client.place_market_order(request)  # the venue itself does not object
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 2


async def test_server_error_after_the_order_landed_reports_the_fill(venue: VenueHarness) -> None:
    """A 5xx means "execution status unknown" at Binance: the look-up finds the order and reports it."""
    account, client = await _client(venue)
    request = _request(venue, Side.BUY, "0.01")
    await venue.inject_errors("order", "server_error", 1, process_first=True)
    report = await client.place_market_order(request)
    assert report.state is OrderState.FILLED and report.filled_qty == Decimal("0.01")
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1


async def test_reduce_only_below_min_notional_closes_and_plain_is_refused(venue: VenueHarness) -> None:
    """BTCUSDT's minimum notional is 100 USDT; -4164 says "unless you choose reduce only"."""
    _, client = await _client(venue)
    await client.place_market_order(_request(venue, Side.BUY, "0.01"))  # 600 USDT at 60000
    error = await _refused(client.place_market_order(_request(venue, Side.SELL, "0.001")))  # 60 USDT
    assert (error.kind, error.raw_code) == (ErrorKind.INVALID_ORDER, -4164)
    report = await client.place_market_order(_request(venue, Side.SELL, "0.001", reduce_only=True))
    assert report.state is OrderState.FILLED
    assert [p.size for p in await client.positions(BTC)] == [Decimal("0.009")]


async def test_hedge_reduce_only_that_would_grow_a_leg_is_refused_before_sending(venue: VenueHarness) -> None:
    """Hedge mode cannot carry reduceOnly at Binance, so a "reduce-only" Buy on LONG would open more: refused."""
    account, client = await _client(venue, PositionMode.HEDGE)
    request = _request(venue, Side.BUY, "0.01", reduce_only=True, position_idx=PositionIdx.HEDGE_LONG)
    error = await _refused(client.place_market_order(request))
    assert error.kind is ErrorKind.INVALID_ORDER and "LONG" in error.venue_message
    assert (await venue.account_state(account))["orders"] == []


async def test_position_side_against_the_account_mode_is_invalid(venue: VenueHarness) -> None:
    _, client = await _client(venue)  # one-way account, hedge leg asked
    error = await _refused(client.place_market_order(_request(venue, Side.BUY, "0.01", position_idx=1)))
    assert (error.kind, error.raw_code) == (ErrorKind.INVALID_ORDER, -4061)


async def test_refusals_keep_binance_codes(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    too_fine = await _refused(client.place_market_order(_request(venue, Side.BUY, "0.0105")))  # 4 decimals > 3
    assert (too_fine.kind, too_fine.raw_code) == (ErrorKind.INVALID_ORDER, -1111)
    too_big = await _refused(client.place_market_order(_request(venue, Side.BUY, "121")))  # max market qty 120
    assert (too_big.kind, too_big.raw_code) == (ErrorKind.INVALID_ORDER, -4005)
    poor = await _refused(client.place_market_order(_request(venue, Side.BUY, "100")))  # 6M USDT on 100k
    assert (poor.kind, poor.raw_code) == (ErrorKind.INSUFFICIENT_MARGIN, -2019)


async def test_invalid_client_order_id_is_refused_before_sending(venue: VenueHarness) -> None:
    """':' and '/' are in Binance's pattern, but python-binance signs them unencoded and sends them encoded."""
    account, client = await _client(venue)
    request = OrderRequest(BTC, Side.BUY, Decimal("0.01"), "ct:0001")
    error = await _refused(client.place_market_order(request))
    assert error.kind is ErrorKind.INVALID_ORDER
    assert (await venue.account_state(account))["orders"] == []


async def test_fractional_leverage_is_floored(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    await client.set_leverage("ETHUSDT", Decimal("12.5"))
    assert await client.leverage("ETHUSDT") == Decimal(12)
    error = await _refused(client.set_leverage("ETHUSDT", Decimal("0.5")))
    assert error.kind is ErrorKind.INVALID_ORDER


async def test_leverage_above_the_bracket_is_invalid(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    assert (await client.instrument_rules("1000PEPEUSDT")).max_leverage == Decimal(50)
    error = await _refused(client.set_leverage("1000PEPEUSDT", Decimal(51)))
    assert (error.kind, error.raw_code) == (ErrorKind.INVALID_ORDER, -4028)


async def test_position_mode_switch_refused_with_a_position(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    await client.place_market_order(_request(venue, Side.BUY, "0.01"))
    error = await _refused(client.set_position_mode(PositionMode.HEDGE))
    assert (error.kind, error.raw_code) == (ErrorKind.INVALID_ORDER, -4068)
    assert "close the follower's positions" in error.venue_message
    assert await client.position_mode() is PositionMode.ONE_WAY


async def test_instruments_are_cached(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    before = await client.instrument_rules("ETHUSDT")
    await venue.inject_errors("public", "server_error", 20)
    assert await client.instrument_rules("ETHUSDT") == before
    error = await _refused(client.refresh_instruments())
    assert error.kind is ErrorKind.TEMPORARY


async def test_rate_limit_pauses_every_follower_behind_the_same_ip(venue: VenueHarness) -> None:
    """Binance counts request weight per IP: a 429 seen by one follower holds back all that share the egress."""
    shared = RateLimiterRegistry(default_rate=1, default_burst=1)
    accounts = [await venue.create_account() for _ in range(2)]
    assert isinstance(venue, BinanceHarness)
    venue.limiter = shared
    try:
        hit = venue.client(accounts[0])
        venue.client(accounts[1])  # the second follower on the same egress
        venue.build_client_with(accounts[1], ClientTuning(), rate_limits=BinanceRateLimits(ip_key="binance:ip-2"))
        await venue.inject_errors("order", "rate_limit", 1)
        error = await _refused(hit.place_market_order(_request(venue, Side.BUY, "0.01")))
        assert (error.kind, error.raw_code, error.retry_after_s) == (ErrorKind.RATE_LIMITED, -1003, 1.0)
        assert not shared.bucket("binance:ip").try_acquire()  # the follower that did not hit it waits too
        assert shared.bucket("binance:ip-2").try_acquire()  # another egress is unaffected
    finally:
        venue.limiter = None


async def test_key_check_on_a_venue_without_wallet_api(venue: VenueHarness) -> None:
    """The futures testnet has no /sapi: the check proves the key works and reports it cannot withdraw."""
    account = await venue.create_account()
    assert isinstance(venue, BinanceHarness)
    client = venue.build_client_with(
        account, ClientTuning(), endpoints=BinanceEndpoints(f"{venue.base_url}/fapi", sapi_url=None)
    )
    permissions = await client.check_key_permissions()
    assert (permissions.valid, permissions.can_trade_futures, permissions.can_withdraw) == (True, True, False)
    assert "testnet" in permissions.detail


async def test_secrets_stay_out_of_reprs_logs_and_errors(venue: VenueHarness) -> None:
    account = await venue.create_account()
    key, secret = account.credentials["api_key"], account.credentials["api_secret"]
    shared = SecretRegistry()
    assert isinstance(venue, BinanceHarness)
    good = BinanceClient(venue.config(account, ClientTuning()), runner=venue.runner, secrets=shared)
    bad = venue.client_with_bad_secret(account)
    try:
        for text in (repr(good), repr(bad), repr(venue.config(account, ClientTuning()))):
            assert secret not in text and key not in text
        assert shared.redact(f"key={key} secret={secret}") == "key=*** secret=***"
        error = await _refused(bad.equity())
        assert (error.kind, error.raw_code) == (ErrorKind.AUTH, -1022)
        assert "not-the-secret" not in str(error) and key not in str(error)
    finally:
        await good.close()
