"""The master's Bybit private-stream messages as small frozen structs, and the one parser from raw JSON into them.

Bybit sends every number as a string (``seq`` and ``positionIdx`` as JSON numbers); they become ``Decimal`` here,
through ``to_decimal``, and never pass through a float. The same position struct serves the WebSocket ``position``
topic and the REST ``/v5/position/list`` items (REST names the entry price ``avgPrice``), so the gap replay after a
reconnect feeds the correlator the same shape. Field names follow Bybit's, in snake case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx, Side, to_decimal

# Execution types that never move a position. Everything else (Trade, AdlTrade, BustTrade, Delivery, BlockTrade,
# MovePosition, ...) is treated as a fill: an unknown type that turns out not to move anything is cleared by the
# next position message or REST read, whereas a moving type we ignored would be lost.
NON_POSITION_EXEC_TYPES = frozenset({"Funding", "Dividend"})

_FLAT_SIDES = ("", "None")


class MasterMessageError(ValueError):
    """A master stream message could not be read; names the topic and field so the payload can be checked."""


@dataclass(frozen=True)
class ExecutionMsg:
    """One fill (``execution`` topic). Carries no positionIdx: the leg comes from the order topic."""

    symbol: str
    exec_id: str
    order_id: str
    order_link_id: str
    side: Side | None
    exec_qty: Decimal
    exec_price: Decimal
    exec_type: str
    seq: int
    exec_time_ms: int

    @property
    def moves_position(self) -> bool:
        return self.exec_type not in NON_POSITION_EXEC_TYPES


@dataclass(frozen=True)
class OrderMsg:
    """An order update (``order`` topic); the engine needs it for the fill's positionIdx."""

    order_id: str
    order_link_id: str
    symbol: str
    side: Side | None
    position_idx: PositionIdx
    order_status: str
    qty: Decimal
    cum_exec_qty: Decimal
    avg_price: Decimal = ZERO
    leaves_qty: Decimal = ZERO
    reduce_only: bool = False
    updated_time_ms: int = 0

    @property
    def leg(self) -> LegKey:
        return LegKey(self.symbol, self.position_idx)


@dataclass(frozen=True)
class PositionMsg:
    """A position state (``position`` topic or a REST position item): the confirmation of a change.

    ``size`` is unsigned, as Bybit sends it; ``signed_size`` applies the side (long > 0, short < 0).
    """

    symbol: str
    position_idx: PositionIdx
    side: Side | None
    size: Decimal
    position_im: Decimal
    leverage: Decimal
    entry_price: Decimal
    mark_price: Decimal
    seq: int
    updated_time_ms: int = 0

    def __post_init__(self) -> None:
        if self.size < 0:
            raise MasterMessageError(f"position {self.symbol}: size {self.size} is negative; Bybit sends it unsigned")
        if self.size != 0 and self.side is None and self.position_idx is PositionIdx.ONE_WAY:
            raise MasterMessageError(f"position {self.symbol}: size {self.size} without a side (Buy or Sell)")

    @property
    def leg(self) -> LegKey:
        return LegKey(self.symbol, self.position_idx)

    @property
    def signed_size(self) -> Decimal:
        if self.size == 0:
            return ZERO
        side = self.side
        if side is None:  # a hedge leg's direction is fixed by its index even if the side field is blank
            side = Side.BUY if self.position_idx is PositionIdx.HEDGE_LONG else Side.SELL
        return self.size if side is Side.BUY else -self.size


@dataclass(frozen=True)
class WalletMsg:
    """The unified account's total equity (``wallet`` topic or REST wallet-balance)."""

    total_equity: Decimal


MasterMessage = ExecutionMsg | OrderMsg | PositionMsg | WalletMsg


# --- field readers: each names the topic and field when the payload is not what Bybit documents -------------------


