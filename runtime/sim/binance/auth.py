"""Binance request authentication, checked the way the venue does it.

SIGNED endpoints: ``signature`` = hex HMAC-SHA256(secret, totalParams) where totalParams is the raw query string
concatenated with the raw request body (no separator), each without its ``signature=`` parameter, exactly as the
bytes arrived: nothing is decoded or re-encoded before hashing. (python-binance signs the unencoded values and then
lets ``requests`` form-encode the body, so a value with ``:`` or ``/`` fails here just as it does at Binance.)
The API key travels in ``X-MBX-APIKEY``. The timestamp must satisfy
``timestamp < server_time + 1000 and server_time - timestamp <= recvWindow`` (recvWindow defaults to 5000 ms and
may not exceed 60000).

USER_STREAM endpoints (listenKey) need only a known API key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runtime.sim.binance.codes import BinanceError, ErrorCode, mandatory_param

# Looks a secret up by API key; None for a key the venue has never issued.
SecretLookup = Callable[[str], str | None]

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
# Binance tolerates a client clock up to one second ahead of its own.
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True)
class SignedRequest:
    """The authentication-relevant parts of one request, as received."""

    api_key: str | None
    raw_query: str
    raw_body: str
    params: Mapping[str, str]


def sign(secret: str, total_params: str) -> str:
    """The signature a client must send for ``total_params`` (used by tests and by the verifier)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> str:
    """``raw`` without its ``signature=...`` parameter (Binance hashes everything but the signature)."""
    if not raw:
        return ""
    return "&".join(part for part in raw.split("&") if not part.startswith("signature="))


def total_params(raw_query: str, raw_body: str) -> str:
    return strip_signature(raw_query) + strip_signature(raw_body)


def require_api_key(api_key: str | None, secrets: SecretLookup) -> str:
    """The caller's key, known to the venue. Raises -2014 for a missing key, -2015 for an unknown one."""
    if api_key is None or api_key.strip() == "":
        raise BinanceError(ErrorCode.BAD_API_KEY_FMT, "API-key format invalid. (send your key in X-MBX-APIKEY)")
    if secrets(api_key) is None:
        raise BinanceError(ErrorCode.REJECTED_MBX_KEY)
    return api_key


def _int_param(params: Mapping[str, str], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, ValueError):
        raise mandatory_param(name) from None


def verify_signed(request: SignedRequest, secrets: SecretLookup, server_ms: int) -> str:
    """Check a SIGNED call; returns the API key. Raises ``BinanceError`` -2014/-2015/-1102/-1022/-1021."""
    api_key = require_api_key(request.api_key, secrets)
    secret = secrets(api_key)
    assert secret is not None  # require_api_key refused unknown keys
    timestamp = _int_param(request.params, "timestamp")
    recv_window = DEFAULT_RECV_WINDOW_MS
    if request.params.get("recvWindow", "") != "":
        recv_window = _int_param(request.params, "recvWindow")
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            raise BinanceError(
                ErrorCode.INVALID_PARAMETER, f"recvWindow must be between 1 and {MAX_RECV_WINDOW_MS} ms."
            )
    signature = request.params.get("signature", "")
    if signature == "":
        raise mandatory_param("signature")
    expected = sign(secret, total_params(request.raw_query, request.raw_body))
    if not hmac.compare_digest(expected, signature.lower()):
        raise BinanceError(ErrorCode.INVALID_SIGNATURE)
    if timestamp >= server_ms + FUTURE_TOLERANCE_MS:
        raise BinanceError(
            ErrorCode.INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_ms - timestamp > recv_window:
        raise BinanceError(ErrorCode.INVALID_TIMESTAMP)
    return api_key
