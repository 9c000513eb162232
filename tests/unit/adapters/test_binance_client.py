"""BinanceClient logic on a scripted fake of python-binance's Client (no network).

Mostly the order flow around lost answers, in cases the simulator cannot stage: an order that lands *after* the
first look-up said "not found" (the recvWindow guard), an executor so busy the call never starts, a RESULT answer
that still says NEW; plus a symbol the venue lists but does not trade.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from binance.exceptions import BinanceAPIException

from runtime.adapters.binance import BinanceClient, BinanceConfig
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.retry import RetryPolicy
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Side
from runtime.ports.exchange import OrderRequest, OrderState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "binance" / "adapter"
ORDER = OrderRequest("BTCUSDT", Side.BUY, Decimal("0.01"), "ct0123456789abcdef")


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code, self.text, self.request = status, json.dumps(body), None
        self.headers: dict[str, str] = {}


def api_error(status: int, code: int, msg: str) -> BinanceAPIException:
    response = FakeResponse(status, {"code": code, "msg": msg})
    return BinanceAPIException(response, status, response.text)


def order_payload(status: str = "FILLED", client_id: str = ORDER.client_order_id) -> dict[str, Any]:
    filled = status == "FILLED"
    return {
        "orderId": 7, "symbol": "BTCUSDT", "status": status, "clientOrderId": client_id, "side": "BUY",
        "origQty": "0.01", "executedQty": "0.01" if filled else "0", "avgPrice": "60000" if filled else "0",
    }


class FakeSdk:
    """Plays python-binance's Client: ``create`` scripts each placement; placed orders answer look-ups."""

    def __init__(self, create: Callable[[FakeSdk, dict[str, Any]], Any]) -> None:
        self._create = create
        self.creates = 0
        self.lookups = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.lookup_error: Exception | None = None
        self.info_loads = 0

    def land(self, payload: dict[str, Any]) -> None:
        self.orders[payload["clientOrderId"]] = payload

    def futures_create_order(self, **params: Any) -> Any:
        self.creates += 1
        return self._create(self, params)

    def futures_get_order(self, **params: Any) -> Any:
        self.lookups += 1
        if self.lookup_error is not None:
            raise self.lookup_error
        found = self.orders.get(params["origClientOrderId"])
        if found is None:
            raise api_error(400, -2013, "Order does not exist.")
        return found

    def futures_exchange_info(self) -> Any:
        self.info_loads += 1
        return json.loads((FIXTURES / "exchange_info.json").read_text())

    def futures_leverage_bracket(self) -> Any:
        return []

    def close_connection(self) -> None:
        pass


@pytest.fixture
def runner() -> Any:
    made = BlockingCallRunner(max_workers=4, thread_name_prefix="test-binance")
    yield made
    made.shutdown()


def client_for(sdk: FakeSdk, runner: BlockingCallRunner, **overrides: Any) -> BinanceClient:
    settings: dict[str, Any] = {
        "timeout_s": 1.0,
        "order_timeout_s": 0.05,
        "ambiguous_settle_s": 0.05,
        "retry": RetryPolicy(attempts=2, base_delay_s=0.001, max_delay_s=0.002),
    } | overrides
    config = BinanceConfig("key-0123456789", "secret-0123456789", **settings)
    return BinanceClient(config, runner=runner, sdk=cast(Any, sdk))