def _text(raw: Mapping[str, object], key: str, topic: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise MasterMessageError(f"{topic}: field {key!r} is missing")
        return ""
    if not isinstance(value, str):
        raise MasterMessageError(f"{topic}: field {key!r} should be a string, got {type(value).__name__}")
    return value


def _number(raw: Mapping[str, object], key: str, topic: str, *, default: Decimal | None = None) -> Decimal:
    value = raw.get(key)
    if value is None:
        if default is None:
            raise MasterMessageError(f"{topic}: field {key!r} is missing")
        return default
    try:
        return to_decimal(value, field=f"{topic}.{key}")
    except (TypeError, ValueError) as exc:
        raise MasterMessageError(str(exc)) from exc


def _integer(raw: Mapping[str, object], key: str, topic: str, *, default: int | None = None) -> int:
    value = raw.get(key)
    if value is None or value == "":
        if default is None:
            raise MasterMessageError(f"{topic}: field {key!r} is missing")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MasterMessageError(f"{topic}: field {key!r} should be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise MasterMessageError(f"{topic}: field {key!r} should be an integer, got {value!r}") from exc


def _side(raw: Mapping[str, object], topic: str) -> Side | None:
    text = _text(raw, "side", topic, required=False)
    if text in _FLAT_SIDES:
        return None
    try:
        return Side(text)
    except ValueError as exc:
        raise MasterMessageError(f"{topic}: field 'side' should be Buy or Sell, got {text!r}") from exc


def _position_idx(raw: Mapping[str, object], topic: str) -> PositionIdx:
    number = _integer(raw, "positionIdx", topic)
    try:
        return PositionIdx(number)
    except ValueError as exc:
        raise MasterMessageError(f"{topic}: positionIdx {number} is not 0, 1 or 2") from exc


# --- parsers ---------------------------------------------------------------------------------------------------


def parse_execution(raw: Mapping[str, object]) -> ExecutionMsg:
    topic = "execution"
    return ExecutionMsg(
        symbol=_text(raw, "symbol", topic),
        exec_id=_text(raw, "execId", topic),
        order_id=_text(raw, "orderId", topic),
        order_link_id=_text(raw, "orderLinkId", topic, required=False),
        side=_side(raw, topic),
        exec_qty=_number(raw, "execQty", topic),
        exec_price=_number(raw, "execPrice", topic, default=ZERO),
        exec_type=_text(raw, "execType", topic),
        seq=_integer(raw, "seq", topic),
        exec_time_ms=_integer(raw, "execTime", topic, default=0),
    )


def parse_order(raw: Mapping[str, object]) -> OrderMsg:
    topic = "order"
    reduce_only = raw.get("reduceOnly", False)
    return OrderMsg(
        order_id=_text(raw, "orderId", topic),
        order_link_id=_text(raw, "orderLinkId", topic, required=False),
        symbol=_text(raw, "symbol", topic),
        side=_side(raw, topic),
        position_idx=_position_idx(raw, topic),
        order_status=_text(raw, "orderStatus", topic),
        qty=_number(raw, "qty", topic, default=ZERO),
        cum_exec_qty=_number(raw, "cumExecQty", topic, default=ZERO),
        avg_price=_number(raw, "avgPrice", topic, default=ZERO),
        leaves_qty=_number(raw, "leavesQty", topic, default=ZERO),
        reduce_only=reduce_only is True or reduce_only == "true",
        updated_time_ms=_integer(raw, "updatedTime", topic, default=0),
    )


def parse_position(raw: Mapping[str, object], *, topic: str = "position") -> PositionMsg:
    """Read a WebSocket position item or a REST ``/v5/position/list`` item (entry price ``entryPrice``/``avgPrice``)."""
    entry_key = "entryPrice" if raw.get("entryPrice") not in (None, "") else "avgPrice"
    return PositionMsg(
        symbol=_text(raw, "symbol", topic),
        position_idx=_position_idx(raw, topic),
        side=_side(raw, topic),
        size=_number(raw, "size", topic),
        position_im=_number(raw, "positionIM", topic, default=ZERO),
        leverage=_number(raw, "leverage", topic, default=ZERO),
        entry_price=_number(raw, entry_key, topic, default=ZERO),
        mark_price=_number(raw, "markPrice", topic, default=ZERO),
        seq=_integer(raw, "seq", topic, default=-1),  # Bybit: -1 for a symbol never traded
        updated_time_ms=_integer(raw, "updatedTime", topic, default=0),
    )


def parse_wallet(raw: Mapping[str, object]) -> WalletMsg:
    return WalletMsg(total_equity=_number(raw, "totalEquity", "wallet"))


def _items(frame: Mapping[str, object], topic: str) -> Sequence[Mapping[str, object]]:
    data = frame.get("data")
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise MasterMessageError(f"{topic}: frame 'data' should be a list of objects")
    return data


def _is_linear(item: Mapping[str, object]) -> bool:
    # The all-in-one topics also carry spot and option items for a unified account; the master is linear only.
    category = item.get("category")
    return category is None or category in ("", "linear")


def parse_private_frame(frame: Mapping[str, object]) -> tuple[MasterMessage, ...]:
    """Parse one private-stream data frame (``{"topic", "data": [...]}``) into structs.

    Unknown topics and non-linear items yield nothing. The wallet topic yields the UNIFIED account's equity.
    """
    topic_value = frame.get("topic")
    if not isinstance(topic_value, str):
        return ()
    topic = topic_value.split(".", 1)[0]  # "position.linear" and "position" are the same stream
    if topic == "execution":
        return tuple(parse_execution(item) for item in _items(frame, topic) if _is_linear(item))
    if topic == "order":
        return tuple(parse_order(item) for item in _items(frame, topic) if _is_linear(item))
    if topic == "position":
        return tuple(parse_position(item) for item in _items(frame, topic) if _is_linear(item))
    if topic == "wallet":
        accounts = [item for item in _items(frame, topic) if item.get("accountType") in (None, "UNIFIED")]
        return tuple(parse_wallet(item) for item in accounts[:1])
    return ()
