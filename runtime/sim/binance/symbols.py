"""Binance-only facts about the listed symbols: position sides, order statuses and number precisions.

``pricePrecision``/``quantityPrecision`` are the most decimals Binance accepts in a price or quantity (more is
-1111 "Precision is over the maximum"); within that, a value off the tick or step is -4014/-4023. As on the live
venue they are not step sizes: BTCUSDT takes two price decimals while its tick is 0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import PositionIdx
from runtime.sim.catalogue import SimInstrument
from runtime.sim.model import Order, OrderStatus, RejectionKind

POSITION_SIDE_OF_IDX = {
    int(PositionIdx.ONE_WAY): "BOTH",
    int(PositionIdx.HEDGE_LONG): "LONG",
    int(PositionIdx.HEDGE_SHORT): "SHORT",
}
IDX_OF_POSITION_SIDE = {side: idx for idx, side in POSITION_SIDE_OF_IDX.items()}

# Live-venue precisions where they differ from the tick/step decimals.
DEFAULT_PRICE_PRECISION = {"BTCUSDT": 2, "SOLUSDT": 4, "DOGEUSDT": 6}


def decimals(value: Decimal) -> int:
    """Digits after the point of ``value`` as written ("0.10" has 2); 0 for integers."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # callers pass finite numbers only
    return max(0, -exponent)


@dataclass(frozen=True)
class Precision:
    price: int
    quantity: int


def precision_table(
    instruments: list[SimInstrument], overrides: Mapping[str, Precision] | None = None
) -> dict[str, Precision]:
    """Each symbol's precisions: the live-venue figure, else the tick/step decimals; ``overrides`` win."""
    table: dict[str, Precision] = {}
    for item in instruments:
        rules = item.rules
        table[item.symbol] = Precision(
            price=DEFAULT_PRICE_PRECISION.get(item.symbol, decimals(rules.tick_size.normalize())),
            quantity=decimals(rules.qty_step.normalize()),
        )
    table.update(overrides or {})
    return table


def order_status(order: Order) -> str:
    """Binance's word for the order's state; an IOC/market remainder that found no match EXPIRED."""
    if order.status is OrderStatus.NEW:
        return "PARTIALLY_FILLED" if order.filled_qty > 0 else "NEW"
    if order.status is OrderStatus.FILLED:
        return "FILLED"
    if order.cancel_reason is RejectionKind.IOC_NOT_MATCHED:
        return "EXPIRED"
    return "CANCELED"
