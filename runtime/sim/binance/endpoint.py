"""One wrapper for every Binance REST endpoint: read the raw request, authenticate it, answer errors as Binance.

Handlers are plain synchronous functions ``(Call) -> JSON-able``: the matching engine is synchronous, so a whole
call is atomic on the event loop. The wrapper reads the query string and body exactly as received (for the
signature), checks the endpoint's security type (NONE, USER_STREAM = API key only, SIGNED = key + HMAC +
timestamp window) and turns ``BinanceError``/``OrderRejected`` into ``{"code","msg"}`` with the right status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from aiohttp import web

from runtime.sim.binance.auth import API_KEY_HEADER, SignedRequest, require_api_key, verify_signed
from runtime.sim.binance.codes import BinanceError, error_body
from runtime.sim.binance.params import merge_params
from runtime.sim.binance.rejections import binance_error
from runtime.sim.model import OrderRejected


class Security(StrEnum):
    NONE = "none"
    USER_STREAM = "user_stream"
    SIGNED = "signed"


@dataclass(frozen=True)
class Call:
    """An authenticated request: its merged parameters, the caller's account (None if public) and key."""

    params: Mapping[str, str]
    account: str | None
    api_key: str | None
    now_ms: int

    @property
    def who(self) -> str:
        """The caller's account; only SIGNED and USER_STREAM handlers may ask."""
        assert self.account is not None, "public endpoints have no account"
        return self.account


class KeyDirectory(Protocol):
    """What the wrapper needs from the simulator: key -> secret and key -> account, and the venue clock."""

    def secret_for_key(self, key: str) -> str | None: ...

    def account_for_key(self, key: str) -> str | None: ...

    def now_ms(self) -> int: ...


CallHandler = Callable[[Call], Any]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: BinanceError) -> web.Response:
    return web.json_response(error_body(error), status=error.http_status)


async def _read_body(request: web.Request) -> str:
    if not request.body_exists:
        return ""
    raw = await request.read()
    # Only form bodies carry parameters; python-binance always sends application/x-www-form-urlencoded.
    if request.content_type not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        return ""
    return raw.decode("utf-8", errors="replace")


def endpoint(directory: KeyDirectory, security: Security, handler: CallHandler) -> AiohttpHandler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            raw_query = request.rel_url.raw_query_string
            raw_body = await _read_body(request)
            params = merge_params(raw_query, raw_body)
            now = directory.now_ms()
            api_key = request.headers.get(API_KEY_HEADER)
            account: str | None = None
            if security is Security.SIGNED:
                signed = SignedRequest(api_key, raw_query, raw_body, params)
                account = directory.account_for_key(verify_signed(signed, directory.secret_for_key, now))
            elif security is Security.USER_STREAM:
                account = directory.account_for_key(require_api_key(api_key, directory.secret_for_key))
            return web.json_response(handler(Call(params, account, api_key, now)))
        except BinanceError as exc:
            return error_response(exc)
        except OrderRejected as exc:
            return error_response(binance_error(exc))

    return wrapped
