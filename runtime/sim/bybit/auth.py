"""Bybit v5 request authentication, checked the way the venue does it.

REST: ``X-BAPI-SIGN`` = hex HMAC-SHA256(secret, timestamp + apiKey + recvWindow + payload) where the payload is
the raw query string of a GET or the raw body of a POST, exactly as received (the signature is checked over the
bytes on the wire, never over a re-serialised copy). The timestamp must satisfy
``server_time - recv_window <= timestamp < server_time + 1000``.

Private WebSocket: ``{"op":"auth","args":[apiKey, expires, signature]}`` with signature =
hex HMAC-SHA256(secret, "GET/realtime" + str(expires)); ``expires`` must lie in the future.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runtime.sim.bybit.codes import BybitError, RetCode

# Looks a secret up by API key; None for a key the venue has never issued.
SecretLookup = Callable[[str], str | None]

DEFAULT_RECV_WINDOW_MS = 5000
# Bybit tolerates a client clock up to one second ahead of its own.
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True)
class RestAuthHeaders:
    api_key: str
    signature: str
    timestamp: str
    recv_window: str


def read_auth_headers(headers: Mapping[str, str]) -> RestAuthHeaders | None:
    """The X-BAPI-* headers of a request, or None when it carries no API key at all (a public call)."""
    api_key = headers.get("X-BAPI-API-KEY")
    if not api_key:
        return None
    return RestAuthHeaders(
        api_key=api_key,
        signature=headers.get("X-BAPI-SIGN", ""),
        timestamp=headers.get("X-BAPI-TIMESTAMP", ""),
        recv_window=headers.get("X-BAPI-RECV-WINDOW", "") or str(DEFAULT_RECV_WINDOW_MS),
    )


def sign_rest(secret: str, timestamp: str, api_key: str, recv_window: str, payload: bytes) -> str:
    """The signature a client must send for ``payload`` (used by tests and by the verifier)."""
    prefix = f"{timestamp}{api_key}{recv_window}".encode()
    return hmac.new(secret.encode(), prefix + payload, hashlib.sha256).hexdigest()


def sign_ws(secret: str, expires: int | str) -> str:
    return hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()


def verify_rest(headers: RestAuthHeaders | None, payload: bytes, secrets: SecretLookup, server_ms: int) -> str:
    """Check a signed REST call; returns the API key. Raises ``BybitError`` with 10002/10003/10004."""
    if headers is None:
        raise BybitError(RetCode.INVALID_KEY, "API key is invalid. (missing X-BAPI-API-KEY header)")
    secret = secrets(headers.api_key)
    if secret is None:
        raise BybitError(RetCode.INVALID_KEY, "API key is invalid.")
    try:
        timestamp = int(headers.timestamp)
        recv_window = int(headers.recv_window)
    except ValueError:
        raise BybitError(
            RetCode.PARAMS,
            "X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers (milliseconds)",
        ) from None
    if not server_ms - recv_window <= timestamp < server_ms + FUTURE_TOLERANCE_MS:
        raise BybitError(
            RetCode.TIME_WINDOW,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{server_ms}],recv_window[{recv_window}]",
        )
    expected = sign_rest(secret, headers.timestamp, headers.api_key, headers.recv_window, payload)
    if not hmac.compare_digest(expected, headers.signature.lower()):
        raise BybitError(RetCode.BAD_SIGN, "error sign! please check your signature generation algorithm")
    return headers.api_key


class WsAuthError(Exception):
    """A refused WebSocket auth; the message goes into ``ret_msg`` of the ``success:false`` answer."""


def verify_ws_auth(args: object, secrets: SecretLookup, server_ms: int) -> str:
    """Check the args of an ``op:auth`` message; returns the API key or raises ``WsAuthError``."""
    if not isinstance(args, list) or len(args) != 3:
        raise WsAuthError("Params Error")
    api_key, expires_raw, signature = args
    if not isinstance(api_key, str) or not isinstance(signature, str):
        raise WsAuthError("Params Error")
    if isinstance(expires_raw, bool) or not isinstance(expires_raw, (int, str)):
        raise WsAuthError("Params Error")
    try:
        expires = int(expires_raw)
    except (TypeError, ValueError):
        raise WsAuthError("Params Error") from None
    secret = secrets(api_key)
    if secret is None:
        raise WsAuthError("API key is invalid.")
    if expires <= server_ms:
        raise WsAuthError(f"Request expired: expires[{expires}] <= server_timestamp[{server_ms}]")
    if not hmac.compare_digest(sign_ws(secret, expires_raw), signature):
        raise WsAuthError("Invalid sign: signature verification failed")
    return api_key
