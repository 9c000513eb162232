"""Bybit v5 order endpoints: create, cancel, realtime look-up, history, and the execution list (gap replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from runtime.domain.values import ZERO, Side
from runtime.sim.bybit.codes import BybitError, RetCode
from runtime.sim.bybit.gate import Caller, Params, Result
from runtime.sim.bybit.params import (
    CreateOrderParams,
    parse_create_order,
    parse_order_ref,
    require_linear,
)
from runtime.sim.bybit.payloads import execution_item, order_id_text, order_item, parse_order_id
from runtime.sim.events import Fill
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import Order, OrderRejected, OrderType, RejectionKind, TimeInForce

# Bybit keeps the latest 500 closed orders for /v5/order/realtime?openOnly=1.
RECENT_CLOSED_ORDERS = 500
T = TypeVar("T")


def _page(items: list[T], params: Params, *, default: int, maximum: int) -> tuple[list[T], str]:
    """Offset paging behind Bybit's opaque ``cursor``; returns the page and the next cursor ("" at the end)."""
    try:
        limit = int(params.get("limit") or default)
        offset = int(params.get("cursor") or 0)
    except ValueError:
        raise BybitError(RetCode.PARAMS, "params error: limit and cursor must be integers") from None
    if not 1 <= limit <= maximum:
        raise BybitError(RetCode.PARAMS, f"params error: limit must be between 1 and {maximum}")
    page = items[offset : offset + limit]
    return page, str(offset + limit) if offset + limit < len(items) else ""


