"""Public endpoints: ping and server time (USD-M and the spot paths the websocket manager calls first),
exchange info and mark prices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.sim.binance.endpoint import Call, Security, endpoint
from runtime.sim.binance.params import text
from runtime.sim.binance.payloads import exchange_info, premium_index, symbol_info

if TYPE_CHECKING:
    from runtime.sim.binance.server import BinanceSimulator


class PublicEndpoints:
    def __init__(self, sim: BinanceSimulator) -> None:
        self.sim = sim
        self.engine = sim.engine

    def register(self, app: web.Application) -> None:
        sim, public = self.sim, Security.NONE
        # ThreadedWebsocketManager builds an AsyncClient, which pings /api/v3/ping and reads /api/v3/time.
        for prefix in ("/fapi/v1", "/api/v3"):
            app.router.add_get(f"{prefix}/ping", endpoint(sim, public, self.ping))
            app.router.add_get(f"{prefix}/time", endpoint(sim, public, self.server_time))
        app.router.add_get("/fapi/v1/exchangeInfo", endpoint(sim, public, self.exchange_info))
        app.router.add_get("/fapi/v1/premiumIndex", endpoint(sim, public, self.premium_index))

    def ping(self, call: Call) -> dict[str, Any]:
        return {}

    def server_time(self, call: Call) -> dict[str, Any]:
        return {"serverTime": call.now_ms}

    def exchange_info(self, call: Call) -> dict[str, Any]:
        symbols = [symbol_info(item, self.sim.precisions[item.symbol]) for item in self.engine.catalogue]
        return exchange_info(symbols, call.now_ms)

    def premium_index(self, call: Call) -> list[dict[str, Any]] | dict[str, Any]:
        symbol = text(call.params, "symbol")
        if symbol:
            return premium_index(symbol, self.engine.mark(symbol), call.now_ms)
        return [premium_index(s, self.engine.mark(s), call.now_ms) for s in self.engine.catalogue.symbols()]
