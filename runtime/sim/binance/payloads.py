"""Binance USD-M REST response bodies, built from the simulator's records with the venue's field names.

Numbers travel as strings (as Binance sends them); ids and times as integers. Fields the engine never reads are
filled with the values a plain cross-margin USDT account shows, so SDK code that indexes them does not break.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from runtime.domain.values import ZERO, decimal_str
from runtime.sim.binance.symbols import POSITION_SIDE_OF_IDX, Precision, order_status
from runtime.sim.catalogue import SimInstrument
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import Order, OrderType

QUOTE_ASSET = "USDT"
# Binance quotes the position cap per leverage bracket; one wide bracket is enough for copy trading.
MAX_NOTIONAL = Decimal("50000000")


def num(value: Decimal) -> str:
    return decimal_str(value)


def time_in_force(order: Order) -> str:
    """Binance shows market orders as GTC (the simulator runs them as immediate-or-cancel)."""
    return "GTC" if order.order_type is OrderType.MARKET else order.time_in_force.value


def margin_type_word(margin_type: str) -> str:
    """How position payloads and stream frames spell the margin type set with CROSSED/ISOLATED."""
    return "isolated" if margin_type == "ISOLATED" else "cross"


def order_payload(order: Order, *, position_side: str | None = None, with_time: bool = False) -> dict[str, Any]:
    """The order as POST/GET/DELETE /fapi/v1/order show it (GET adds ``time``)."""
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order_status(order),
        "clientOrderId": order.client_id,
        "price": num(order.price) if order.price is not None else "0",
        "avgPrice": num(order.avg_price),
        "origQty": num(order.qty),
        "executedQty": num(order.filled_qty),
        "cumQty": num(order.filled_qty),
        "cumQuote": num(order.filled_qty * order.avg_price),
        "timeInForce": time_in_force(order),
        "type": "MARKET" if order.order_type is OrderType.MARKET else "LIMIT",
        "origType": "MARKET" if order.order_type is OrderType.MARKET else "LIMIT",
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value.upper(),
        "positionSide": position_side or POSITION_SIDE_OF_IDX.get(order.position_idx, "BOTH"),
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": order.updated_ms,
    }
    if with_time:
        body["time"] = order.created_ms
    return body


def _position_common(view: PositionView) -> dict[str, Any]:
    notional = view.signed_size * view.mark_price
    return {
        "symbol": view.symbol,
        "positionSide": POSITION_SIDE_OF_IDX.get(view.position_idx, "BOTH"),
        "positionAmt": num(view.signed_size),
        "entryPrice": num(view.entry_price),
        "breakEvenPrice": num(view.entry_price),
        "markPrice": num(view.mark_price),
        "unRealizedProfit": num(view.unrealized_pnl),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": num(notional),
        "isolatedWallet": "0",
        "updateTime": view.updated_ms,
    }


def position_risk_v3(view: PositionView) -> dict[str, Any]:
    """One row of GET /fapi/v3/positionRisk (no leverage field, as on the live venue)."""
    row = _position_common(view)
    row.update(
        {
            "marginAsset": QUOTE_ASSET,
            "initialMargin": num(view.im),
            "maintMargin": "0",
            "positionInitialMargin": num(view.im),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
        }
    )
    return row


def position_risk_v2(view: PositionView, margin_type: str) -> dict[str, Any]:
    """One row of GET /fapi/v2/positionRisk (carries leverage and marginType)."""
    row = _position_common(view)
    row.update(
        {
            "leverage": num(view.leverage),
            "marginType": margin_type_word(margin_type),
            "isAutoAddMargin": "false",
            "maxNotionalValue": num(MAX_NOTIONAL),
        }
    )
    return row


def account_position(view: PositionView, margin_type: str) -> dict[str, Any]:
    """One entry of ``positions[]`` in GET /fapi/v2/account."""
    return {
        "symbol": view.symbol,
        "initialMargin": num(view.im),
        "maintMargin": "0",
        "unrealizedProfit": num(view.unrealized_pnl),
        "positionInitialMargin": num(view.im),
        "openOrderInitialMargin": "0",
        "leverage": num(view.leverage),
        "isolated": margin_type == "ISOLATED",
        "entryPrice": num(view.entry_price),
        "breakEvenPrice": num(view.entry_price),
        "maxNotional": num(MAX_NOTIONAL),
        "bidNotional": "0",
        "askNotional": "0",
        "positionSide": POSITION_SIDE_OF_IDX.get(view.position_idx, "BOTH"),
        "positionAmt": num(view.signed_size),
        "updateTime": view.updated_ms,
    }


def _wallet_fields(wallet: WalletView) -> dict[str, str]:
    withdrawable = max(wallet.available, ZERO)
    return {
        "walletBalance": num(wallet.wallet_balance),
        "unrealizedProfit": num(wallet.unrealized_pnl),
        "marginBalance": num(wallet.equity),
        "maintMargin": "0",
        "initialMargin": num(wallet.position_im + wallet.order_im),
        "positionInitialMargin": num(wallet.position_im),
        "openOrderInitialMargin": num(wallet.order_im),
        "crossWalletBalance": num(wallet.wallet_balance),
        "crossUnPnl": num(wallet.unrealized_pnl),
        "availableBalance": num(wallet.available),
        "maxWithdrawAmount": num(withdrawable),
    }


def account_payload(wallet: WalletView, positions: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    """GET /fapi/v2/account: totals, the USDT asset and one entry per symbol and position side."""
    fields = _wallet_fields(wallet)
    return {
        "feeTier": 0,
        "feeBurn": False,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": fields["initialMargin"],
        "totalMaintMargin": "0",
        "totalWalletBalance": fields["walletBalance"],
        "totalUnrealizedProfit": fields["unrealizedProfit"],
        "totalMarginBalance": fields["marginBalance"],
        "totalPositionInitialMargin": fields["positionInitialMargin"],
        "totalOpenOrderInitialMargin": fields["openOrderInitialMargin"],
        "totalCrossWalletBalance": fields["crossWalletBalance"],
        "totalCrossUnPnl": fields["crossUnPnl"],
        "availableBalance": fields["availableBalance"],
        "maxWithdrawAmount": fields["maxWithdrawAmount"],
        "assets": [{"asset": QUOTE_ASSET, **fields, "marginAvailable": True, "updateTime": now_ms}],
        "positions": positions,
    }


def balance_payload(wallet: WalletView, account_alias: str, now_ms: int) -> list[dict[str, Any]]:
    """GET /fapi/v3/balance (and v2): one row for USDT."""
    fields = _wallet_fields(wallet)
    return [
        {
            "accountAlias": account_alias,
            "asset": QUOTE_ASSET,
            "balance": fields["walletBalance"],
            "crossWalletBalance": fields["crossWalletBalance"],
            "crossUnPnl": fields["crossUnPnl"],
            "availableBalance": fields["availableBalance"],
            "maxWithdrawAmount": fields["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": now_ms,
        }
    ]


def symbol_info(item: SimInstrument, precision: Precision) -> dict[str, Any]:
    """One ``symbols[]`` entry of GET /fapi/v1/exchangeInfo with the filters the engine shapes orders by."""
    rules = item.rules
    return {
        "symbol": item.symbol,
        "pair": item.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": item.base_coin,
        "quoteAsset": item.quote_coin,
        "marginAsset": item.quote_coin,
        "pricePrecision": precision.price,
        "quantityPrecision": precision.quantity,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": num(rules.tick_size),
                "maxPrice": "4529764",
                "tickSize": num(rules.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(rules.min_qty),
                "maxQty": num(rules.max_qty),
                "stepSize": num(rules.qty_step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": num(rules.min_qty),
                "maxQty": num(rules.max_market_qty),
                "stepSize": num(rules.qty_step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": num(rules.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC"],
    }


def exchange_info(symbols: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": QUOTE_ASSET, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": symbols,
    }


def premium_index(symbol: str, mark: Decimal, now_ms: int) -> dict[str, Any]:
    """GET /fapi/v1/premiumIndex: the mark (index and settle price follow it; funding is not simulated)."""
    return {
        "symbol": symbol,
        "markPrice": num(mark),
        "indexPrice": num(mark),
        "estimatedSettlePrice": num(mark),
        "lastFundingRate": "0",
        "interestRate": "0",
        "nextFundingTime": (now_ms // 28_800_000 + 1) * 28_800_000,
        "time": now_ms,
    }


def leverage_bracket(symbol: str, max_leverage: Decimal) -> dict[str, Any]:
    """GET /fapi/v1/leverageBracket: a single bracket carrying the symbol's maximum leverage."""
    return {
        "symbol": symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": 1,
                "initialLeverage": int(max_leverage),
                "notionalCap": int(MAX_NOTIONAL),
                "notionalFloor": 0,
                "maintMarginRatio": 0.004,
                "cum": 0.0,
            }
        ],
    }


def api_restrictions(can_withdraw: bool, created_ms: int) -> dict[str, Any]:
    """GET /sapi/v1/account/apiRestrictions, the key-permission check the engine runs at start-up."""
    return {
        "ipRestrict": False,
        "createTime": created_ms,
        "enableReading": True,
        "enableWithdrawals": can_withdraw,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": True,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": False,
        "enablePortfolioMarginTrading": False,
    }
