"""Bybit v5 payload shapes (REST result items and private-stream data items) built from the core's records.

Every number goes out as a string except ``positionIdx``, ``seq`` and a few integer flags, as Bybit sends them.
Derived money values (IM, PnL, averaged prices) are cut to 8 decimals, the precision Bybit shows.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from runtime.domain.values import ZERO, decimal_str
from runtime.sim.catalogue import SimInstrument
from runtime.sim.events import Fill
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import ExecType, Order, OrderOrigin, OrderStatus, RejectionKind

EIGHT_DP = Decimal("0.00000001")
# Maintenance margin rate of the lowest risk tier (0.5% on Bybit's majors): enough for positionMM read-outs.
MAINTENANCE_RATE = Decimal("0.005")
RISK_LIMIT_VALUE = "2000000"


def num(value: Decimal) -> str:
    """Exact plain text of a quantity or price as given (sizes, order prices)."""
    return decimal_str(value)


def money(value: Decimal) -> str:
    """A derived amount, rounded to 8 decimals like Bybit's wallet and position figures."""
    return decimal_str(value.quantize(EIGHT_DP, rounding=ROUND_HALF_UP) + ZERO)


def order_id_text(order_id: int) -> str:
    """Bybit order ids are UUIDs; the core's integer id maps to one and back without a table."""
    return str(uuid.UUID(int=order_id))


def parse_order_id(text: str) -> int | None:
    try:
        return uuid.UUID(text).int
    except ValueError:
        return None


def wire_seq(seq: int) -> int:
    # Bybit reports -1 for a leg that has never traded.
    return seq if seq > 0 else -1


def position_item(view: PositionView, *, created_ms: int, for_stream: bool) -> dict[str, Any]:
    """One leg as ``/v5/position/list`` (``avgPrice``) or the ``position`` topic (``entryPrice``) shows it."""
    flat = view.size == 0
    item: dict[str, Any] = {
        "positionIdx": view.position_idx,
        "tradeMode": 0,
        "riskId": 1,
        "riskLimitValue": RISK_LIMIT_VALUE,
        "symbol": view.symbol,
        "side": "" if view.side is None else view.side.value,
        "size": num(view.size),
        "entryPrice" if for_stream else "avgPrice": money(view.entry_price),
        "leverage": num(view.leverage),
        "positionValue": money(view.position_value),
        "positionBalance": money(view.im),
        "markPrice": num(view.mark_price),
        "positionIM": money(view.im),
        "positionMM": money(view.position_value * MAINTENANCE_RATE),
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": money(view.unrealized_pnl),
        # The simulator keeps one realized figure per leg; the current-holding figure repeats it.
        "curRealisedPnl": money(view.realized_pnl),
        "cumRealisedPnl": money(view.realized_pnl),
        "sessionAvgPrice": "",
        "createdTime": str(created_ms),
        "updatedTime": str(view.updated_ms or created_ms),
        "tpslMode": "Full",
        "liqPrice": "",
        "bustPrice": "",
        "positionStatus": "Normal",
        "adlRankIndicator": 0 if flat else 2,
        "autoAddMargin": 0,
        "leverageSysUpdatedTime": "",
        "mmrSysUpdatedTime": "",
        "seq": wire_seq(view.seq),
        "isReduceOnly": False,
    }
    if for_stream:
        item["category"] = "linear"
    return item


def _create_type(order: Order) -> str:
    if order.origin is OrderOrigin.LIQUIDATION:
        return "CreateByLiq"
    if order.origin is OrderOrigin.ADL:
        return "CreateByAdl"
    return "CreateByUser"


def _cancel_type(order: Order) -> str:
    if order.status is not OrderStatus.CANCELLED:
        return "UNKNOWN"
    if order.cancel_reason is RejectionKind.REDUCE_ONLY_ZERO_POSITION:
        return "CancelByReduceOnly"
    if order.cancel_reason is RejectionKind.IOC_NOT_MATCHED:
        return "UNKNOWN"
    return "CancelByUser"


def order_item(order: Order, *, for_stream: bool, cum_fee: Decimal = ZERO) -> dict[str, Any]:
    """One order as ``/v5/order/realtime`` or the ``order`` topic shows it."""
    filled_value = order.filled_qty * order.avg_price
    shown_price = order.price if order.price is not None else (order.avg_price if order.filled_qty else ZERO)
    leaves = order.leaves_qty
    item: dict[str, Any] = {
        "orderId": order_id_text(order.order_id),
        "orderLinkId": order.client_id,
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": num(shown_price),
        "qty": num(order.qty),
        "side": order.side.value,
        "isLeverage": "",
        "positionIdx": order.position_idx,
        "orderStatus": order.status.value,
        "createType": _create_type(order),
        "cancelType": _cancel_type(order),
        "rejectReason": "EC_NoError",
        "avgPrice": money(order.avg_price) if order.filled_qty > 0 else "",
        "leavesQty": num(leaves),
        "leavesValue": money(leaves * order.price) if order.price is not None else "0",
        "cumExecQty": num(order.filled_qty),
        "cumExecValue": money(filled_value),
        "cumExecFee": money(cum_fee),
        "timeInForce": order.time_in_force.value,
        "orderType": order.order_type.value,
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }
    if for_stream:
        item["category"] = "linear"
        item["feeCurrency"] = ""
        item["closedPnl"] = "0"
    return item


_EXEC_CREATE_TYPES = {ExecType.BUST: "CreateByLiq", ExecType.ADL: "CreateByAdl"}


