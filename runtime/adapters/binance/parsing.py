"""Binance USD-M payloads <-> the engine's values. Numbers stay strings until ``to_decimal`` here; never floats.

Response shapes follow the USD-M REST docs: ``GET /fapi/v1/exchangeInfo``, ``GET /fapi/v1/leverageBracket``,
``GET /fapi/v2/account``, ``GET /fapi/v2|v3/positionRisk``, ``POST|GET /fapi/v1/order``,
``GET /fapi/v1/positionSide/dual`` and ``GET /sapi/v1/account/apiRestrictions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Side, Venue, decimal_str, to_decimal
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState

VENUE = Venue.BINANCE
# Binance's documented ceiling ("leverage: int from 1 to 125"), used only when a symbol has no bracket.
MAX_LEVERAGE_CEILING = Decimal(125)

POSITION_SIDE_OF_IDX: Mapping[PositionIdx, str] = {
    PositionIdx.ONE_WAY: "BOTH",
    PositionIdx.HEDGE_LONG: "LONG",
    PositionIdx.HEDGE_SHORT: "SHORT",
}
IDX_OF_POSITION_SIDE: Mapping[str, PositionIdx] = {side: idx for idx, side in POSITION_SIDE_OF_IDX.items()}

ORDER_STATES: Mapping[str, OrderState] = {
    "NEW": OrderState.NEW,
    "PENDING_CANCEL": OrderState.NEW,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELLED,
    "EXPIRED": OrderState.CANCELLED,  # a market remainder that found no liquidity
    "EXPIRED_IN_MATCH": OrderState.CANCELLED,  # self-trade prevention
    "REJECTED": OrderState.REJECTED,
}

# newClientOrderId is documented as ^[.A-Z:/a-z0-9_-]{1,36}$, but python-binance signs the raw value and then
# form-encodes it, so ':' and '/' arrive as %3A/%2F and fail the signature (-1022). Only the safe subset is allowed.
CLIENT_ORDER_ID = re.compile(r"^[.A-Za-z0-9_-]{1,36}$")
_SCALED_BASE = re.compile(r"^(?:(?P<zeros>10{3,})|(?P<mega>1M))(?=[A-Z])")


class PayloadError(ValueError):
    """A Binance answer without a field the adapter needs (the venue changed its format, or a proxy mangled it)."""


@dataclass(frozen=True)
class ListedSymbol:
    """One ``symbols[]`` entry of exchangeInfo as the engine uses it."""

    symbol: str
    status: str  # TRADING, SETTLING, PENDING_TRADING, ...
    contract_type: str  # PERPETUAL, CURRENT_QUARTER, ...
    rules: InstrumentRules

    @property
    def is_trading(self) -> bool:
        return self.status == "TRADING"


def _field(row: Mapping[str, Any], name: str) -> Any:
    try:
        return row[name]
    except (KeyError, TypeError):
        raise PayloadError(f"Binance answer lacks {name!r}") from None


def _dec(row: Mapping[str, Any], name: str) -> Decimal:
    value = _field(row, name)
    try:
        return to_decimal(value, field=name)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"Binance field {name!r} is not a number: {value!r}") from exc


def unit_multiplier_for(base_asset: str) -> Decimal:
    """Tokens per unit of quantity from the base asset's name: ``1000PEPE`` -> 1000, ``1MBABYDOGE`` -> 10^6."""
    match = _SCALED_BASE.match(base_asset)
    if match is None:
        return Decimal(1)
    if match.group("mega"):
        return Decimal(1_000_000)
    return Decimal(match.group("zeros"))


def parse_leverage_brackets(payload: Any) -> dict[str, Decimal]:
    """``GET /fapi/v1/leverageBracket`` -> the highest initial leverage per symbol (the first bracket's)."""
    rows = payload if isinstance(payload, list) else [payload]
    result: dict[str, Decimal] = {}
    for row in rows:
        brackets = _field(row, "brackets")
        leverages = [_dec(bracket, "initialLeverage") for bracket in brackets]
        if leverages:
            result[str(_field(row, "symbol"))] = max(leverages)
    return result


def _filters(entry: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("filterType")): f for f in _field(entry, "filters")}


