"""The shapes Hyperliquid's ``/info`` and ``/ws`` answer with, built from the core's records.

Numbers go out as decimal strings (the SDK reads them with ``float``), sides as "B" (bid/buy) and "A" (ask/sell).
Hyperliquid values a position at the mark: ``positionValue = |szi| x mark`` and ``marginUsed = positionValue /
leverage`` (see the SDK's recorded ``clearinghouseState`` cassette), and ``accountValue = totalRawUsd + sum(szi x
mark)``. The cross liquidation price solves ``equity(P) = maintenance margin(P)`` for this position alone, with the
maintenance margin at half the initial margin of the coin's maximum leverage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from runtime.domain.values import ZERO, Side, decimal_str
from runtime.sim.events import Fill
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import Order, OrderStatus, RejectionKind

USD_PLACES = Decimal("0.000001")
FEE_TOKEN = "USDC"


def usd(value: Decimal) -> str:
    return decimal_str(value.quantize(USD_PLACES, rounding=ROUND_HALF_EVEN))


def side_code(side: Side) -> str:
    return "B" if side is Side.BUY else "A"


def tx_hash(seed: str) -> str:
    return "0x" + hashlib.sha256(seed.encode()).hexdigest()


def leverage_value(leverage: Decimal) -> int:
    return int(leverage)


def liquidation_price(
    signed_size: Decimal, mark: Decimal, account_value: Decimal, max_leverage: Decimal
) -> Decimal | None:
    """Where this position alone would take the account to its maintenance margin; None when it never does."""
    if signed_size == 0:
        return None
    mmr = Decimal(1) / (2 * max_leverage)
    denominator = signed_size - abs(signed_size) * mmr
    if denominator == 0:
        return None
    price = (signed_size * mark - account_value) / denominator
    return price if price > 0 else None


def clearinghouse_state(
    wallet: WalletView,
    positions: list[PositionView],
    max_leverage: Mapping[str, Decimal],
    margin_types: Mapping[str, str],
    time_ms: int,
) -> dict[str, Any]:
    """The ``clearinghouseState`` answer for one user. Margin is computed as cross for every position; a coin set
    to isolated is reported with ``type`` "isolated" and its ``rawUsd`` but shares the cross pool."""
    asset_positions: list[dict[str, Any]] = []
    total_ntl = ZERO
    total_margin = ZERO
    signed_ntl = ZERO
    account_value = wallet.equity
    for view in positions:
        if view.signed_size == 0:
            continue
        value = view.size * view.mark_price
        margin = value / view.leverage
        total_ntl += value
        total_margin += margin
        signed_ntl += view.signed_size * view.mark_price
        liq = liquidation_price(view.signed_size, view.mark_price, account_value, max_leverage[view.symbol])
        margin_type = margin_types.get(view.symbol, "cross")
        leverage: dict[str, Any] = {"type": margin_type, "value": leverage_value(view.leverage)}
        if margin_type == "isolated":
            leverage["rawUsd"] = usd(margin - view.signed_size * view.entry_price)
        asset_positions.append(
            {
                "position": {
                    "coin": view.symbol,
                    "szi": decimal_str(view.signed_size),
                    "entryPx": decimal_str(view.entry_price),
                    "leverage": leverage,
                    "liquidationPx": decimal_str(liq.quantize(USD_PLACES)) if liq is not None else None,
                    "marginUsed": usd(margin),
                    "positionValue": usd(value),
                    "returnOnEquity": usd(view.unrealized_pnl / margin) if margin else "0",
                    "unrealizedPnl": usd(view.unrealized_pnl),
                    "maxLeverage": leverage_value(max_leverage[view.symbol]),
                },
                "type": "oneWay",
            }
        )
    summary = {
        "accountValue": usd(account_value),
        "totalMarginUsed": usd(total_margin),
        "totalNtlPos": usd(total_ntl),
        "totalRawUsd": usd(account_value - signed_ntl),
    }
    withdrawable = max(ZERO, min(wallet.available, account_value - total_margin))
    return {
        "assetPositions": asset_positions,
        "marginSummary": dict(summary),
        "crossMarginSummary": dict(summary),
        "crossMaintenanceMarginUsed": usd(total_margin / 2),
        "withdrawable": usd(withdrawable),
        "time": time_ms,
    }


def fill_direction(start: Decimal, end: Decimal) -> str:
    """Hyperliquid's ``dir`` of a fill from the position before and after it."""
    if start > 0 > end:
        return "Long > Short"
    if start < 0 < end:
        return "Short > Long"
    if start == 0 or (start > 0 and end > start) or (start < 0 and end < start):
        return "Open Long" if end > start else "Open Short"
    return "Close Long" if start > 0 else "Close Short"


