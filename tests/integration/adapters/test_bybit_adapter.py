"""The Bybit adapter against the Bybit simulator: the shared contract, plus what only Bybit has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from pybit.exceptions import InvalidRequestError

from runtime.adapters.bybit import BybitClient, BybitConfig, BybitCredentials
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionMode, Side, Venue
from runtime.ports.exchange import ExchangeClient, OrderRequest, OrderState
from runtime.sim.bybit import BybitSimulator
from runtime.sim.bybit.payloads import order_id_text
from tests.integration.adapters.adapter_contract import AdapterContract
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness, started


class BybitHarness(VenueHarness):
    venue = Venue.BYBIT
    supports_hedge = True
    rate_limit_gives_hint = True

    def build_simulator(self) -> BybitSimulator:
        return BybitSimulator()

    def wire_order_id(self, engine_order_id: str) -> str:
        return order_id_text(int(engine_order_id))

    def config(self, tuning: ClientTuning) -> BybitConfig:
        return BybitConfig(base_url=self.base_url, call_timeout_s=tuning.timeout_s, retry=tuning.retry)

    def build_client(self, account: SimAccount, tuning: ClientTuning) -> BybitClient:
        credentials = BybitCredentials(account.credentials["api_key"], account.credentials["api_secret"])
        return BybitClient(credentials, self.config(tuning), runner=self.runner)

    def build_client_with_bad_secret(self, account: SimAccount, tuning: ClientTuning) -> BybitClient:
        credentials = BybitCredentials(account.credentials["api_key"], "not-the-secret-" + "0" * 32)
        return BybitClient(credentials, self.config(tuning), runner=self.runner)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(BybitHarness()) as running:
        yield running


class TestBybitContract(AdapterContract):
    pass


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _client(venue: VenueHarness) -> tuple[SimAccount, BybitClient]:
    account = await venue.create_account()
    client = venue.client(account)
    assert isinstance(client, BybitClient)
    return account, client


async def test_client_satisfies_the_port(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    port: ExchangeClient = client
    assert port.venue is Venue.BYBIT


async def test_market_order_placed_twice_with_one_client_id_is_one_order(venue: VenueHarness) -> None:
    """Bybit refuses any reuse of an orderLinkId (110072), filled orders included: the second call reports the
    first order instead of placing another."""
    account, client = await _client(venue)
    symbol = "BTCUSDT"
    request = OrderRequest(symbol, Side.BUY, Decimal("0.01"), venue.new_client_id(symbol))
    first = await client.place_market_order(request)
    second = await client.place_market_order(request)
    assert second.venue_order_id == first.venue_order_id
    assert second.state is OrderState.FILLED
    assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1
    assert [p.size for p in await client.positions(symbol)] == [Decimal("0.01")]


async def test_thousand_unit_contract_has_its_multiplier(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    rules = await client.instrument_rules("1000PEPEUSDT")
    assert rules.unit_multiplier == Decimal(1000)
    assert (await client.instrument_rules("BTCUSDT")).unit_multiplier == Decimal(1)


async def test_instruments_are_cached(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    before = await client.instrument_rules("ETHUSDT")
    await venue.inject_errors("public", "server_error", 20)
    assert await client.instrument_rules("ETHUSDT") == before
    with pytest.raises(ExchangeError) as caught:
        await client.refresh_instruments()
    assert caught.value.kind is ErrorKind.TEMPORARY


async def test_leverage_not_modified_is_raised_by_the_venue_and_absorbed(venue: VenueHarness) -> None:
    """The simulator really answers 110043 on the second call: the adapter turns it into success."""
    account, client = await _client(venue)
    await client.set_leverage("ETHUSDT", Decimal(3))
    http = client._http  # the pybit session, called directly to see the venue's own answer
    with pytest.raises(InvalidRequestError) as caught:  # in a thread: the simulator answers on this event loop
        await asyncio.to_thread(
            http.set_leverage, category="linear", symbol="ETHUSDT", buyLeverage="3", sellLeverage="3"
        )
    assert caught.value.status_code == 110043
    await client.set_leverage("ETHUSDT", Decimal(3))
    assert (await venue.account_state(account))["leverage"]["ETHUSDT"] == "3"


async def test_rate_limit_hint_comes_from_the_reset_header(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    await venue.inject_errors("order", "rate_limit", 1)
    request = OrderRequest("BTCUSDT", Side.BUY, Decimal("0.01"), venue.new_client_id("BTCUSDT"))
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(request)
    error = caught.value
    assert error.kind is ErrorKind.RATE_LIMITED and error.raw_code == 10006
    # The simulator's window resets on the next whole second: the hint is within (0, 1].
    assert error.retry_after_s is not None and 0 <= error.retry_after_s <= 1.0


async def test_off_step_refusal_keeps_bybit_code_and_message(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    request = OrderRequest("BTCUSDT", Side.BUY, Decimal("0.0015"), venue.new_client_id("BTCUSDT"))
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(request)
    assert caught.value.raw_code == 10001
    assert "Qty invalid" in caught.value.venue_message


async def test_invalid_client_order_id_is_refused_before_sending(venue: VenueHarness) -> None:
    account, client = await _client(venue)
    request = OrderRequest("BTCUSDT", Side.BUY, Decimal("0.01"), "has spaces and is far too long for bybit ids")
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(request)
    assert caught.value.kind is ErrorKind.INVALID_ORDER
    assert (await venue.account_state(account))["orders"] == []


async def test_secrets_stay_out_of_reprs_and_errors(venue: VenueHarness) -> None:
    account = await venue.create_account()
    secret = account.credentials["api_secret"]
    client = venue.client_with_bad_secret(account)
    good = venue.client(account)
    for text in (repr(client), repr(good), repr(BybitCredentials(account.credentials["api_key"], secret))):
        assert secret not in text and account.credentials["api_key"] not in text
    with pytest.raises(ExchangeError) as caught:
        await client.equity()
    assert caught.value.kind is ErrorKind.AUTH and caught.value.raw_code == 10004
    assert "not-the-secret" not in str(caught.value)


async def test_position_mode_switch_refused_with_a_position(venue: VenueHarness) -> None:
    _, client = await _client(venue)
    await client.place_market_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("0.01"), venue.new_client_id("BTCUSDT")))
    with pytest.raises(ExchangeError) as caught:
        await client.set_position_mode(PositionMode.HEDGE)
    assert caught.value.raw_code == 110024
    assert await client.position_mode() is PositionMode.ONE_WAY