def parse_symbol(entry: Mapping[str, Any], max_leverage: Decimal | None) -> ListedSymbol:
    """One exchangeInfo symbol -> its rules. Steps come from the filters, never from the *Precision fields."""
    symbol = str(_field(entry, "symbol"))
    filters = _filters(entry)
    if "LOT_SIZE" not in filters or "PRICE_FILTER" not in filters:
        raise PayloadError(f"{symbol}: exchangeInfo lacks the LOT_SIZE or PRICE_FILTER filter")
    lot, price = filters["LOT_SIZE"], filters["PRICE_FILTER"]
    market = filters.get("MARKET_LOT_SIZE", lot)
    notional = filters.get("MIN_NOTIONAL")
    rules = InstrumentRules(
        venue=VENUE,
        symbol=symbol,
        qty_step=_dec(lot, "stepSize"),
        tick_size=_dec(price, "tickSize"),
        min_qty=max(_dec(lot, "minQty"), _dec(market, "minQty")),
        max_qty=_dec(lot, "maxQty"),
        max_market_qty=_dec(market, "maxQty"),
        min_notional=_dec(notional, "notional") if notional is not None else ZERO,
        max_leverage=max_leverage if max_leverage is not None else MAX_LEVERAGE_CEILING,
        unit_multiplier=unit_multiplier_for(str(entry.get("baseAsset", ""))),
        # -4164: "Order's notional must be no smaller than N (unless you choose reduce only)".
        reduce_only_exempt_min_notional=True,
        reduce_only_exempt_min_qty=False,
    )
    return ListedSymbol(
        symbol=symbol,
        status=str(entry.get("status", "")),
        contract_type=str(entry.get("contractType", "")),
        rules=rules,
    )


def parse_exchange_info(payload: Mapping[str, Any], max_leverage: Mapping[str, Decimal]) -> dict[str, ListedSymbol]:
    listed = (parse_symbol(entry, max_leverage.get(str(entry.get("symbol")))) for entry in _field(payload, "symbols"))
    return {item.symbol: item for item in listed}


def parse_equity(account: Mapping[str, Any]) -> Decimal:
    """``GET /fapi/v2/account``: equity = totalMarginBalance (wallet balance + unrealized PnL)."""
    return _dec(account, "totalMarginBalance")


def _leg(row: Mapping[str, Any]) -> PositionIdx:
    side = str(_field(row, "positionSide"))
    try:
        return IDX_OF_POSITION_SIDE[side]
    except KeyError:
        raise PayloadError(f"unknown positionSide {side!r}") from None


def parse_positions(rows: Iterable[Mapping[str, Any]]) -> list[FollowerPosition]:
    """Position rows -> signed non-flat legs (``positionAmt`` is already signed: SHORT legs are negative).

    Reads ``/fapi/v2/account`` ``positions[]`` and positionRisk rows alike; a row without ``leverage`` (v3
    positionRisk) or ``positionInitialMargin`` (v2 positionRisk) leaves that field 0 (unknown).
    """
    positions = []
    for row in rows:
        size = _dec(row, "positionAmt")
        if size == 0:
            continue
        leverage = _dec(row, "leverage") if "leverage" in row else ZERO
        margin = _dec(row, "positionInitialMargin") if "positionInitialMargin" in row else ZERO
        positions.append(
            FollowerPosition(
                venue=VENUE,
                symbol=str(_field(row, "symbol")),
                size=size,
                position_idx=_leg(row),
                entry_price=_dec(row, "entryPrice"),
                leverage=leverage,
                initial_margin=margin,
            )
        )
    return positions


def parse_account_positions(account: Mapping[str, Any]) -> list[FollowerPosition]:
    """``GET /fapi/v2/account`` -> its non-flat legs."""
    return parse_positions(_field(account, "positions"))


def parse_leverage(rows: Iterable[Mapping[str, Any]], symbol: str) -> Decimal:
    """``GET /fapi/v2/positionRisk?symbol=`` -> the symbol's leverage (every leg of a symbol shares it)."""
    for row in rows:
        if row.get("symbol") == symbol:
            return _dec(row, "leverage")
    raise PayloadError(f"positionRisk has no row for {symbol}")


