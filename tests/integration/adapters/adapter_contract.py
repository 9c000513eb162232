"""The adapter suite every venue passes: the same tests, run against each venue's simulator over real HTTP.

A venue's test module subclasses ``AdapterContract`` and provides a module-scoped ``harness`` fixture (see
``SUITE_READY.md``). Tests use only the harness and the ``ExchangeClient`` port, so what passes here holds for the
engine on every venue: rules, equity, signed positions in both modes, leverage, market orders, look-up by client
id, cancel, every error kind produced for real, a lost response resolved by look-up, and the key check.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from runtime.adapters.common.key_check import UnsafeKeyError, ensure_safe_key
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import PositionIdx, PositionMode, Side
from runtime.ports.exchange import ExchangeClient, OrderReport, OrderRequest, OrderState
from tests.integration.adapters.harness import (
    ClientTuning,
    SimAccount,
    VenueHarness,
    price_on_tick,
    qty_for_notional,
)

# Order sizes: worth this much at the mark, well above every venue's minimum notional, far below any margin limit.
ORDER_NOTIONAL = Decimal("250")
# Lost-response tests: the client gives up after TIGHT_TIMEOUT_S, the simulator answers after LATE_ANSWER_S.
TIGHT_TIMEOUT_S = 0.25
LATE_ANSWER_S = Decimal("0.6")


def _by_leg(positions: list[FollowerPosition]) -> dict[int, Decimal]:
    return {int(p.position_idx): p.size for p in positions}


async def _raises(kind: ErrorKind, call: object) -> ExchangeError:
    """Await ``call`` and return the ExchangeError it raised, failing unless its kind is ``kind``."""
    assert asyncio.iscoroutine(call)
    with pytest.raises(ExchangeError) as caught:
        await call
    assert caught.value.kind is kind, f"expected {kind.value}, got {caught.value.kind.value}: {caught.value}"
    return caught.value


class AdapterContract:
    """Subclass in a venue's test module (``class TestBybitContract(AdapterContract): ...``)."""

    pytestmark = pytest.mark.asyncio(loop_scope="module")

    # ----- small helpers ---------------------------------------------------------------------------------------

    async def _trader(
        self, venue: VenueHarness, *, mode: PositionMode = PositionMode.ONE_WAY, balance: str = "100000"
    ) -> tuple[SimAccount, ExchangeClient]:
        account = await venue.create_account(balance=Decimal(balance), mode=mode)
        return account, venue.client(account)

    async def _btc(self, venue: VenueHarness) -> tuple[str, InstrumentRules, Decimal, Decimal]:
        """(symbol, the simulator's rules, its mark, an order size worth ORDER_NOTIONAL)."""
        symbol = venue.symbol("BTC")
        rules = venue.catalogue_rules(symbol)
        mark = await venue.mark(symbol)
        return symbol, rules, mark, qty_for_notional(rules, mark, ORDER_NOTIONAL)

    async def _market(
        self,
        venue: VenueHarness,
        client: ExchangeClient,
        symbol: str,
        side: Side,
        qty: Decimal,
        *,
        reduce_only: bool = False,
        position_idx: PositionIdx = PositionIdx.ONE_WAY,
    ) -> OrderReport:
        request = OrderRequest(
            symbol=symbol,
            side=side,
            qty=qty,
            client_order_id=venue.new_client_id(symbol),
            reduce_only=reduce_only,
            position_idx=position_idx,
        )
        return await client.place_market_order(request)

    # ----- instrument rules ------------------------------------------------------------------------------------

    async def test_instrument_rules_match_the_simulator_catalogue(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        for listed in venue.simulator.engine.catalogue:
            rules = await client.instrument_rules(listed.symbol)
            assert rules.venue is venue.venue
            assert rules.symbol == listed.symbol
            for name in venue.published_rule_fields:
                assert getattr(rules, name) == getattr(listed.rules, name), f"{listed.symbol}.{name}"

    async def test_refresh_instruments_keeps_the_rules(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol = venue.symbol("ETH")
        before = await client.instrument_rules(symbol)
        await client.refresh_instruments()
        assert await client.instrument_rules(symbol) == before

    async def test_unknown_symbol_is_refused_as_invalid(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        await _raises(ErrorKind.INVALID_ORDER, client.instrument_rules(venue.symbol("NOSUCHCOIN")))

    # ----- equity ----------------------------------------------------------------------------------------------

    async def test_equity_of_a_new_account_is_its_balance(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue, balance="12345.5")
        assert await client.equity() == Decimal("12345.5")

    async def test_equity_follows_the_mark(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, rules, mark, qty = await self._btc(venue)
        await self._market(venue, client, symbol, Side.BUY, qty)
        await venue.set_mark(symbol, price_on_tick(rules, mark * Decimal("1.1")))
        equity = await client.equity()
        state = await venue.account_state(account)
        assert equity == Decimal(state["equity"])
        assert equity > Decimal(state["balance"])

    # ----- positions -------------------------------------------------------------------------------------------

    async def test_positions_one_way_are_signed_and_flat_legs_omitted(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol, _, mark, qty = await self._btc(venue)
        assert await client.positions(symbol) == []

        await self._market(venue, client, symbol, Side.BUY, qty)
        [long] = await client.positions(symbol)
        assert (long.venue, long.symbol, long.size, long.position_idx) == (
            venue.venue,
            symbol,
            qty,
            PositionIdx.ONE_WAY,
        )
        assert long.entry_price > 0
        assert abs(long.entry_price - mark) / mark < Decimal("0.01")

        await self._market(venue, client, symbol, Side.SELL, qty * 2)  # flips through zero
        [short] = await client.positions()
        assert (short.symbol, short.size) == (symbol, -qty)

        await self._market(venue, client, symbol, Side.BUY, qty, reduce_only=True)
        assert await client.positions(symbol) == []
        assert await client.positions() == []

    async def test_positions_hedge_legs_are_signed(self, venue: VenueHarness) -> None:
        if not venue.supports_hedge:
            pytest.skip(f"{venue.venue.value} has no hedge mode")
        _, client = await self._trader(venue, mode=PositionMode.HEDGE)
        symbol, _, _, qty = await self._btc(venue)
        await self._market(venue, client, symbol, Side.BUY, qty * 2, position_idx=PositionIdx.HEDGE_LONG)
        await self._market(venue, client, symbol, Side.SELL, qty, position_idx=PositionIdx.HEDGE_SHORT)
        assert _by_leg(await client.positions(symbol)) == {1: qty * 2, 2: -qty}

        # Closing part of the long leg: a sell on leg 1, reduce-only.
        await self._market(venue, client, symbol, Side.SELL, qty, reduce_only=True, position_idx=PositionIdx.HEDGE_LONG)
        assert _by_leg(await client.positions(symbol)) == {1: qty, 2: -qty}

        await self._market(venue, client, symbol, Side.BUY, qty, reduce_only=True, position_idx=PositionIdx.HEDGE_SHORT)
        assert _by_leg(await client.positions()) == {1: qty}

    async def test_position_mode_read_and_switch(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        assert await client.position_mode() is PositionMode.ONE_WAY
        await client.set_position_mode(PositionMode.ONE_WAY)  # not modified: success
        if not venue.supports_hedge:
            return
        await client.set_position_mode(PositionMode.HEDGE)
        assert await client.position_mode() is PositionMode.HEDGE
        assert (await venue.account_state(account))["position_mode"] == "hedge"
        await client.set_position_mode(PositionMode.HEDGE)  # not modified: success

    # ----- leverage --------------------------------------------------------------------------------------------

    async def test_leverage_set_read_and_not_modified(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, _, _, qty = await self._btc(venue)
        await client.set_leverage(symbol, Decimal(5))
        assert await client.leverage(symbol) == Decimal(5)
        assert Decimal((await venue.account_state(account))["leverage"][symbol]) == Decimal(5)
        await client.set_leverage(symbol, Decimal(5))  # the venue says "not modified": success
        await client.set_leverage(symbol, Decimal(7))
        assert await client.leverage(symbol) == Decimal(7)

        await self._market(venue, client, symbol, Side.BUY, qty)
        [position] = await client.positions(symbol)
        assert position.leverage == Decimal(7)
        assert position.initial_margin > 0

    # ----- orders ----------------------------------------------------------------------------------------------

    async def test_market_order_reports_the_fill(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, _, mark, qty = await self._btc(venue)
        request = OrderRequest(symbol=symbol, side=Side.BUY, qty=qty, client_order_id=venue.new_client_id(symbol))
        report = await client.place_market_order(request)
        assert (report.client_order_id, report.symbol, report.side, report.qty) == (
            request.client_order_id,
            symbol,
            Side.BUY,
            qty,
        )
        assert report.state is OrderState.FILLED
        assert report.filled_qty == qty
        assert abs(report.avg_price - mark) / mark < Decimal("0.01")
        assert await venue.wire_order_ids(account, request.client_order_id) == [report.venue_order_id]

    async def test_reduce_only_order_on_a_flat_account_is_invalid(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol, _, _, qty = await self._btc(venue)
        await _raises(ErrorKind.INVALID_ORDER, self._market(venue, client, symbol, Side.SELL, qty, reduce_only=True))
        assert await client.positions(symbol) == []

    async def test_get_order_by_client_id(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol, _, _, qty = await self._btc(venue)
        placed = await self._market(venue, client, symbol, Side.SELL, qty)
        found = await client.get_order(symbol, placed.client_order_id)
        assert found is not None
        assert (found.venue_order_id, found.client_order_id, found.side, found.state) == (
            placed.venue_order_id,
            placed.client_order_id,
            Side.SELL,
            OrderState.FILLED,
        )
        assert found.filled_qty == qty
        assert found.avg_price > 0

    async def test_get_order_never_seen_is_none(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol = venue.symbol("BTC")
        assert await client.get_order(symbol, venue.new_client_id(symbol)) is None

    async def test_cancel_a_resting_order(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, rules, mark, qty = await self._btc(venue)
        client_id = venue.new_client_id(symbol)
        price = price_on_tick(rules, mark * Decimal("0.8"))
        order_id = venue.place_resting_limit(
            account, symbol=symbol, side=Side.BUY, qty=qty, price=price, client_id=client_id
        )

        resting = await client.get_order(symbol, client_id)
        assert resting is not None
        assert (resting.venue_order_id, resting.state, resting.filled_qty) == (order_id, OrderState.NEW, Decimal(0))

        await client.cancel_order(symbol, client_id)
        [at_venue] = await venue.orders_with_client_id(account, client_id)
        assert at_venue["status"] == "Cancelled"
        cancelled = await client.get_order(symbol, client_id)
        assert cancelled is not None and cancelled.state is OrderState.CANCELLED

    async def test_cancel_of_an_unknown_order_is_not_found(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        symbol = venue.symbol("BTC")
        await _raises(ErrorKind.NOT_FOUND, client.cancel_order(symbol, venue.new_client_id(symbol)))

    # ----- every error kind, produced for real -----------------------------------------------------------------

    async def test_below_min_qty_is_invalid_order(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, rules, _, _ = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, rules.min_qty / 2, venue.new_client_id(symbol))
        error = await _raises(ErrorKind.INVALID_ORDER, client.place_market_order(request))
        assert error.raw_code is not None or error.venue_message
        assert await venue.orders_with_client_id(account, request.client_order_id) == []

    async def test_off_step_qty_is_invalid_order(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, rules, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, qty + rules.qty_step / 2, venue.new_client_id(symbol))
        await _raises(ErrorKind.INVALID_ORDER, client.place_market_order(request))
        assert await venue.orders_with_client_id(account, request.client_order_id) == []
        assert await client.positions(symbol) == []

    async def test_insufficient_margin(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue, balance="100")
        symbol, rules, mark, _ = await self._btc(venue)
        await client.set_leverage(symbol, Decimal(2))
        # Initial margin = notional / 2 = 300 USDT against a 100 USDT account.
        qty = qty_for_notional(rules, mark, Decimal("600"))
        request = OrderRequest(symbol, Side.BUY, qty, venue.new_client_id(symbol))
        await _raises(ErrorKind.INSUFFICIENT_MARGIN, client.place_market_order(request))
        assert await venue.orders_with_client_id(account, request.client_order_id) == []

    async def test_duplicate_client_id_returns_the_order_already_placed(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, rules, mark, qty = await self._btc(venue)
        client_id = venue.new_client_id(symbol)
        price = price_on_tick(rules, mark * Decimal("0.8"))
        order_id = venue.place_resting_limit(
            account, symbol=symbol, side=Side.BUY, qty=qty, price=price, client_id=client_id
        )

        report = await client.place_market_order(OrderRequest(symbol, Side.BUY, qty, client_id))
        assert (report.venue_order_id, report.client_order_id, report.state) == (order_id, client_id, OrderState.NEW)
        assert len(await venue.orders_with_client_id(account, client_id)) == 1
        assert await client.positions(symbol) == []

    async def test_rate_limited_order_is_refused_with_a_hint_and_places_nothing(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, _, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, qty, venue.new_client_id(symbol))
        await venue.inject_errors("order", "rate_limit", 1)
        error = await _raises(ErrorKind.RATE_LIMITED, client.place_market_order(request))
        assert error.retryable
        if venue.rate_limit_gives_hint:
            assert error.retry_after_s is not None and 0 <= error.retry_after_s <= 60
        assert await venue.orders_with_client_id(account, request.client_order_id) == []

        # Sent again later with the same client id: placed exactly once.
        report = await client.place_market_order(request)
        assert report.state is OrderState.FILLED
        assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1

    async def test_rate_limited_read_is_retried(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue, balance="5000")
        await venue.inject_errors("*", "rate_limit", 1)
        assert await client.equity() == Decimal(5000)

    async def test_server_error_on_a_read_is_retried(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue, balance="5000")
        await venue.inject_errors("*", "server_error", 1)
        assert await client.equity() == Decimal(5000)

    async def test_persistent_server_errors_are_temporary(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        await venue.inject_errors("*", "server_error", 20)
        error = await _raises(ErrorKind.TEMPORARY, client.equity())
        assert error.retryable

    async def test_server_error_on_an_order_is_temporary_and_places_nothing(self, venue: VenueHarness) -> None:
        account, client = await self._trader(venue)
        symbol, _, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, qty, venue.new_client_id(symbol))
        await venue.inject_errors("order", "server_error", 1)
        await _raises(ErrorKind.TEMPORARY, client.place_market_order(request))
        assert await venue.orders_with_client_id(account, request.client_order_id) == []
        await client.place_market_order(request)
        assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1

    async def test_bad_secret_is_an_auth_error(self, venue: VenueHarness) -> None:
        account = await venue.create_account()
        client = venue.client_with_bad_secret(account)
        symbol, _, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, qty, venue.new_client_id(symbol))
        error = await _raises(ErrorKind.AUTH, client.place_market_order(request))
        assert not error.retryable
        assert await venue.orders_with_client_id(account, request.client_order_id) == []
        permissions = await client.check_key_permissions()
        assert not permissions.valid
        with pytest.raises(UnsafeKeyError, match="rejected"):
            await ensure_safe_key("contract-test", client)

    # ----- lost responses --------------------------------------------------------------------------------------

    async def test_lost_response_is_resolved_by_look_up(self, venue: VenueHarness) -> None:
        """The order lands, the answer comes after the client gave up: one order at the venue, reported filled."""
        account = await venue.create_account()
        client = venue.client(account, ClientTuning(timeout_s=TIGHT_TIMEOUT_S))
        symbol, _, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.BUY, qty, venue.new_client_id(symbol))
        await venue.set_latency("order", LATE_ANSWER_S)
        report = await client.place_market_order(request)
        assert report.client_order_id == request.client_order_id
        assert report.state is OrderState.FILLED
        assert report.filled_qty == qty
        assert await venue.wire_order_ids(account, request.client_order_id) == [report.venue_order_id]
        assert [p.size for p in await client.positions(symbol)] == [qty]

    async def test_request_lost_before_the_venue_is_placed_once(self, venue: VenueHarness) -> None:
        """The connection dies before the venue handled the order: the look-up finds nothing, so the adapter
        sends it once more with the same client id, and the venue ends up with exactly one order."""
        account = await venue.create_account()
        client = venue.client(account, ClientTuning(timeout_s=TIGHT_TIMEOUT_S))
        symbol, _, _, qty = await self._btc(venue)
        request = OrderRequest(symbol, Side.SELL, qty, venue.new_client_id(symbol))
        await venue.inject_errors("order", "timeout", 1, process_first=False, timeout_hold_s=LATE_ANSWER_S)
        report = await client.place_market_order(request)
        assert report.state is OrderState.FILLED
        assert len(await venue.orders_with_client_id(account, request.client_order_id)) == 1
        assert [p.size for p in await client.positions(symbol)] == [-qty]

    # ----- key permissions -------------------------------------------------------------------------------------

    async def test_trading_key_passes_the_start_up_check(self, venue: VenueHarness) -> None:
        _, client = await self._trader(venue)
        permissions = await ensure_safe_key("contract-test", client)
        assert permissions.valid and permissions.can_trade_futures and not permissions.can_withdraw

    async def test_key_that_can_withdraw_is_refused(self, venue: VenueHarness) -> None:
        account = await venue.create_account(can_withdraw=True)
        client = venue.client(account)
        permissions = await client.check_key_permissions()
        assert permissions.valid and permissions.can_withdraw
        with pytest.raises(UnsafeKeyError, match="WITHDRAW"):
            await ensure_safe_key("contract-test", client)
