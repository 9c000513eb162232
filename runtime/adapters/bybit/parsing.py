"""Bybit v5 payloads -> small frozen structs with Bybit's field names -> domain values.

Numbers stay the strings Bybit sent until a ``to_*`` method converts them with ``to_decimal`` (never through a
float). A payload missing what the engine needs raises ``ExchangeError(UNKNOWN)`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Side, Venue, to_decimal
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderState

VENUE = Venue.BYBIT

# Thousand-unit contracts: "1000PEPE" (Bybit puts the scale first) or "SHIB1000" (or last).
_SCALED_BASE = re.compile(r"^(?P<lead>10{3,})[A-Z]|[A-Z](?P<trail>10{3,})$")

ORDER_STATES: dict[str, OrderState] = {
    "Created": OrderState.NEW,
    "New": OrderState.NEW,
    "Untriggered": OrderState.NEW,
    "Triggered": OrderState.NEW,
    "PartiallyFilled": OrderState.PARTIALLY_FILLED,
    "Filled": OrderState.FILLED,
    "Cancelled": OrderState.CANCELLED,
    "PartiallyFilledCanceled": OrderState.CANCELLED,
    "Deactivated": OrderState.CANCELLED,
    "Rejected": OrderState.REJECTED,
}


def malformed(what: str, detail: str) -> ExchangeError:
    return ExchangeError(
        ErrorKind.UNKNOWN,
        VENUE,
        f"{what}: unexpected Bybit payload ({detail}) -- the API may have changed; report it with the raw answer",
    )


def result_of(payload: object, what: str) -> dict[str, Any]:
    """The ``result`` object of a v5 envelope (pybit returns the whole decoded body)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("result"), Mapping):
        raise malformed(what, "no result object")
    return dict(payload["result"])