def execution_item(fill: Fill, *, fee_rate: Decimal, mark: Decimal, for_stream: bool) -> dict[str, Any]:
    """One fill as ``/v5/execution/list`` or the ``execution`` topic shows it (no positionIdx, as on Bybit)."""
    item: dict[str, Any] = {
        "symbol": fill.symbol,
        "orderId": order_id_text(fill.order_id),
        "orderLinkId": fill.client_id,
        "side": fill.side.value,
        "orderPrice": num(fill.price),
        "orderQty": num(fill.order_qty),
        "leavesQty": num(fill.leaves_qty),
        "createType": _EXEC_CREATE_TYPES.get(fill.exec_type, "CreateByUser"),
        "orderType": fill.order_type.value,
        "stopOrderType": "UNKNOWN",
        "execFee": money(fill.fee),
        "execId": fill.exec_id,
        "execPrice": num(fill.price),
        "execQty": num(fill.qty),
        "execType": fill.exec_type.value,
        "execValue": money(fill.value),
        "execTime": str(fill.time_ms),
        "feeCurrency": "USDT",
        "isMaker": fill.is_maker,
        "feeRate": num(fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": num(mark),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": num(fill.closed_size),
        "execPnl": money(fill.realized_pnl),
        "seq": fill.seq,
    }
    if for_stream:
        item["category"] = "linear"
        item["isLeverage"] = "0"
    return item


def maintenance_margin(positions: list[PositionView]) -> Decimal:
    return sum((view.position_value * MAINTENANCE_RATE for view in positions), ZERO)


def wallet_item(wallet: WalletView, *, maintenance: Decimal) -> dict[str, Any]:
    """The UNIFIED account as ``/v5/account/wallet-balance`` (``result.list[0]``) and the ``wallet`` topic show it.

    ``maintenance`` is the summed maintenance margin of the open legs (see ``maintenance_margin``)."""
    total_im = wallet.position_im + wallet.order_im
    margin_balance = wallet.equity
    im_rate = total_im / margin_balance if margin_balance > 0 else ZERO
    mm_rate = maintenance / margin_balance if margin_balance > 0 else ZERO
    return {
        "accountType": "UNIFIED",
        "accountLTV": "0",
        "accountIMRate": money(im_rate),
        "accountMMRate": money(mm_rate),
        "totalEquity": money(wallet.equity),
        "totalWalletBalance": money(wallet.wallet_balance),
        "totalMarginBalance": money(margin_balance),
        "totalAvailableBalance": money(wallet.available),
        "totalPerpUPL": money(wallet.unrealized_pnl),
        "totalInitialMargin": money(total_im),
        "totalMaintenanceMargin": money(maintenance),
        "coin": [
            {
                "coin": "USDT",
                "equity": money(wallet.equity),
                "usdValue": money(wallet.equity),
                "walletBalance": money(wallet.wallet_balance),
                "availableToWithdraw": money(max(wallet.available, ZERO)),
                "availableToBorrow": "",
                "borrowAmount": "0",
                "accruedInterest": "0",
                "totalOrderIM": money(wallet.order_im),
                "totalPositionIM": money(wallet.position_im),
                "totalPositionMM": money(maintenance),
                "unrealisedPnl": money(wallet.unrealized_pnl),
                "cumRealisedPnl": "0",
                "bonus": "0",
                "collateralSwitch": True,
                "marginCollateral": True,
                "locked": "0",
                "spotHedgingQty": "0",
            }
        ],
    }


def instrument_item(item: SimInstrument, *, launch_ms: int) -> dict[str, Any]:
    rules = item.rules
    tick_exponent = rules.tick_size.normalize().as_tuple().exponent
    price_scale = -tick_exponent if isinstance(tick_exponent, int) and tick_exponent < 0 else 0
    return {
        "symbol": item.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": item.base_coin,
        "quoteCoin": item.quote_coin,
        "settleCoin": item.quote_coin,
        "launchTime": str(launch_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(price_scale),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": num(rules.max_leverage), "leverageStep": "0.01"},
        "priceFilter": {"minPrice": num(rules.tick_size), "maxPrice": "1999999.8", "tickSize": num(rules.tick_size)},
        "lotSizeFilter": {
            "maxOrderQty": num(rules.max_qty),
            "minOrderQty": num(rules.min_qty),
            "qtyStep": num(rules.qty_step),
            "postOnlyMaxOrderQty": num(rules.max_qty),
            "maxMktOrderQty": num(rules.max_market_qty),
            "minNotionalValue": num(rules.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
    }


def ticker_item(symbol: str, mark: Decimal) -> dict[str, Any]:
    """A ticker whose every price is the simulator's mark (there is no order book to differ from it)."""
    price = num(mark)
    return {
        "symbol": symbol,
        "lastPrice": price,
        "indexPrice": price,
        "markPrice": price,
        "prevPrice24h": price,
        "price24hPcnt": "0",
        "highPrice24h": price,
        "lowPrice24h": price,
        "prevPrice1h": price,
        "openInterest": "0",
        "openInterestValue": "0",
        "turnover24h": "0",
        "volume24h": "0",
        "fundingRate": "0.0001",
        "nextFundingTime": "0",
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": "1",
        "bid1Price": price,
        "ask1Price": price,
        "bid1Size": "1",
        "basis": "",
    }


def api_key_info(api_key: str, *, can_withdraw: bool, user_id: int, created_iso: str) -> dict[str, Any]:
    """``/v5/user/query-api`` for a read-write key with contract trading; ``Withdraw`` only when asked for."""
    wallet = ["AccountTransfer", "SubMemberTransfer"] + (["Withdraw"] if can_withdraw else [])
    return {
        "id": str(user_id),
        "note": "simulator",
        "apiKey": api_key,
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": [],
            "Wallet": wallet,
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": 90,
        "expiredAt": "",
        "createdAt": created_iso,
        "unified": 0,
        "uta": 1,
        "userID": user_id,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }
