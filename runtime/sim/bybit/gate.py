"""Request plumbing for the Bybit REST routes: read the raw payload, authenticate, parse, answer in the envelope.

Every answer is HTTP 200 with a ``retCode`` (Bybit style); venue refusals (``BybitError``) and core refusals
(``OrderRejected``) are both turned into their retCode here, so handlers stay plain functions of their input.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from runtime.sim.bybit.auth import SecretLookup, read_auth_headers, verify_rest
from runtime.sim.bybit.codes import BybitError, RetCode, envelope, error_envelope, now_ms
from runtime.sim.bybit.rejections import to_bybit
from runtime.sim.model import OrderRejected

Params = dict[str, Any]
Result = dict[str, Any]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Caller:
    """Who sent a signed request."""

    account: str
    api_key: str


SignedHandler = Callable[[Caller, Params], Result]
PublicHandler = Callable[[Params], Result]


async def raw_payload(request: web.Request) -> bytes:
    """The bytes Bybit signs: the query string of a GET as it arrived, the body of anything else."""
    if request.method == "GET":
        _, _, query = request.raw_path.partition("?")
        return query.encode()
    return await request.read()


def parse_params(request: web.Request, payload: bytes) -> Params:
    if request.method == "GET":
        return dict(parse_qsl(payload.decode(), keep_blank_values=True))
    if not payload.strip():
        return {}
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BybitError(RetCode.PARAMS, "params error: the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BybitError(RetCode.PARAMS, "params error: the request body must be a JSON object")
    return body


def respond(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, headers=headers, dumps=lambda obj: json.dumps(obj, separators=(",", ":")))


def rate_limit_headers(limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-Bapi-Limit": str(limit),
        "X-Bapi-Limit-Status": str(remaining),
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }


class RequestGate:
    """Wraps handlers into aiohttp handlers; ``secrets`` and ``account_of`` come from the simulator's keys."""

    def __init__(self, secrets: SecretLookup, account_of: Callable[[str], str | None]) -> None:
        self._secrets = secrets
        self._account_of = account_of

    def signed(self, handler: SignedHandler) -> AiohttpHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            payload = await raw_payload(request)
            try:
                api_key = verify_rest(read_auth_headers(request.headers), payload, self._secrets, now_ms())
                account = self._account_of(api_key)
                if account is None:
                    raise BybitError(RetCode.INVALID_KEY)
                result = handler(Caller(account, api_key), parse_params(request, payload))
            except BybitError as exc:
                return respond(error_envelope(exc))
            except OrderRejected as exc:
                return respond(error_envelope(to_bybit(exc)))
            now = now_ms()
            return respond(envelope(result), headers=rate_limit_headers(10, 9, now + 1000))

        return wrapped

    def public(self, handler: PublicHandler) -> AiohttpHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            payload = await raw_payload(request)
            try:
                result = handler(parse_params(request, payload))
            except BybitError as exc:
                return respond(error_envelope(exc))
            except OrderRejected as exc:
                return respond(error_envelope(to_bybit(exc)))
            return respond(envelope(result))

        return wrapped
