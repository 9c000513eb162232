"""Accounts of a simulated venue: wallet, positions, leverage and cross-margin arithmetic (Decimal only).

Cross margin as the simulators model it:
- position IM = |size| x entry_price / leverage
- unrealized PnL = size x (mark - entry_price)   (size signed: long > 0)
- equity = wallet + sum of unrealized PnL
- available = equity - sum of position IM - IM of resting non-reduce-only orders (qty x price / leverage)
Realized PnL goes to the wallet when a position shrinks; an increase averages the entry price by size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from runtime.domain.values import ZERO, PositionIdx, PositionMode, Side
from runtime.sim.model import Order

if TYPE_CHECKING:
    from runtime.sim.events import Fill

PositionKey = tuple[str, int]  # (symbol, position_idx)


@dataclass(frozen=True)
class Position:
    """One leg. ``size`` is signed (long > 0); flat legs keep their realized PnL and seq."""

    symbol: str
    position_idx: int
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # cumulative over the leg's life in this simulator
    seq: int = 0  # the account seq of the last fill that changed it
    updated_ms: int = 0

    @property
    def side(self) -> Side | None:
        if self.size == 0:
            return None
        return Side.BUY if self.size > 0 else Side.SELL


@dataclass(frozen=True)
class FillOutcome:
    new_size: Decimal
    new_entry: Decimal
    realized_pnl: Decimal
    closed_size: Decimal  # how much of the old position this fill closed (>= 0)


def apply_fill(size: Decimal, entry: Decimal, delta: Decimal, price: Decimal) -> FillOutcome:
    """The leg after a fill of signed ``delta`` at ``price``: weighted entry on growth, PnL on reduction, flips."""
    if delta == 0:
        return FillOutcome(size, entry, ZERO, ZERO)
    if size == 0 or (size > 0) == (delta > 0):
        new_size = size + delta
        new_entry = (abs(size) * entry + abs(delta) * price) / abs(new_size)
        return FillOutcome(new_size, new_entry, ZERO, ZERO)
    closed = min(abs(delta), abs(size))
    direction = Decimal(1) if size > 0 else Decimal(-1)
    realized = closed * (price - entry) * direction
    remaining = abs(delta) - closed
    if remaining > 0:  # flip: the rest opens the other side at the fill price
        return FillOutcome(remaining * (1 if delta > 0 else -1), price, realized, closed)
    new_size = size + delta
    return FillOutcome(new_size, entry if new_size != 0 else ZERO, realized, closed)


def initial_margin(size: Decimal, entry_price: Decimal, leverage: Decimal) -> Decimal:
    return abs(size) * entry_price / leverage


def unrealized_pnl(size: Decimal, entry_price: Decimal, mark: Decimal) -> Decimal:
    # "+ ZERO" turns a negative zero (short leg at its entry) into a plain 0.
    return size * (mark - entry_price) + ZERO


@dataclass(frozen=True)
class PositionView:
    """A leg with everything derived from the mark and leverage, as the venues report it."""

    symbol: str
    position_idx: int
    side: Side | None
    size: Decimal  # absolute
    signed_size: Decimal
    entry_price: Decimal
    leverage: Decimal
    mark_price: Decimal
    position_value: Decimal  # |size| x entry
    im: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    seq: int
    updated_ms: int


@dataclass(frozen=True)
class WalletView:
    wallet_balance: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    position_im: Decimal
    order_im: Decimal
    available: Decimal


@dataclass
class Account:
    """An account's mutable state. Records inside (positions, orders) are immutable and replaced on change."""

    name: str
    wallet: Decimal
    position_mode: PositionMode = PositionMode.ONE_WAY
    leverage: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[PositionKey, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    client_index: dict[str, int] = field(default_factory=dict)  # client order id -> latest order id using it
    fills: list[Fill] = field(default_factory=list)  # oldest first
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def position(self, symbol: str, position_idx: int) -> Position:
        return self.positions.get((symbol, position_idx)) or Position(symbol, position_idx)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.size != 0]

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open]

    def valid_indexes(self) -> tuple[int, ...]:
        if self.position_mode is PositionMode.ONE_WAY:
            return (int(PositionIdx.ONE_WAY),)
        return (int(PositionIdx.HEDGE_LONG), int(PositionIdx.HEDGE_SHORT))


LeverageOf = Callable[[str], Decimal]
MarkOf = Callable[[str], Decimal]


def order_margin(order: Order, leverage: Decimal) -> Decimal:
    """IM held by a resting order; reduce-only orders and market orders hold none."""
    if not order.is_open or order.reduce_only or order.price is None:
        return ZERO
    return order.leaves_qty * order.price / leverage


def wallet_view(
    account: Account,
    leverage_of: LeverageOf,
    mark_of: MarkOf,
    *,
    replace: Mapping[PositionKey, Position] | None = None,
    wallet_delta: Decimal = ZERO,
) -> WalletView:
    """The account's margin summary; ``replace``/``wallet_delta`` evaluate a hypothetical fill before doing it."""
    positions = dict(account.positions)
    if replace:
        positions.update(replace)
    upnl = ZERO
    position_im = ZERO
    for pos in positions.values():
        if pos.size == 0:
            continue
        upnl += unrealized_pnl(pos.size, pos.entry_price, mark_of(pos.symbol))
        position_im += initial_margin(pos.size, pos.entry_price, leverage_of(pos.symbol))
    order_im = sum((order_margin(o, leverage_of(o.symbol)) for o in account.orders.values()), ZERO)
    wallet = account.wallet + wallet_delta
    equity = wallet + upnl
    return WalletView(wallet, equity, upnl, position_im, order_im, equity - position_im - order_im)


def position_view(position: Position, leverage: Decimal, mark: Decimal) -> PositionView:
    return PositionView(
        symbol=position.symbol,
        position_idx=position.position_idx,
        side=position.side,
        size=abs(position.size),
        signed_size=position.size,
        entry_price=position.entry_price,
        leverage=leverage,
        mark_price=mark,
        position_value=abs(position.size) * position.entry_price,
        im=initial_margin(position.size, position.entry_price, leverage),
        unrealized_pnl=unrealized_pnl(position.size, position.entry_price, mark),
        realized_pnl=position.realized_pnl,
        seq=position.seq,
        updated_ms=position.updated_ms,
    )