def parse_position_mode(payload: Mapping[str, Any]) -> PositionMode:
    dual = _field(payload, "dualSidePosition")
    if not isinstance(dual, bool):
        raise PayloadError(f"dualSidePosition is not a boolean: {dual!r}")
    return PositionMode.HEDGE if dual else PositionMode.ONE_WAY


def parse_order(payload: Mapping[str, Any]) -> OrderReport:
    """A new-order, query-order or cancel-order answer -> ``OrderReport``."""
    status = str(_field(payload, "status"))
    state = ORDER_STATES.get(status)
    if state is None:
        raise PayloadError(f"unknown order status {status!r}")
    side_text = str(_field(payload, "side"))
    if side_text not in ("BUY", "SELL"):
        raise PayloadError(f"unknown order side {side_text!r}")
    filled = _dec(payload, "executedQty")
    return OrderReport(
        client_order_id=str(_field(payload, "clientOrderId")),
        venue_order_id=str(_field(payload, "orderId")),
        symbol=str(_field(payload, "symbol")),
        side=Side.BUY if side_text == "BUY" else Side.SELL,
        qty=_dec(payload, "origQty"),
        state=state,
        filled_qty=filled,
        avg_price=_dec(payload, "avgPrice") if filled > 0 else ZERO,
    )


def parse_key_permissions(payload: Mapping[str, Any]) -> KeyPermissions:
    """``GET /sapi/v1/account/apiRestrictions``. A missing or non-boolean withdrawal flag counts as "can withdraw"
    (refusing a safe key is recoverable; trading with a withdrawing key is not)."""
    withdrawals = payload.get("enableWithdrawals")
    futures = payload.get("enableFutures")
    can_withdraw = withdrawals is not False
    can_trade = futures is True
    detail = f"enableWithdrawals={withdrawals!r}, enableFutures={futures!r}, ipRestrict={payload.get('ipRestrict')!r}"
    if futures is not True:
        detail += " (enable 'Futures' on the key; a key created before the futures account was opened cannot trade it)"
    return KeyPermissions(valid=True, can_trade_futures=can_trade, can_withdraw=can_withdraw, detail=detail)


def grows_leg(order: OrderRequest) -> bool:
    """In hedge mode, whether the order adds to its leg: Buy grows LONG, Sell grows SHORT."""
    if order.position_idx is PositionIdx.HEDGE_LONG:
        return order.side is Side.BUY
    return order.side is Side.SELL


def new_order_params(order: OrderRequest) -> dict[str, str]:
    """``POST /fapi/v1/order`` parameters for a market order that answers with its fill (RESULT).

    One-way: positionSide BOTH, with reduceOnly when asked. Hedge: positionSide LONG/SHORT and never reduceOnly
    (Binance refuses it there); a hedge leg is closed by the opposite side on the same positionSide.
    """
    params = {
        "symbol": order.symbol,
        "side": "BUY" if order.side is Side.BUY else "SELL",
        "type": "MARKET",
        "quantity": decimal_str(order.qty),
        "positionSide": POSITION_SIDE_OF_IDX[order.position_idx],
        "newClientOrderId": order.client_order_id,
        "newOrderRespType": "RESULT",
    }
    if order.reduce_only and order.position_idx is PositionIdx.ONE_WAY:
        params["reduceOnly"] = "true"
    return params


def order_request_problem(order: OrderRequest) -> str | None:
    """Why the adapter refuses to send ``order`` at all, or None. Checked before anything reaches the venue."""
    if not CLIENT_ORDER_ID.match(order.client_order_id):
        return (
            f"client order id {order.client_order_id!r} is not 1-36 chars of [.A-Za-z0-9_-] "
            "(Binance's pattern without ':' and '/', which python-binance cannot sign)"
        )
    if order.qty <= 0:
        return f"order quantity must be positive, got {decimal_str(order.qty)}"
    if order.reduce_only and order.position_idx is not PositionIdx.ONE_WAY and grows_leg(order):
        leg = POSITION_SIDE_OF_IDX[order.position_idx]
        return (
            f"a reduce-only {order.side.value} on the {leg} leg would grow it: in hedge mode Binance cannot be "
            f"told 'reduce only', so the adapter refuses (close {leg} with the opposite side)"
        )
    return None
