"""The admin API every simulator serves under /admin: accounts, marks, faults, liquidation and ADL, reset.

Loopback only (anything else gets 403). JSON in and out, numbers as strings. Bad input is answered 400 with
``{"error": "...", "field": "..."}``; a refusal by the engine (unknown account, no position) with
``{"error": "...", "kind": "..."}`` (404 for an unknown account, 400 otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.domain.values import PositionMode
from runtime.sim.admin_json import (
    AdminInputError,
    bool_field,
    decimal_field,
    fill_json,
    int_field,
    num,
    order_json,
    position_json,
    text_field,
    wallet_json,
)
from runtime.sim.faults import ErrorRule, InjectedError, LatencySpec
from runtime.sim.marks import MarkStep
from runtime.sim.model import OrderRejected, RejectionKind
from runtime.sim.streams import TopicOrder

if TYPE_CHECKING:
    from runtime.sim.server import SimulatorServer

LOOPBACK_REMOTES = ("127.0.0.1", "::1", "::ffff:127.0.0.1")
AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mount_admin(app: web.Application, server: SimulatorServer) -> None:
    admin = AdminApi(server)
    app.router.add_post("/admin/accounts", admin.guarded(admin.create_account))
    app.router.add_get("/admin/accounts", admin.guarded(admin.list_accounts))
    app.router.add_get("/admin/accounts/{name}", admin.guarded(admin.get_account))
    app.router.add_post("/admin/marks", admin.guarded(admin.set_marks))
    app.router.add_get("/admin/marks", admin.guarded(admin.get_marks))
    app.router.add_post("/admin/faults", admin.guarded(admin.set_faults))
    app.router.add_get("/admin/faults", admin.guarded(admin.get_faults))
    app.router.add_post("/admin/liquidate", admin.guarded(admin.liquidate))
    app.router.add_post("/admin/adl", admin.guarded(admin.adl))
    app.router.add_post("/admin/reset", admin.guarded(admin.reset))


class AdminApi:
    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.engine = server.engine

    def guarded(self, handler: AdminHandler) -> AdminHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if request.remote not in LOOPBACK_REMOTES:
                return web.json_response({"error": "the admin API answers loopback clients only"}, status=403)
            try:
                return await handler(request)
            except AdminInputError as exc:
                return web.json_response({"error": str(exc), "field": exc.field}, status=400)
            except OrderRejected as exc:
                status = 404 if exc.kind is RejectionKind.UNKNOWN_ACCOUNT else 400
                return web.json_response({"error": exc.message, "kind": exc.kind.value}, status=status)

        return wrapped

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json(loads=json.loads)
        except json.JSONDecodeError as exc:
            raise AdminInputError("body", f"is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise AdminInputError("body", "must be a JSON object")
        return body

    # ----- accounts --------------------------------------------------------------------------------------------

    async def create_account(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        name = text_field(body, "name")
        balance = decimal_field(body, "balance")
        mode_text = text_field(body, "position_mode", default=PositionMode.ONE_WAY.value)
        try:
            mode = PositionMode(mode_text)
        except ValueError as exc:
            raise AdminInputError("position_mode", f'must be "one_way" or "hedge", got {mode_text!r}') from exc
        try:
            credentials = self.server.register_account(name, balance, mode)
        except ValueError as exc:
            field = "balance" if "balance" in str(exc) else "name"
            raise AdminInputError(field, str(exc)) from exc
        return web.json_response(credentials.as_json())

    async def list_accounts(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"accounts": list(self.engine.accounts)})

    async def get_account(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        account = self.engine.account(name)
        return web.json_response(
            {
                "name": name,
                "position_mode": account.position_mode.value,
                **wallet_json(self.engine.wallet(name)),
                "leverage": {symbol: num(value) for symbol, value in account.leverage.items()},
                "positions": [position_json(view) for view in self.engine.positions(name)],
                "orders": [order_json(order) for order in account.orders.values()],
                "fills": [fill_json(fill) for fill in account.fills],
            }
        )

    # ----- marks -----------------------------------------------------------------------------------------------

    async def set_marks(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        symbol = text_field(body, "symbol")
        self.engine.instrument(symbol)
        if "path" in body:
            steps = self._path(body["path"])
            try:
                self.server.mark_paths.play(symbol, steps)
            except ValueError as exc:
                raise AdminInputError("path", str(exc)) from exc
            return web.json_response({"symbol": symbol, "steps": len(steps)})
        price = decimal_field(body, "price")
        if price <= 0:
            raise AdminInputError("price", f"must be above 0, got {num(price)}")
        self.server.mark_paths.cancel(symbol)
        fills = self.engine.set_mark(symbol, price)
        return web.json_response({"symbol": symbol, "price": num(price), "fills": [fill_json(f) for f in fills]})

    @staticmethod
    def _path(raw: object) -> list[MarkStep]:
        if not isinstance(raw, list) or not raw:
            raise AdminInputError("path", 'must be a non-empty list of {"price": "...", "after_ms": N}')
        steps: list[MarkStep] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise AdminInputError(f"path[{index}]", 'must be an object {"price": "...", "after_ms": N}')
            price = decimal_field(item, "price")
            after_ms = int_field(item, "after_ms", default=0)
            if price <= 0 or after_ms < 0:
                raise AdminInputError(f"path[{index}]", "needs price > 0 and after_ms >= 0")
            steps.append(MarkStep(after_ms, price))
        return steps

    async def get_marks(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({symbol: num(price) for symbol, price in self.engine.marks.items()})

    # ----- faults ----------------------------------------------------------------------------------------------

    async def set_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        faults, streams, settings = self.server.faults, self.server.streams, self.engine.settings
        dropped = 0
        if body.get("clear") is True:
            faults.clear()
        if "seed" in body:
            seed = int_field(body, "seed")
            faults.reseed(seed)
            streams.set_topic_order(streams.topic_order, seed)
        if "timeout_hold_s" in body:
            faults.timeout_hold_s = float(decimal_field(body, "timeout_hold_s"))
        for endpoint_class, spec in _object(body, "latency").items():
            faults.set_latency(endpoint_class, self._latency(f"latency.{endpoint_class}", spec))
        errors = body.get("errors", [])
        if not isinstance(errors, list):
            raise AdminInputError("errors", "must be a list of error rules")
        for index, item in enumerate(errors):
            endpoint_class, rule = self._error_rule(f"errors[{index}]", item)
            faults.add_error(endpoint_class, rule)
        if "pause_streams" in body:
            if bool_field(body, "pause_streams"):
                streams.pause()
            else:
                streams.resume()
        if body.get("drop_streams") is True:
            dropped = streams.drop_all()
        if "topic_order" in body:
            order_text = text_field(body, "topic_order")
            try:
                order = TopicOrder(order_text)
            except ValueError as exc:
                choices = ", ".join(o.value for o in TopicOrder)
                raise AdminInputError("topic_order", f"must be one of {choices}") from exc
            streams.set_topic_order(order, int_field(body, "seed") if "seed" in body else None)
        for field in ("slippage_bps", "taker_fee_rate", "maker_fee_rate"):
            if field in body:
                value = decimal_field(body, field)
                if value < 0:
                    raise AdminInputError(field, f"must be >= 0, got {num(value)}")
                setattr(settings, field, value)
        return web.json_response({**self._fault_state(), "dropped": dropped})

    async def get_faults(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._fault_state())

    def _fault_state(self) -> dict[str, Any]:
        faults, streams, settings = self.server.faults, self.server.streams, self.engine.settings
        return {
            "latency": {
                name: {"fixed_s": num(spec.fixed_s)}
                if spec.fixed_s is not None
                else {"uniform_s": [num(spec.low_s), num(spec.high_s)], "scale": num(spec.scale)}
                for name, spec in faults.latency.items()
            },
            "errors": [
                {"class": name, "kind": rule.kind.value, "count": rule.count, "probability": num(rule.probability)}
                for name, rules in faults.errors.items()
                for rule in rules
            ],
            "timeout_hold_s": str(faults.timeout_hold_s),
            "paused": streams.paused,
            "open_streams": len(streams.connections),
            "topic_order": streams.topic_order.value,
            "slippage_bps": num(settings.slippage_bps),
            "taker_fee_rate": num(settings.taker_fee_rate),
            "maker_fee_rate": num(settings.maker_fee_rate),
        }

    @staticmethod
    def _latency(field: str, spec: object) -> LatencySpec | None:
        if spec is None:
            return None
        if not isinstance(spec, dict):
            raise AdminInputError(field, 'must be {"fixed_s": "0.2"} or {"uniform_s": ["1", "9"], "scale": "0.01"}')
        try:
            if "fixed_s" in spec:
                return LatencySpec(fixed_s=decimal_field(spec, "fixed_s"))
            bounds = spec.get("uniform_s")
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise AdminInputError(field, 'needs "fixed_s" or "uniform_s": [low, high] (seconds as strings)')
            low = decimal_field({"low": bounds[0]}, "low")
            high = decimal_field({"high": bounds[1]}, "high")
            return LatencySpec(low_s=low, high_s=high, scale=decimal_field(spec, "scale", default=Decimal(1)))
        except AdminInputError as exc:
            raise AdminInputError(field, str(exc)) from exc
        except ValueError as exc:
            raise AdminInputError(field, str(exc)) from exc

    @staticmethod
    def _error_rule(field: str, item: object) -> tuple[str, ErrorRule]:
        if not isinstance(item, dict):
            raise AdminInputError(field, 'must be {"class": "order", "kind": "server_error", "count": 1}')
        endpoint_class = text_field(item, "class")
        kind_text = text_field(item, "kind")
        try:
            kind = InjectedError(kind_text)
        except ValueError as exc:
            choices = ", ".join(k.value for k in InjectedError)
            raise AdminInputError(f"{field}.kind", f"must be one of {choices}") from exc
        count = int_field(item, "count") if "count" in item else None
        probability = decimal_field(item, "probability") if "probability" in item else None
        process_first = bool_field(item, "process_first") if "process_first" in item else None
        try:
            return endpoint_class, ErrorRule(kind, count, probability, process_first)
        except ValueError as exc:
            raise AdminInputError(field, str(exc)) from exc

    # ----- forced executions and reset -------------------------------------------------------------------------

    async def liquidate(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        fill = self.engine.liquidate(
            text_field(body, "account"), text_field(body, "symbol"), int_field(body, "position_idx", default=0)
        )
        return web.json_response(fill_json(fill))

    async def adl(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        fill = self.engine.adl(
            text_field(body, "account"),
            text_field(body, "symbol"),
            decimal_field(body, "qty"),
            int_field(body, "position_idx", default=0),
        )
        return web.json_response(fill_json(fill))

    async def reset(self, request: web.Request) -> web.StreamResponse:
        await self.server.reset()
        return web.json_response({"reset": True})


def _object(body: dict[str, Any], field: str) -> dict[str, Any]:
    value = body.get(field, {})
    if not isinstance(value, dict):
        raise AdminInputError(field, "must be an object keyed by endpoint class")
    return value