async def test_an_order_landing_after_the_first_look_up_is_found_not_sent_twice(runner: BlockingCallRunner) -> None:
    """Binance may still accept a lost request until its recvWindow has passed: "not found" right after the
    timeout is not final, so the adapter waits out the settle time and looks again instead of re-sending."""

    def slow_then_lands(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        threading.Timer(0.15, sdk.land, args=(order_payload(),)).start()
        time.sleep(0.3)
        return order_payload()

    sdk = FakeSdk(slow_then_lands)
    client = client_for(sdk, runner, ambiguous_settle_s=0.4)
    report = await client.place_market_order(ORDER)
    assert (report.state, report.filled_qty) == (OrderState.FILLED, Decimal("0.01"))
    assert sdk.creates == 1
    assert sdk.lookups == 2  # the first one came too early


async def test_a_request_lost_on_the_way_is_sent_again_with_the_same_id(runner: BlockingCallRunner) -> None:
    def drops_first(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        if sdk.creates == 1:
            raise requests.ConnectionError("connection reset by peer")
        sdk.land(order_payload(client_id=params["newClientOrderId"]))
        return sdk.orders[params["newClientOrderId"]]

    sdk = FakeSdk(drops_first)
    report = await client_for(sdk, runner).place_market_order(ORDER)
    assert report.state is OrderState.FILLED
    assert sdk.creates == 2 and sdk.lookups >= 1


async def test_every_attempt_lost_is_ambiguous(runner: BlockingCallRunner) -> None:
    def always_drops(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        raise requests.ConnectionError("connection reset by peer")

    sdk = FakeSdk(always_drops)
    with pytest.raises(ExchangeError) as caught:
        await client_for(sdk, runner, max_order_attempts=2).place_market_order(ORDER)
    assert caught.value.kind is ErrorKind.AMBIGUOUS
    assert "look it up by client id" in caught.value.venue_message
    assert sdk.creates == 2


async def test_a_server_error_not_followed_by_an_order_is_temporary(runner: BlockingCallRunner) -> None:
    sdk = FakeSdk(lambda sdk, params: (_ for _ in ()).throw(api_error(503, -1001, "Internal error")))
    with pytest.raises(ExchangeError) as caught:
        await client_for(sdk, runner).place_market_order(ORDER)
    assert (caught.value.kind, caught.value.raw_code) == (ErrorKind.TEMPORARY, -1001)
    assert sdk.creates == 1 and sdk.lookups == 2


async def test_a_call_that_never_started_is_not_ambiguous_and_never_goes_out_later() -> None:
    """A saturated executor: the order call misses its deadline while queued. Nothing was sent, so the error is
    TEMPORARY, and the queued call must not go out once the executor frees up."""
    runner = BlockingCallRunner(max_workers=1, thread_name_prefix="test-binance-busy")
    release = threading.Event()
    runner._executor.submit(release.wait, 5)
    sdk = FakeSdk(lambda sdk, params: order_payload())
    try:
        with pytest.raises(ExchangeError) as caught:
            await client_for(sdk, runner).place_market_order(ORDER)
        assert caught.value.kind is ErrorKind.TEMPORARY
    finally:
        release.set()
        await asyncio.sleep(0.1)  # time for a wrongly queued call to run, if one were left
        runner.shutdown()
    assert sdk.creates == 0 and sdk.lookups == 0


async def test_a_result_that_still_says_new_is_looked_up(runner: BlockingCallRunner) -> None:
    def acknowledged(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        sdk.land(order_payload("FILLED"))
        return order_payload("NEW")

    sdk = FakeSdk(acknowledged)
    report = await client_for(sdk, runner).place_market_order(ORDER)
    assert report.state is OrderState.FILLED and sdk.lookups == 1


async def test_duplicate_id_reports_the_order_already_open(runner: BlockingCallRunner) -> None:
    def duplicate(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        sdk.land(order_payload("NEW"))
        raise api_error(400, -4116, "ClientOrderId is duplicated.")

    sdk = FakeSdk(duplicate)
    report = await client_for(sdk, runner).place_market_order(ORDER)
    assert (report.state, report.venue_order_id) == (OrderState.NEW, "7")
    assert sdk.creates == 1


async def test_a_failing_look_up_leaves_the_order_ambiguous(runner: BlockingCallRunner) -> None:
    def lost(sdk: FakeSdk, params: dict[str, Any]) -> Any:
        sdk.lookup_error = api_error(503, -1001, "Internal error")
        raise requests.ReadTimeout("read timed out")

    sdk = FakeSdk(lost)
    with pytest.raises(ExchangeError) as caught:
        await client_for(sdk, runner).place_market_order(ORDER)
    assert caught.value.kind is ErrorKind.AMBIGUOUS
    assert "may have been placed" in caught.value.venue_message
    assert sdk.creates == 1


async def test_rejections_are_raised_without_a_look_up(runner: BlockingCallRunner) -> None:
    sdk = FakeSdk(lambda sdk, params: (_ for _ in ()).throw(api_error(400, -2019, "Margin is insufficient.")))
    with pytest.raises(ExchangeError) as caught:
        await client_for(sdk, runner).place_market_order(ORDER)
    assert caught.value.kind is ErrorKind.INSUFFICIENT_MARGIN
    assert (sdk.creates, sdk.lookups) == (1, 0)


async def test_a_listed_symbol_that_does_not_trade_is_refused(runner: BlockingCallRunner) -> None:
    sdk = FakeSdk(lambda sdk, params: order_payload())
    client = client_for(sdk, runner)
    rules = await client.instrument_rules("BLZUSDT")  # the documented exchangeInfo example
    assert rules.tick_size == Decimal("0.0001")
    listed = client._instruments["BLZUSDT"]
    client._instruments["BLZUSDT"] = replace(listed, status="SETTLING")
    with pytest.raises(ExchangeError) as caught:
        await client.instrument_rules("BLZUSDT")
    assert caught.value.kind is ErrorKind.INVALID_ORDER and "SETTLING" in caught.value.venue_message


async def test_an_unknown_symbol_does_not_reload_the_instruments_on_every_call(runner: BlockingCallRunner) -> None:
    sdk = FakeSdk(lambda sdk, params: order_payload())
    client = client_for(sdk, runner)
    for _ in range(3):
        with pytest.raises(ExchangeError) as caught:
            await client.instrument_rules("NOSUCHUSDT")
        assert caught.value.kind is ErrorKind.INVALID_ORDER and "symbol mapping" in caught.value.venue_message
    assert sdk.info_loads == 1
    await client.refresh_instruments()  # an explicit refresh always reloads
    assert sdk.info_loads == 2
