"""``PaperClient``: the ``ExchangeClient`` of one account on a ``PaperVenue`` (paper trading and the benchmark).

Non-blocking and in-process: each call runs the simulator core synchronously on the event loop, then sleeps the
latency drawn for it. Quantities are in the venue's own units (Hyperliquid: ``BTC``, ``kPEPE``), as with the real
adapters, and the answers carry the same ``ExchangeError`` kinds.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from runtime.adapters.paper.errors import invalid
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import PositionIdx, PositionMode, Venue, decimal_str
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState
from runtime.sim.faults import EndpointClass
from runtime.sim.model import Order, OrderRejected, OrderStatus, OrderType

if TYPE_CHECKING:  # the venue imports this module to make its clients
    from runtime.adapters.paper.venue import PaperVenue

_STATES = {
    OrderStatus.NEW: OrderState.NEW,
    OrderStatus.FILLED: OrderState.FILLED,
    OrderStatus.CANCELLED: OrderState.CANCELLED,
}


def order_report(order: Order) -> OrderReport:
    state = _STATES[order.status]
    if state is OrderState.NEW and order.filled_qty > 0:
        state = OrderState.PARTIALLY_FILLED
    return OrderReport(
        client_order_id=order.client_id,
        venue_order_id=str(order.order_id),
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        state=state,
        filled_qty=order.filled_qty,
        avg_price=order.avg_price,
    )


class PaperClient:
    """One account of a paper venue. Build it with ``PaperVenue.open_account``."""

    def __init__(self, venue: PaperVenue, account: str) -> None:
        self.paper = venue
        self.account = account
        self.venue: Venue = venue.venue

    # ----- reads -------------------------------------------------------------------------------------------------

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        def rules() -> InstrumentRules:
            return self.paper.engine.instrument(symbol).rules

        return await self.paper.call(self.account, "instrument_rules", EndpointClass.PUBLIC, rules)

    async def refresh_instruments(self) -> None:
        # The catalogue is fixed for the venue's life: nothing to refresh, but it is still a call.
        await self.paper.call(self.account, "refresh_instruments", EndpointClass.PUBLIC, lambda: None)

    async def equity(self) -> Decimal:
        def equity() -> Decimal:
            return self.paper.engine.wallet(self.account).equity

        return await self.paper.call(self.account, "equity", EndpointClass.ACCOUNT, equity)

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        def positions() -> list[FollowerPosition]:
            return [
                FollowerPosition(
                    venue=self.venue,
                    symbol=view.symbol,
                    size=view.signed_size,
                    position_idx=PositionIdx(view.position_idx),
                    entry_price=view.entry_price,
                    leverage=view.leverage,
                    initial_margin=view.im,
                )
                for view in self.paper.engine.positions(self.account, symbol)
            ]

        return await self.paper.call(self.account, "positions", EndpointClass.READ, positions)

    async def leverage(self, symbol: str) -> Decimal:
        def leverage() -> Decimal:
            return self.paper.engine.leverage(self.account, symbol)

        return await self.paper.call(self.account, "leverage", EndpointClass.ACCOUNT, leverage)

    async def position_mode(self) -> PositionMode:
        def mode() -> PositionMode:
            return self.paper.engine.account(self.account).position_mode

        return await self.paper.call(self.account, "position_mode", EndpointClass.ACCOUNT, mode)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        def look_up() -> OrderReport | None:
            try:
                order = self.paper.engine.find_order(self.account, client_id=client_order_id)
            except OrderRejected:
                return None
            return order_report(order) if order.symbol == symbol else None

        return await self.paper.call(self.account, "get_order", EndpointClass.READ, look_up)

    async def check_key_permissions(self) -> KeyPermissions:
        def permissions() -> KeyPermissions:
            self.paper.engine.account(self.account)  # an unknown account is an auth error, as a bad key is
            return KeyPermissions(valid=True, can_trade_futures=True, can_withdraw=False, detail="paper account")

        return await self.paper.call(self.account, "check_key_permissions", EndpointClass.ACCOUNT, permissions)

    # ----- changes -----------------------------------------------------------------------------------------------

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        wanted = self._venue_leverage(symbol, leverage)

        def set_leverage() -> None:
            self.paper.engine.set_leverage(self.account, symbol, wanted)  # False = unchanged: success too

        await self.paper.call(self.account, "set_leverage", EndpointClass.ACCOUNT, set_leverage)

    async def set_position_mode(self, mode: PositionMode) -> None:
        def set_mode() -> None:
            if mode is PositionMode.HEDGE and not self.paper.profile.hedge_mode:
                raise invalid(self.venue, "this venue has no hedge mode; configure the follower as one_way")
            self.paper.engine.set_position_mode(self.account, mode)

        await self.paper.call(self.account, "set_position_mode", EndpointClass.ACCOUNT, set_mode)

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        def place() -> OrderReport:
            self._check_partial_reduce_value(order)
            placed = self.paper.engine.place_order(
                self.account,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                order_type=OrderType.MARKET,
                reduce_only=order.reduce_only,
                position_idx=int(order.position_idx),
                client_id=order.client_order_id,
            )
            return order_report(placed)

        return await self.paper.call(self.account, "place_market_order", EndpointClass.ORDER, place)

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        def cancel() -> None:
            self.paper.engine.cancel_order(self.account, client_id=client_order_id)

        await self.paper.call(self.account, "cancel_order", EndpointClass.ORDER, cancel)

    async def close(self) -> None:
        """Nothing to release: the account lives as long as its venue."""

    # ----- the venue layer's own rules ---------------------------------------------------------------------------

    def _venue_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        if not self.paper.profile.whole_leverage:
            return leverage
        whole = leverage.to_integral_value(rounding=ROUND_FLOOR)
        if whole < 1:
            raise invalid(self.venue, f"leverage {decimal_str(leverage)} for {symbol}: the minimum is 1")
        return whole

    def _check_partial_reduce_value(self, order: OrderRequest) -> None:
        """Hyperliquid: a reduce-only order that closes only part of the position must be worth the minimum value
        (one that closes all of it may be smaller, so any position can be closed)."""
        minimum = self.paper.profile.partial_reduce_min_value
        if minimum is None or not order.reduce_only or self._known_client_id(order.client_order_id):
            return  # a reused id is refused as a duplicate by the core, which checks that first
        engine = self.paper.engine
        size = engine.account(self.account).position(order.symbol, int(order.position_idx)).size
        value = order.qty * engine.mark(order.symbol)
        if order.qty < abs(size) and value < minimum:
            raise invalid(
                self.venue,
                f"Order must have minimum value of ${decimal_str(minimum)} (a partial close of "
                f"{decimal_str(order.qty)} {order.symbol} is worth {decimal_str(value)}); close the whole position "
                "or a larger part",
            )

    def _known_client_id(self, client_order_id: str) -> bool:
        return bool(client_order_id) and client_order_id in self.paper.engine.account(self.account).client_index