def fill_payload(fill: Fill) -> dict[str, Any]:
    """One fill as ``userFills`` (REST and WebSocket) reports it."""
    end = fill.position.signed_size
    start = end - fill.qty * fill.side.sign
    payload: dict[str, Any] = {
        "coin": fill.symbol,
        "px": decimal_str(fill.price),
        "sz": decimal_str(fill.qty),
        "side": side_code(fill.side),
        "time": fill.time_ms,
        "startPosition": decimal_str(start),
        "dir": fill_direction(start, end),
        "closedPnl": usd(fill.realized_pnl),
        "hash": tx_hash(f"{fill.account}:{fill.exec_id}"),
        "oid": fill.order_id,
        "crossed": not fill.is_maker,
        "fee": usd(fill.fee),
        "tid": fill.trade_id,
        "feeToken": FEE_TOKEN,
    }
    if fill.client_id:
        payload["cloid"] = fill.client_id
    return payload


def basic_order(order: Order) -> dict[str, Any]:
    """The ``openOrders`` shape (also the ``order`` of a ``WsOrder``)."""
    return {
        "coin": order.symbol,
        "side": side_code(order.side),
        "limitPx": decimal_str(order.price) if order.price is not None else "0",
        "sz": decimal_str(order.leaves_qty),
        "oid": order.order_id,
        "timestamp": order.created_ms,
        "origSz": decimal_str(order.qty),
        **({"cloid": order.client_id} if order.client_id else {}),
    }


def frontend_order(order: Order, tifs: Mapping[int, str]) -> dict[str, Any]:
    """The richer shape ``orderStatus`` nests (``frontendOpenOrders`` fields); ``tifs`` maps order id -> tif."""
    return {
        **basic_order(order),
        "triggerCondition": "N/A",
        "isTrigger": False,
        "triggerPx": "0.0",
        "children": [],
        "isPositionTpsl": False,
        "reduceOnly": order.reduce_only,
        "orderType": "Limit",
        "tif": tifs.get(order.order_id, "Gtc"),
        "cloid": order.client_id or None,
    }


# How the venue names the end state of an order (its order status vocabulary).
_CANCEL_STATUS = {
    RejectionKind.IOC_NOT_MATCHED: "iocCancelRejected",
    RejectionKind.INSUFFICIENT_MARGIN: "marginCanceled",
    RejectionKind.REDUCE_ONLY_WOULD_INCREASE: "reduceOnlyCanceled",
    RejectionKind.REDUCE_ONLY_ZERO_POSITION: "reduceOnlyCanceled",
}


def order_status_word(order: Order) -> str:
    if order.status is OrderStatus.NEW:
        return "open"
    if order.status is OrderStatus.FILLED:
        return "filled"
    if order.cancel_reason is None:
        return "canceled"
    return _CANCEL_STATUS.get(order.cancel_reason, "canceled")


def ws_order(order: Order) -> dict[str, Any]:
    """One element of an ``orderUpdates`` message."""
    return {"order": basic_order(order), "status": order_status_word(order), "statusTimestamp": order.updated_ms}


def order_status(order: Order | None, tifs: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The ``orderStatus`` answer."""
    if order is None:
        return {"status": "unknownOid"}
    return {
        "status": "order",
        "order": {
            "order": frontend_order(order, tifs or {}),
            "status": order_status_word(order),
            "statusTimestamp": order.updated_ms,
        },
    }
