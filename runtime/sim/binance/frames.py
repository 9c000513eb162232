"""User-data-stream frames, translated from the simulator's event batches the way Binance words them.

One fill batch ``(order created, fill, order filled, position, wallet)`` becomes
``ORDER_TRADE_UPDATE x=NEW``, ``ORDER_TRADE_UPDATE x=TRADE`` and ``ACCOUNT_UPDATE m=ORDER`` (Binance reports a
market order as NEW, then its TRADE); a cancel becomes ``x=CANCELED``, an IOC remainder ``x=EXPIRED`` and a
leverage change ``ACCOUNT_CONFIG_UPDATE``. Position touches (Bybit's no-change position messages) have no Binance
counterpart and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.sim.binance.payloads import QUOTE_ASSET, margin_type_word, num, time_in_force
from runtime.sim.binance.symbols import POSITION_SIDE_OF_IDX, order_status
from runtime.sim.events import (
    EventBatch,
    Fill,
    FillEvent,
    OrderChange,
    OrderEvent,
    PositionChange,
    PositionEvent,
    WalletEvent,
)
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import Order, OrderOrigin, OrderType, RejectionKind

MarginTypeOf = Callable[[str], str]  # symbol -> "CROSSED" | "ISOLATED"


def _order_type(order: Order) -> str:
    if order.origin is OrderOrigin.LIQUIDATION:
        return "LIQUIDATION"
    return "MARKET" if order.order_type is OrderType.MARKET else "LIMIT"


def _client_id(order: Order) -> str:
    # Forced closes carry the venue's own ids: "autoclose-..." for liquidations, "adl_autoclose" for ADL.
    if order.origin is OrderOrigin.LIQUIDATION:
        return f"autoclose-{order.order_id}"
    if order.origin is OrderOrigin.ADL:
        return "adl_autoclose"
    return order.client_id


def order_frame(order: Order, execution: str, now_ms: int, fill: Fill | None = None) -> dict[str, Any]:
    """``ORDER_TRADE_UPDATE`` for ``order``; ``execution`` is x (NEW, TRADE, CANCELED, EXPIRED)."""
    kind = _order_type(order)
    last_qty = fill.qty if fill is not None else None
    transaction_ms = fill.time_ms if fill is not None else order.updated_ms
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now_ms,
        "T": transaction_ms,
        "o": {
            "s": order.symbol,
            "c": _client_id(order),
            "S": order.side.value.upper(),
            "o": kind,
            "f": time_in_force(order),
            "q": num(order.qty),
            "p": num(order.price) if order.price is not None else "0",
            "ap": num(order.avg_price),
            "sp": "0",
            "x": execution,
            "X": "NEW" if execution == "NEW" else order_status(order),
            "i": order.order_id,
            "l": num(last_qty) if last_qty is not None else "0",
            "z": num(order.filled_qty),
            "L": num(fill.price) if fill is not None else "0",
            "N": QUOTE_ASSET,
            "n": num(fill.fee) if fill is not None else "0",
            "T": transaction_ms,
            "t": fill.trade_id if fill is not None else 0,
            "b": "0",
            "a": "0",
            "m": fill.is_maker if fill is not None else False,
            "R": order.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": kind,
            "ps": POSITION_SIDE_OF_IDX.get(order.position_idx, "BOTH"),
            "cp": False,
            "rp": num(fill.realized_pnl) if fill is not None else "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def account_frame(
    positions: list[PositionView],
    wallet: WalletView | None,
    margin_type_of: MarginTypeOf,
    now_ms: int,
    *,
    transaction_ms: int,
    reason: str = "ORDER",
) -> dict[str, Any]:
    """``ACCOUNT_UPDATE`` with the USDT balance and the positions that changed."""
    balances = []
    if wallet is not None:
        balances.append(
            {"a": QUOTE_ASSET, "wb": num(wallet.wallet_balance), "cw": num(wallet.wallet_balance), "bc": "0"}
        )
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": transaction_ms,
        "a": {
            "m": reason,
            "B": balances,
            "P": [
                {
                    "s": view.symbol,
                    "pa": num(view.signed_size),
                    "ep": num(view.entry_price),
                    "bep": num(view.entry_price),
                    "cr": num(view.realized_pnl),
                    "up": num(view.unrealized_pnl),
                    "mt": margin_type_word(margin_type_of(view.symbol)),
                    "iw": "0",
                    "ps": POSITION_SIDE_OF_IDX.get(view.position_idx, "BOTH"),
                }
                for view in positions
            ],
        },
    }


def leverage_frame(symbol: str, leverage: int, now_ms: int) -> dict[str, Any]:
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": now_ms, "T": now_ms, "ac": {"s": symbol, "l": leverage}}


def listen_key_expired_frame(key: str, now_ms: int) -> dict[str, Any]:
    return {"e": "listenKeyExpired", "E": now_ms, "listenKey": key}


def frames_for_batch(
    batch: EventBatch, account: str, margin_type_of: MarginTypeOf, now_ms: int
) -> list[dict[str, Any]]:
    """The frames ``account``'s user stream receives for one event batch (other accounts' events are skipped)."""
    frames: list[dict[str, Any]] = []
    filled_orders = {
        e.order.order_id: e.order
        for e in batch
        if isinstance(e, OrderEvent) and e.account == account and e.change is OrderChange.FILLED
    }
    moved: list[PositionView] = []
    wallet: WalletView | None = None
    transaction_ms = now_ms
    for event in batch:
        if isinstance(event, OrderEvent) and event.account == account:
            if event.change is OrderChange.CREATED:
                frames.append(order_frame(event.order, "NEW", now_ms))
            elif event.change is OrderChange.CANCELLED:
                expired = event.order.cancel_reason is RejectionKind.IOC_NOT_MATCHED
                frames.append(order_frame(event.order, "EXPIRED" if expired else "CANCELED", now_ms))
        elif isinstance(event, FillEvent) and event.account == account:
            fill = event.fill
            order = filled_orders.get(fill.order_id)
            if order is not None:
                frames.append(order_frame(order, "TRADE", now_ms, fill))
            transaction_ms = fill.time_ms
        elif isinstance(event, PositionEvent) and event.account == account:
            if event.change is PositionChange.FILL:
                moved.append(event.position)
            elif event.change is PositionChange.LEVERAGE and event.position.position_idx in (0, 1):
                # One frame per symbol: hedge mode publishes both legs, Binance reports the symbol once.
                frames.append(leverage_frame(event.position.symbol, int(event.position.leverage), now_ms))
        elif isinstance(event, WalletEvent) and event.account == account:
            wallet = event.wallet
    if moved:
        frames.append(account_frame(moved, wallet, margin_type_of, now_ms, transaction_ms=transaction_ms))
    return frames
