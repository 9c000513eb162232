"""Bybit v5 account, position and public market endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runtime.domain.values import PositionMode
from runtime.sim.bybit.codes import BybitError, RetCode, now_ms
from runtime.sim.bybit.gate import Caller, Params, Result
from runtime.sim.bybit.params import parse_set_leverage, parse_switch_mode, require_linear
from runtime.sim.bybit.payloads import (
    api_key_info,
    instrument_item,
    maintenance_margin,
    position_item,
    ticker_item,
    wallet_item,
)
from runtime.sim.ledger import PositionView
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import OrderRejected, RejectionKind

# When the simulated listings "launched" (shown in instruments-info; nothing depends on it).
LAUNCH_MS = 1_585_526_400_000


def position_rows(views: list[PositionView], *, for_stream: bool) -> list[dict[str, Any]]:
    now = now_ms()
    return [position_item(view, created_ms=view.updated_ms or now, for_stream=for_stream) for view in views]


def wallet_result(engine: MatchingEngine, account: str) -> dict[str, Any]:
    wallet = engine.wallet(account)
    return wallet_item(wallet, maintenance=maintenance_margin(engine.positions(account)))


class AccountRoutes:
    """``key_info`` answers whether a key may withdraw and its numeric user id (kept by the server)."""

    def __init__(self, engine: MatchingEngine, key_info: Callable[[str], tuple[bool, int]]) -> None:
        self.engine = engine
        self._key_info = key_info

    def positions(self, caller: Caller, params: Params) -> Result:
        """With ``symbol``: every leg of the mode, flat ones included; with ``settleCoin``: non-flat legs only."""
        require_linear(params)
        symbol, settle = params.get("symbol", ""), params.get("settleCoin", "")
        account = self.engine.account(caller.account)
        if symbol:
            self.engine.instrument(symbol)
            views = [self.engine.position_view(caller.account, symbol, idx) for idx in account.valid_indexes()]
        elif settle:
            views = [
                view
                for view in self.engine.positions(caller.account)
                if (found := self.engine.catalogue.get(view.symbol)) is not None and found.quote_coin == settle
            ]
        else:
            raise BybitError(RetCode.PARAMS, "Missing some parameters that must be filled in, symbol or settleCoin")
        rows = position_rows(views, for_stream=False)
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    def set_leverage(self, caller: Caller, params: Params) -> Result:
        leverage = parse_set_leverage(params)
        if leverage.buy_leverage != leverage.sell_leverage:
            raise BybitError(
                RetCode.PARAMS,
                "buyLeverage must equal sellLeverage on a unified (cross margin) account",
            )
        try:
            changed = self.engine.set_leverage(caller.account, leverage.symbol, leverage.buy_leverage)
        except OrderRejected as exc:
            if exc.kind is RejectionKind.INSUFFICIENT_MARGIN:
                raise BybitError(RetCode.INSUFFICIENT_MARGIN, f"Insufficient available margin: {exc.message}") from None
            raise
        if not changed:
            raise BybitError(RetCode.LEVERAGE_NOT_MODIFIED, "leverage not modified")
        return {}

    def switch_mode(self, caller: Caller, params: Params) -> Result:
        switch = parse_switch_mode(params)
        if switch.symbol:
            self.engine.instrument(switch.symbol)
        mode = PositionMode.HEDGE if switch.hedge else PositionMode.ONE_WAY
        if not self.engine.set_position_mode(caller.account, mode):
            raise BybitError(RetCode.MODE_NOT_MODIFIED, "Position mode is not modified")
        return {}

    def wallet_balance(self, caller: Caller, params: Params) -> Result:
        account_type = params.get("accountType")
        if account_type != "UNIFIED":
            raise BybitError(RetCode.PARAMS, f"accountType only support UNIFIED, got {account_type!r}")
        coins = [c for c in str(params.get("coin", "")).split(",") if c]
        item = wallet_result(self.engine, caller.account)
        if coins:
            item["coin"] = [c for c in item["coin"] if c["coin"] in coins]
        return {"list": [item]}

    def query_api(self, caller: Caller, params: Params) -> Result:
        can_withdraw, user_id = self._key_info(caller.api_key)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return api_key_info(caller.api_key, can_withdraw=can_withdraw, user_id=user_id, created_iso=created)


class MarketRoutes:
    def __init__(self, engine: MatchingEngine) -> None:
        self.engine = engine

    def instruments(self, params: Params) -> Result:
        require_linear(params)
        symbol = params.get("symbol", "")
        listed = [item for item in self.engine.catalogue if not symbol or item.symbol == symbol]
        return {
            "category": "linear",
            "list": [instrument_item(item, launch_ms=LAUNCH_MS) for item in listed],
            "nextPageCursor": "",
        }

    def tickers(self, params: Params) -> Result:
        require_linear(params)
        symbol = params.get("symbol", "")
        symbols = [s for s in self.engine.catalogue.symbols() if not symbol or s == symbol]
        return {"category": "linear", "list": [ticker_item(s, self.engine.mark(s)) for s in symbols]}

    def server_time(self, params: Params) -> Result:
        nanos = time.time_ns()
        return {"timeSecond": str(nanos // 1_000_000_000), "timeNano": str(nanos)}
