"""Account endpoints: account, balance, positions, leverage, margin type, position mode, key permissions.

``GET /fapi/v3/positionRisk`` lists only symbols with a position or open orders and carries no leverage (as on the
live venue); ``/fapi/v2/positionRisk`` and ``/fapi/v2/account`` list every symbol with its leverage. Margin is
cross whatever ``marginType`` says: the simulator records ISOLATED and reports it, but does not model it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.domain.values import PositionMode
from runtime.sim.binance.codes import BinanceError, ErrorCode
from runtime.sim.binance.endpoint import Call, Security, endpoint
from runtime.sim.binance.params import parse_dual_side, parse_leverage, parse_margin_type, text
from runtime.sim.binance.payloads import (
    MAX_NOTIONAL,
    account_payload,
    account_position,
    api_restrictions,
    balance_payload,
    leverage_bracket,
    num,
    position_risk_v2,
    position_risk_v3,
)
from runtime.sim.ledger import PositionView
from runtime.sim.model import OrderRejected, RejectionKind

if TYPE_CHECKING:
    from runtime.sim.binance.server import BinanceSimulator

SUCCESS = {"code": 200, "msg": "success"}


class AccountEndpoints:
    def __init__(self, sim: BinanceSimulator) -> None:
        self.sim = sim
        self.engine = sim.engine

    def register(self, app: web.Application) -> None:
        sim, signed = self.sim, Security.SIGNED
        app.router.add_get("/fapi/v2/account", endpoint(sim, signed, self.account))
        app.router.add_get("/fapi/v2/balance", endpoint(sim, signed, self.balance))
        app.router.add_get("/fapi/v3/balance", endpoint(sim, signed, self.balance))
        app.router.add_get("/fapi/v2/positionRisk", endpoint(sim, signed, self.position_risk_v2))
        app.router.add_get("/fapi/v3/positionRisk", endpoint(sim, signed, self.position_risk_v3))
        app.router.add_post("/fapi/v1/leverage", endpoint(sim, signed, self.change_leverage))
        app.router.add_get("/fapi/v1/leverageBracket", endpoint(sim, signed, self.leverage_brackets))
        app.router.add_post("/fapi/v1/marginType", endpoint(sim, signed, self.change_margin_type))
        app.router.add_post("/fapi/v1/positionSide/dual", endpoint(sim, signed, self.change_position_mode))
        app.router.add_get("/fapi/v1/positionSide/dual", endpoint(sim, signed, self.position_mode))
        app.router.add_get("/sapi/v1/account/apiRestrictions", endpoint(sim, signed, self.key_permissions))

    # ----- read-outs ---------------------------------------------------------------------------------------------

    def _legs(self, account: str, symbols: list[str]) -> list[PositionView]:
        indexes = self.engine.account(account).valid_indexes()
        return [self.engine.position_view(account, symbol, idx) for symbol in symbols for idx in indexes]

    def _symbols(self, call: Call) -> list[str]:
        symbol = text(call.params, "symbol")
        if symbol:
            self.engine.instrument(symbol)
            return [symbol]
        return self.engine.catalogue.symbols()

    def account(self, call: Call) -> dict[str, Any]:
        margin = self.sim.margin_type
        positions = [
            account_position(view, margin(call.who, view.symbol))
            for view in self._legs(call.who, self.engine.catalogue.symbols())
        ]
        return account_payload(self.engine.wallet(call.who), positions, call.now_ms)

    def balance(self, call: Call) -> list[dict[str, Any]]:
        return balance_payload(self.engine.wallet(call.who), call.who, call.now_ms)

    def position_risk_v2(self, call: Call) -> list[dict[str, Any]]:
        return [
            position_risk_v2(view, self.sim.margin_type(call.who, view.symbol))
            for view in self._legs(call.who, self._symbols(call))
        ]

    def position_risk_v3(self, call: Call) -> list[dict[str, Any]]:
        active = {view.symbol for view in self.engine.positions(call.who)}
        active |= {order.symbol for order in self.engine.open_orders(call.who)}
        symbols = [symbol for symbol in self._symbols(call) if symbol in active]
        return [position_risk_v3(view) for view in self._legs(call.who, symbols)]

    def leverage_brackets(self, call: Call) -> list[dict[str, Any]] | dict[str, Any]:
        rows = [leverage_bracket(s, self.engine.instrument(s).rules.max_leverage) for s in self._symbols(call)]
        return rows[0] if text(call.params, "symbol") else rows

    def position_mode(self, call: Call) -> dict[str, Any]:
        hedge = self.engine.account(call.who).position_mode is PositionMode.HEDGE
        return {"dualSidePosition": hedge}

    def key_permissions(self, call: Call) -> dict[str, Any]:
        assert call.api_key is not None  # SIGNED calls always carry a known key
        return api_restrictions(self.sim.can_withdraw(call.api_key), self.sim.key_created_ms(call.api_key))

    # ----- changes -----------------------------------------------------------------------------------------------

    def change_leverage(self, call: Call) -> dict[str, Any]:
        request = parse_leverage(call.params)
        try:
            # Setting the same leverage again succeeds quietly (no "not modified" code on Binance).
            self.engine.set_leverage(call.who, request.symbol, Decimal(request.leverage))
        except OrderRejected as exc:
            if exc.kind is RejectionKind.INSUFFICIENT_MARGIN:
                raise BinanceError(ErrorCode.MIN_LEVERAGE_RATIO) from None
            raise
        return {"symbol": request.symbol, "leverage": request.leverage, "maxNotionalValue": num(MAX_NOTIONAL)}

    def change_margin_type(self, call: Call) -> dict[str, Any]:
        request = parse_margin_type(call.params)
        self.engine.instrument(request.symbol)
        if self.sim.margin_type(call.who, request.symbol) == request.margin_type:
            raise BinanceError(ErrorCode.NO_NEED_TO_CHANGE_MARGIN_TYPE)
        if self.engine.positions(call.who, request.symbol):
            raise BinanceError(ErrorCode.MARGIN_TYPE_EXISTS_QUANTITY)
        if self.engine.open_orders(call.who, request.symbol):
            raise BinanceError(ErrorCode.MARGIN_TYPE_EXISTS_OPEN_ORDERS)
        self.sim.set_margin_type(call.who, request.symbol, request.margin_type)
        return SUCCESS

    def change_position_mode(self, call: Call) -> dict[str, Any]:
        mode = PositionMode.HEDGE if parse_dual_side(call.params) else PositionMode.ONE_WAY
        if not self.engine.set_position_mode(call.who, mode):
            raise BinanceError(ErrorCode.NO_NEED_TO_CHANGE_POSITION_SIDE)
        return SUCCESS
