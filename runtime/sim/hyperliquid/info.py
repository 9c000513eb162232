"""``POST /info``: Hyperliquid's read endpoint, one JSON body ``{"type": ..., ...}`` per question.

An address the venue has never seen is not an error on Hyperliquid: it is an empty account (no positions, no
fills, ``unknownOid`` for any order). A body the venue cannot read is answered 422 with plain text, as the real
API does ("Failed to deserialize the JSON body into the target type").
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.domain.values import ZERO, decimal_str
from runtime.sim.hyperliquid import payloads
from runtime.sim.hyperliquid.wire import CLOID_PATTERN
from runtime.sim.ledger import WalletView
from runtime.sim.model import Order, OrderRejected

if TYPE_CHECKING:
    from runtime.sim.hyperliquid.server import HyperliquidSimulator

MAX_FILLS = 2000
DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"
EMPTY_WALLET = WalletView(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)

Answer = Callable[[dict[str, Any]], Awaitable[Any]]


def unreadable(reason: str) -> web.Response:
    return web.Response(status=422, text=f"{DESERIALIZE_ERROR}: {reason}", content_type="text/plain")


class InfoApi:
    def __init__(self, sim: HyperliquidSimulator) -> None:
        self.sim = sim
        self.answers: dict[str, Answer] = {
            "meta": self.meta,
            "spotMeta": self.spot_meta,
            "metaAndAssetCtxs": self.meta_and_asset_ctxs,
            "perpDexs": self.perp_dexs,
            "allMids": self.all_mids,
            "clearinghouseState": self.clearinghouse_state,
            "openOrders": self.open_orders,
            "frontendOpenOrders": self.frontend_open_orders,
            "userFills": self.user_fills,
            "orderStatus": self.order_status,
            "extraAgents": self.extra_agents,
            "userRole": self.user_role,
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return unreadable(f"the body is not JSON ({exc})")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return unreadable('expected an object with a string "type"')
        answer = self.answers.get(body["type"])
        if answer is None:
            return unreadable(f"unknown variant `{body['type']}`; this simulator serves {', '.join(self.answers)}")
        try:
            result = await answer(body)
        except _BadField as exc:
            return unreadable(str(exc))
        return web.json_response(result)

    # ----- market data -----------------------------------------------------------------------------------------

    async def meta(self, body: dict[str, Any]) -> Any:
        universe = [
            {
                "name": item.symbol,
                "szDecimals": item.sz_decimals,
                "maxLeverage": int(item.rules.max_leverage),
            }
            for item in sorted(self.sim.engine.catalogue, key=lambda i: i.asset_index or 0)
        ]
        return {"universe": universe, "marginTables": []}

    async def spot_meta(self, body: dict[str, Any]) -> Any:
        return {"universe": [], "tokens": []}

    async def perp_dexs(self, body: dict[str, Any]) -> Any:
        return [None]

    async def all_mids(self, body: dict[str, Any]) -> Any:
        return self.mids()

    def mids(self) -> dict[str, str]:
        # The simulator has no book: the mid is the mark.
        return {symbol: decimal_str(price) for symbol, price in self.sim.engine.marks.items()}

    async def meta_and_asset_ctxs(self, body: dict[str, Any]) -> Any:
        contexts = []
        for item in sorted(self.sim.engine.catalogue, key=lambda i: i.asset_index or 0):
            mark = decimal_str(self.sim.engine.mark(item.symbol))
            contexts.append(
                {
                    "funding": "0",
                    "openInterest": "0",
                    "prevDayPx": mark,
                    "dayNtlVlm": "0",
                    "premium": "0",
                    "oraclePx": mark,
                    "markPx": mark,
                    "midPx": mark,
                    "impactPxs": [mark, mark],
                }
            )
        return [await self.meta(body), contexts]

    # ----- per user --------------------------------------------------------------------------------------------

    def _account(self, body: dict[str, Any]) -> str | None:
        user = body.get("user")
        if not isinstance(user, str) or not user.startswith("0x") or len(user) != 42:
            raise _BadField('"user" must be a 42-character 0x address')
        return self.sim.account_of_user(user)

    async def clearinghouse_state(self, body: dict[str, Any]) -> Any:
        account = self._account(body)
        engine = self.sim.engine
        max_leverage: dict[str, Decimal] = {item.symbol: item.rules.max_leverage for item in engine.catalogue}
        if account is None:
            return payloads.clearinghouse_state(EMPTY_WALLET, [], max_leverage, {}, self.sim.now_ms())
        margin_types = {symbol: self.sim.margin_type(account, symbol) for symbol in engine.catalogue.symbols()}
        return payloads.clearinghouse_state(
            engine.wallet(account), engine.positions(account), max_leverage, margin_types, self.sim.now_ms()
        )

    def _open_orders(self, body: dict[str, Any]) -> list[Order]:
        account = self._account(body)
        if account is None:
            return []
        # Newest first, as the venue lists them.
        return sorted(self.sim.engine.open_orders(account), key=lambda o: o.order_id, reverse=True)

    async def open_orders(self, body: dict[str, Any]) -> Any:
        return [payloads.basic_order(order) for order in self._open_orders(body)]

    async def frontend_open_orders(self, body: dict[str, Any]) -> Any:
        return [payloads.frontend_order(order, self.sim.order_tifs) for order in self._open_orders(body)]

    async def user_fills(self, body: dict[str, Any]) -> Any:
        account = self._account(body)
        if account is None:
            return []
        fills = self.sim.engine.account(account).fills
        return [payloads.fill_payload(fill) for fill in reversed(fills[-MAX_FILLS:])]

    async def order_status(self, body: dict[str, Any]) -> Any:
        account = self._account(body)
        oid = body.get("oid")
        if isinstance(oid, str) and CLOID_PATTERN.match(oid):
            key: int | str = oid.lower()
        elif isinstance(oid, int) and not isinstance(oid, bool):
            key = oid
        else:
            raise _BadField('"oid" must be an order id (integer) or a cloid ("0x" + 32 hex characters)')
        if account is None:
            return payloads.order_status(None)
        try:
            if isinstance(key, int):
                found: Order | None = self.sim.engine.find_order(account, order_id=key)
            else:
                found = self.sim.engine.find_order(account, client_id=key)
        except OrderRejected:
            found = None
        return payloads.order_status(found, self.sim.order_tifs)

    async def extra_agents(self, body: dict[str, Any]) -> Any:
        user = body.get("user")
        if not isinstance(user, str):
            raise _BadField('"user" must be an address')
        return [
            {"name": agent.name, "address": agent.address, "validUntil": agent.valid_until_ms}
            for agent in self.sim.wallets.agents_of(user)
        ]

    async def user_role(self, body: dict[str, Any]) -> Any:
        user = body.get("user")
        if not isinstance(user, str):
            raise _BadField('"user" must be an address')
        role = self.sim.wallets.role(user)
        if role == "agent":
            return {"role": "agent", "data": {"user": self.sim.wallets.owner_of_agent(user)}}
        return {"role": role}


class _BadField(Exception):
    """A request field the venue cannot read (answered 422)."""