def _ms(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BybitError(RetCode.PARAMS, f"params error: {name} must be a millisecond timestamp") from None


class TradeRoutes:
    def __init__(self, engine: MatchingEngine) -> None:
        self.engine = engine

    # ----- create and cancel -----------------------------------------------------------------------------------

    def create_order(self, caller: Caller, params: Params) -> Result:
        order_params = parse_create_order(params)
        tif = self._time_in_force(order_params)
        order = self.engine.place_order(
            caller.account,
            symbol=order_params.symbol,
            side=order_params.side,
            qty=order_params.qty,
            order_type=OrderType(order_params.order_type),
            price=order_params.price,
            time_in_force=tif,
            reduce_only=order_params.reduce_only,
            position_idx=order_params.position_idx,
            client_id=order_params.order_link_id,
        )
        return {"orderId": order_id_text(order.order_id), "orderLinkId": order.client_id}

    def _time_in_force(self, order: CreateOrderParams) -> TimeInForce:
        if order.order_type == "Market" or order.time_in_force in ("IOC", "FOK"):
            # Fills are all-or-nothing at the mark, so FOK behaves as IOC here.
            return TimeInForce.IOC
        if order.time_in_force == "PostOnly" and order.price is not None:
            mark = self.engine.mark(order.symbol)
            takes = order.price >= mark if order.side is Side.BUY else order.price <= mark
            if takes:
                raise BybitError(
                    RetCode.PARAMS,
                    f"PostOnly order at {order.price} would take liquidity at the mark {mark}; "
                    "move the price away from the mark or use GTC",
                )
        return TimeInForce.GTC

    def cancel_order(self, caller: Caller, params: Params) -> Result:
        order = self._find(caller.account, params, symbol_required=True)
        if order is None:
            raise BybitError(RetCode.ORDER_NOT_EXISTS, "order not exists or too late to cancel")
        try:
            cancelled = self.engine.cancel_order(caller.account, order_id=order.order_id)
        except OrderRejected as exc:
            if exc.kind is RejectionKind.ORDER_NOT_FOUND:
                raise BybitError(RetCode.ORDER_NOT_EXISTS, "order not exists or too late to cancel") from None
            raise
        return {"orderId": order_id_text(cancelled.order_id), "orderLinkId": cancelled.client_id}

    def _find(self, account: str, params: Params, *, symbol_required: bool) -> Order | None:
        """The order named by orderId (wins) or orderLinkId; None when the account has no such order."""
        ref = parse_order_ref(params, symbol_required=symbol_required)
        if not ref.order_id and not ref.order_link_id:
            raise BybitError(RetCode.PARAMS, "params error: orderId or orderLinkId is required")
        order_id = parse_order_id(ref.order_id) if ref.order_id else None
        if ref.order_id and order_id is None:
            return None
        try:
            order = self.engine.find_order(account, order_id=order_id, client_id=ref.order_link_id)
        except OrderRejected as exc:
            if exc.kind is RejectionKind.ORDER_NOT_FOUND:
                return None
            raise
        if ref.symbol and order.symbol != ref.symbol:
            return None
        return order

    # ----- look-ups --------------------------------------------------------------------------------------------

    def open_orders(self, caller: Caller, params: Params) -> Result:
        """``/v5/order/realtime``: by id any recent order (filled ones too); otherwise open or recent closed ones."""
        require_linear(params)
        account = self.engine.account(caller.account)
        if params.get("orderId") or params.get("orderLinkId"):
            found = self._find(caller.account, params, symbol_required=False)
            orders = [found] if found is not None else []
        else:
            symbol, settle = params.get("symbol", ""), params.get("settleCoin", "")
            base = params.get("baseCoin", "")
            if not (symbol or settle or base):
                raise BybitError(RetCode.PARAMS, "params error: symbol, baseCoin or settleCoin is required")
            chosen = [o for o in account.orders.values() if self._matches(o, symbol, base, settle)]
            if str(params.get("openOnly", "0")) == "0":
                orders = [o for o in chosen if o.is_open]
            else:
                orders = [o for o in chosen if not o.is_open][-RECENT_CLOSED_ORDERS:]
        newest_first = sorted(orders, key=lambda o: (o.created_ms, o.order_id), reverse=True)
        page, cursor = _page(newest_first, params, default=20, maximum=50)
        return self._order_list(caller.account, page, cursor)

    def order_history(self, caller: Caller, params: Params) -> Result:
        require_linear(params)
        account = self.engine.account(caller.account)
        if params.get("orderId") or params.get("orderLinkId"):
            found = self._find(caller.account, params, symbol_required=False)
            orders = [found] if found is not None else []
        else:
            symbol = params.get("symbol", "")
            orders = [o for o in account.orders.values() if self._matches(o, symbol, "", "")]
        status = params.get("orderStatus")
        if status:
            orders = [o for o in orders if o.status.value == status]
        newest_first = sorted(orders, key=lambda o: (o.created_ms, o.order_id), reverse=True)
        page, cursor = _page(newest_first, params, default=20, maximum=50)
        return self._order_list(caller.account, page, cursor)

    def _matches(self, order: Order, symbol: str, base: str, settle: str) -> bool:
        if symbol:
            return order.symbol == symbol
        instrument = self.engine.catalogue.get(order.symbol)
        if instrument is None:
            return False
        return (not base or instrument.base_coin == base) and (not settle or instrument.quote_coin == settle)

    def _order_list(self, account: str, orders: list[Order], cursor: str) -> Result:
        fees = self._fees_by_order(self.engine.account(account).fills)
        return {
            "category": "linear",
            "list": [order_item(o, for_stream=False, cum_fee=fees.get(o.order_id, ZERO)) for o in orders],
            "nextPageCursor": cursor,
        }

    @staticmethod
    def _fees_by_order(fills: Iterable[Fill]) -> dict[int, Decimal]:
        fees: dict[int, Decimal] = {}
        for fill in fills:
            fees[fill.order_id] = fees.get(fill.order_id, ZERO) + fill.fee
        return fees

    # ----- executions ------------------------------------------------------------------------------------------

    def executions(self, caller: Caller, params: Params) -> Result:
        """``/v5/execution/list``: fills newest first, filtered by symbol, order, exec type and a time range."""
        require_linear(params)
        start, end = _ms(params, "startTime"), _ms(params, "endTime")
        order_id = parse_order_id(params["orderId"]) if params.get("orderId") else None
        filters: list[Callable[[Fill], bool]] = []
        if params.get("symbol"):
            filters.append(lambda f: f.symbol == params["symbol"])
        if params.get("orderId"):
            filters.append(lambda f: f.order_id == order_id)
        if params.get("orderLinkId"):
            filters.append(lambda f: f.client_id == params["orderLinkId"])
        if params.get("execType"):
            filters.append(lambda f: f.exec_type.value == params["execType"])
        if start is not None:
            filters.append(lambda f: f.time_ms >= start)
        if end is not None:
            filters.append(lambda f: f.time_ms <= end)
        fills = [f for f in self.engine.account(caller.account).fills if all(check(f) for check in filters)]
        newest_first = sorted(fills, key=lambda f: (f.time_ms, f.seq), reverse=True)
        page, cursor = _page(newest_first, params, default=50, maximum=100)
        return {"category": "linear", "list": [self._execution(f) for f in page], "nextPageCursor": cursor}

    def _execution(self, fill: Fill) -> dict[str, Any]:
        settings = self.engine.settings
        rate = settings.maker_fee_rate if fill.is_maker else settings.taker_fee_rate
        return execution_item(fill, fee_rate=rate, mark=fill.position.mark_price, for_stream=False)