def list_of(result: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    items = result.get("list")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise malformed(what, "result.list is not a list of objects")
    return [dict(item) for item in items]


def _text(item: Mapping[str, Any], name: str, what: str, default: str | None = None) -> str:
    """A field as the text Bybit sent. Numbers come as strings (ints for ids and flags); a float is refused so
    no number is ever rounded on its way in."""
    value = item.get(name)
    if value is None or value == "":
        if default is None:
            raise malformed(what, f"missing {name}")
        return default
    if isinstance(value, float):
        raise malformed(what, f"{name} is a float ({value!r}); Bybit sends numbers as strings")
    return str(value)


def _num(text: str, name: str, what: str) -> Decimal:
    try:
        return to_decimal(text, field=name)
    except (TypeError, ValueError) as exc:
        raise malformed(what, str(exc)) from None


def unit_multiplier(base_coin: str) -> Decimal:
    """Tokens per unit of quantity: 1000 for "1000PEPE" or "SHIB1000", else 1."""
    found = _SCALED_BASE.search(base_coin)
    if found is None:
        return Decimal(1)
    return Decimal(found.group("lead") or found.group("trail"))


@dataclass(frozen=True)
class BybitInstrument:
    """One linear instrument of ``/v5/market/instruments-info``."""

    symbol: str
    status: str
    baseCoin: str
    tickSize: str
    qtyStep: str
    minOrderQty: str
    maxOrderQty: str
    maxMktOrderQty: str
    minNotionalValue: str
    maxLeverage: str

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> BybitInstrument:
        what = f"instrument {item.get('symbol', '?')}"
        lot, price, leverage = (item.get(name) for name in ("lotSizeFilter", "priceFilter", "leverageFilter"))
        if not (isinstance(lot, Mapping) and isinstance(price, Mapping) and isinstance(leverage, Mapping)):
            raise malformed(what, "lotSizeFilter, priceFilter or leverageFilter missing")
        max_qty = _text(lot, "maxOrderQty", what)
        return cls(
            symbol=_text(item, "symbol", what),
            status=_text(item, "status", what, ""),
            baseCoin=_text(item, "baseCoin", what, ""),
            tickSize=_text(price, "tickSize", what),
            qtyStep=_text(lot, "qtyStep", what),
            minOrderQty=_text(lot, "minOrderQty", what),
            maxOrderQty=max_qty,
            # Older listings lack the market cap; then the general cap applies.
            maxMktOrderQty=_text(lot, "maxMktOrderQty", what, max_qty),
            minNotionalValue=_text(lot, "minNotionalValue", what, "0"),
            maxLeverage=_text(leverage, "maxLeverage", what),
        )

    def to_rules(self) -> InstrumentRules:
        what = f"instrument {self.symbol}"
        try:
            return InstrumentRules(
                venue=VENUE,
                symbol=self.symbol,
                qty_step=_num(self.qtyStep, "qtyStep", what),
                tick_size=_num(self.tickSize, "tickSize", what),
                min_qty=_num(self.minOrderQty, "minOrderQty", what),
                max_qty=_num(self.maxOrderQty, "maxOrderQty", what),
                max_market_qty=_num(self.maxMktOrderQty, "maxMktOrderQty", what),
                min_notional=_num(self.minNotionalValue, "minNotionalValue", what),
                max_leverage=_num(self.maxLeverage, "maxLeverage", what),
                unit_multiplier=unit_multiplier(self.baseCoin),
                # Bybit lets a reduce-only order close a position worth less than the minimum notional.
                reduce_only_exempt_min_notional=True,
                reduce_only_exempt_min_qty=False,
            )
        except ValueError as exc:
            raise malformed(what, str(exc)) from None


@dataclass(frozen=True)
class BybitPositionRow:
    """One leg of ``/v5/position/list`` (``size`` is unsigned; ``side`` is "" when flat)."""

    symbol: str
    positionIdx: int
    side: str
    size: str
    avgPrice: str
    leverage: str
    positionIM: str

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> BybitPositionRow:
        what = f"position {item.get('symbol', '?')}"
        try:
            idx = int(item.get("positionIdx", 0))
        except (TypeError, ValueError):
            raise malformed(what, f"positionIdx {item.get('positionIdx')!r}") from None
        return cls(
            symbol=_text(item, "symbol", what),
            positionIdx=idx,
            side=_text(item, "side", what, ""),
            size=_text(item, "size", what, "0"),
            avgPrice=_text(item, "avgPrice", what, "0"),
            leverage=_text(item, "leverage", what, "0"),
            positionIM=_text(item, "positionIM", what, "0"),
        )

    def to_position(self) -> FollowerPosition | None:
        """The signed leg, or None when it is flat."""
        what = f"position {self.symbol}"
        size = _num(self.size, "size", what)
        if size == 0:
            return None
        if self.side not in (Side.BUY.value, Side.SELL.value):
            raise malformed(what, f"side {self.side!r} on a non-flat leg")
        if self.positionIdx not in (0, 1, 2):
            raise malformed(what, f"positionIdx {self.positionIdx}")
        return FollowerPosition(
            venue=VENUE,
            symbol=self.symbol,
            size=size * Side(self.side).sign,
            position_idx=PositionIdx(self.positionIdx),
            entry_price=_num(self.avgPrice, "avgPrice", what),
            leverage=_num(self.leverage, "leverage", what),
            initial_margin=_num(self.positionIM, "positionIM", what),
        )

    def leverage_value(self) -> Decimal:
        return _num(self.leverage, "leverage", f"position {self.symbol}")


def position_mode_of(rows: list[BybitPositionRow]) -> PositionMode:
    """Hedge mode lists legs 1 and 2 for a symbol; one-way mode lists leg 0."""
    return PositionMode.HEDGE if any(row.positionIdx in (1, 2) for row in rows) else PositionMode.ONE_WAY


@dataclass(frozen=True)
class BybitOrderRow:
    """One order of ``/v5/order/realtime`` or ``/v5/order/history``."""

    orderId: str
    orderLinkId: str
    symbol: str
    side: str
    qty: str
    orderStatus: str
    cumExecQty: str
    avgPrice: str

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> BybitOrderRow:
        what = f"order {item.get('orderLinkId') or item.get('orderId', '?')}"
        return cls(
            orderId=_text(item, "orderId", what),
            orderLinkId=_text(item, "orderLinkId", what, ""),
            symbol=_text(item, "symbol", what),
            side=_text(item, "side", what),
            qty=_text(item, "qty", what),
            orderStatus=_text(item, "orderStatus", what),
            cumExecQty=_text(item, "cumExecQty", what, "0"),
            # UTA answers "" (classic "0") for an order without fills.
            avgPrice=_text(item, "avgPrice", what, "0"),
        )

    def to_report(self) -> OrderReport:
        what = f"order {self.orderLinkId or self.orderId}"
        state = ORDER_STATES.get(self.orderStatus)
        if state is None:
            raise malformed(what, f"orderStatus {self.orderStatus!r}")
        if self.side not in (Side.BUY.value, Side.SELL.value):
            raise malformed(what, f"side {self.side!r}")
        return OrderReport(
            client_order_id=self.orderLinkId,
            venue_order_id=self.orderId,
            symbol=self.symbol,
            side=Side(self.side),
            qty=_num(self.qty, "qty", what),
            state=state,
            filled_qty=_num(self.cumExecQty, "cumExecQty", what),
            avg_price=_num(self.avgPrice, "avgPrice", what),
        )


@dataclass(frozen=True)
class BybitWallet:
    """The UNIFIED account of ``/v5/account/wallet-balance`` (``result.list[0]``)."""

    accountType: str
    totalEquity: str

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> BybitWallet:
        account_type = _text(item, "accountType", "wallet", "")
        return cls(accountType=account_type, totalEquity=_text(item, "totalEquity", "wallet"))

    def equity(self) -> Decimal:
        return _num(self.totalEquity, "totalEquity", "wallet")


@dataclass(frozen=True)
class BybitKeyInfo:
    """``/v5/user/query-api``: read-only flag and the permission lists per product."""

    readOnly: int
    permissions: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, result: Mapping[str, Any]) -> BybitKeyInfo:
        raw = result.get("permissions")
        if not isinstance(raw, Mapping):
            raise malformed("key info", "no permissions object")
        try:
            read_only = int(result.get("readOnly", 0))
        except (TypeError, ValueError):
            raise malformed("key info", f"readOnly {result.get('readOnly')!r}") from None
        permissions = {str(name): tuple(str(p) for p in (granted or ())) for name, granted in raw.items()}
        return cls(readOnly=read_only, permissions=permissions)

    def to_permissions(self) -> KeyPermissions:
        # Bybit names it "Withdraw" in the Wallet list; match any spelling anywhere, refusing too much beats too little.
        can_withdraw = any(p.lower().startswith("withdraw") for granted in self.permissions.values() for p in granted)
        # Linear perpetuals need the contract "Order" permission (or "DerivativesTrade" on Derivatives v3 keys).
        can_trade = self.readOnly == 0 and (
            "Order" in self.permissions.get("ContractTrade", ())
            or "DerivativesTrade" in self.permissions.get("Derivatives", ())
        )
        detail = "read-only key" if self.readOnly == 1 else ("" if can_trade else "no contract Order permission")
        return KeyPermissions(valid=True, can_trade_futures=can_trade, can_withdraw=can_withdraw, detail=detail)


def fallback_report(client_order_id: str, venue_order_id: str, symbol: str, side: Side, qty: Decimal) -> OrderReport:
    """What an acknowledgement alone says about an order whose look-up has not caught up yet."""
    return OrderReport(client_order_id, venue_order_id, symbol, side, qty, OrderState.NEW, ZERO, ZERO)
