"""Binance USD-M answers and python-binance exceptions -> the engine's ``ExchangeError`` taxonomy.

python-binance raises ``BinanceAPIException`` (``.status_code``, ``.code``, ``.message``, ``.response``) for every
non-2xx answer and ``BinanceRequestException`` for a 2xx body that is not JSON; transport failures surface as
``requests`` exceptions. The raw code and message are kept; secrets are scrubbed from any text that leaves here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue

VENUE = Venue.BINANCE

# Codes from the USD-M error table (developers.binance.com/docs/derivatives/usds-margined-futures/error-code).
CODE_KINDS: dict[int, ErrorKind] = {
    -1000: ErrorKind.TEMPORARY,  # unknown error while processing
    -1001: ErrorKind.TEMPORARY,  # internal error, disconnected
    -1003: ErrorKind.RATE_LIMITED,  # too many requests
    -1006: ErrorKind.TEMPORARY,  # unexpected response from the message bus: execution status unknown
    -1007: ErrorKind.TEMPORARY,  # backend timeout: send status unknown
    -1008: ErrorKind.TEMPORARY,  # server overloaded
    -1015: ErrorKind.RATE_LIMITED,  # too many new orders
    -1021: ErrorKind.AUTH,  # timestamp outside recvWindow (clock skew)
    -1022: ErrorKind.AUTH,  # bad signature
    -1002: ErrorKind.AUTH,  # unauthorized
    -2014: ErrorKind.AUTH,  # API-key format invalid
    -2015: ErrorKind.AUTH,  # invalid key, IP or permissions
    -2013: ErrorKind.NOT_FOUND,  # order does not exist
    -2011: ErrorKind.NOT_FOUND,  # cancel rejected: unknown order
    -4116: ErrorKind.DUPLICATE_CLIENT_ID,
    -4046: ErrorKind.NOT_MODIFIED,  # no need to change margin type
    -4059: ErrorKind.NOT_MODIFIED,  # no need to change position side (mode)
    -2019: ErrorKind.INSUFFICIENT_MARGIN,
    -2018: ErrorKind.INSUFFICIENT_MARGIN,  # balance insufficient
    -2027: ErrorKind.INSUFFICIENT_MARGIN,  # exceeded maximum position at current leverage
    -2028: ErrorKind.INSUFFICIENT_MARGIN,  # leverage too small for the margin balance
    -4050: ErrorKind.INSUFFICIENT_MARGIN,  # cross balance insufficient
    -1102: ErrorKind.INVALID_ORDER,  # mandatory parameter missing or malformed
    -1106: ErrorKind.INVALID_ORDER,  # parameter sent when not required (reduceOnly in hedge mode)
    -1111: ErrorKind.INVALID_ORDER,  # precision over the maximum
    -1116: ErrorKind.INVALID_ORDER,  # invalid order type
    -1117: ErrorKind.INVALID_ORDER,  # invalid side
    -1121: ErrorKind.INVALID_ORDER,  # invalid symbol
    -1130: ErrorKind.INVALID_ORDER,  # invalid parameter value
    -2022: ErrorKind.INVALID_ORDER,  # reduce-only rejected
    -4003: ErrorKind.INVALID_ORDER,  # qty <= 0
    -4004: ErrorKind.INVALID_ORDER,  # qty below min
    -4005: ErrorKind.INVALID_ORDER,  # qty above max
    -4014: ErrorKind.INVALID_ORDER,  # price off tick
    -4015: ErrorKind.INVALID_ORDER,  # client order id invalid
    -4023: ErrorKind.INVALID_ORDER,  # qty off step
    -4028: ErrorKind.INVALID_ORDER,  # leverage invalid
    -4061: ErrorKind.INVALID_ORDER,  # position side does not match the account's mode
    -4067: ErrorKind.INVALID_ORDER,  # mode change refused: open orders
    -4068: ErrorKind.INVALID_ORDER,  # mode change refused: open position
    -4164: ErrorKind.INVALID_ORDER,  # notional below minimum (reduce-only is exempt)
}

# What a user can do about it, appended to the venue's message.
_ADVICE: dict[ErrorKind, str] = {
    ErrorKind.AUTH: "check the key, the secret, the key's IP whitelist and the host clock",
    ErrorKind.RATE_LIMITED: "the engine backs off; lower the request rate if it persists",
    ErrorKind.INSUFFICIENT_MARGIN: "the follower needs more margin or a smaller order",
}
_ADVICE_BY_CODE: dict[int, str] = {
    -4067: "cancel the follower's open orders before changing position mode",
    -4068: "close the follower's positions before changing position mode",
    -4061: "the follower's position mode differs from the order's position side; align the account's mode",
}

_SIGNATURE = re.compile(r"signature=[0-9A-Za-z%+/=]+")

Scrub = Callable[[str], str]


def scrub_signatures(text: str) -> str:
    """Signed URLs end up in requests' exception text: keep the path, hide the signature."""
    return _SIGNATURE.sub("signature=***", text)


def kind_for_code(code: int | None) -> ErrorKind:
    if code is None:
        return ErrorKind.UNKNOWN
    return CODE_KINDS.get(code, ErrorKind.UNKNOWN)


def retry_after_s(exc: BinanceAPIException) -> float | None:
    """The ``Retry-After`` header of a 429/418 answer, in seconds (Binance sends whole seconds)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def from_api_exception(exc: BinanceAPIException, scrub: Scrub) -> ExchangeError:
    status = int(getattr(exc, "status_code", 0) or 0)
    code = exc.code if isinstance(exc.code, int) and exc.code != 0 else None
    message = scrub(scrub_signatures(str(exc.message or "")))
    if status in (418, 429):
        # 418 = the IP is banned for repeating 429s; both say when to come back.
        kind = ErrorKind.RATE_LIMITED
        label = "IP banned for ignoring rate limits" if status == 418 else "rate limited"
        return ExchangeError(
            kind, VENUE, f"{label}: {message}", raw_code=code or status, retry_after_s=retry_after_s(exc)
        )
    kind = kind_for_code(code)
    if kind is ErrorKind.UNKNOWN and status >= 500:
        kind = ErrorKind.TEMPORARY
    advice = _ADVICE_BY_CODE.get(code or 0) or _ADVICE.get(kind)
    text = f"{message} ({advice})" if advice else message
    if kind is ErrorKind.UNKNOWN:
        text = f"HTTP {status}: {text}"
    return ExchangeError(kind, VENUE, text, raw_code=code if code is not None else status)


def translate(exc: BaseException, scrub: Scrub) -> ExchangeError:
    """Any failure of a python-binance call as an ``ExchangeError`` (already-translated errors pass through)."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, BinanceAPIException):
        return from_api_exception(exc, scrub)
    if isinstance(exc, BinanceRequestException):
        return ExchangeError(ErrorKind.TEMPORARY, VENUE, f"unreadable answer: {scrub(scrub_signatures(exc.message))}")
    if isinstance(exc, (TimeoutError, requests.Timeout)):
        return ExchangeError(ErrorKind.TEMPORARY, VENUE, "no answer within the timeout")
    if isinstance(exc, requests.RequestException):
        detail = scrub(scrub_signatures(f"{type(exc).__name__}: {exc}"))
        return ExchangeError(ErrorKind.TEMPORARY, VENUE, f"connection failed: {detail}")
    detail = scrub(scrub_signatures(f"{type(exc).__name__}: {exc}"))
    return ExchangeError(ErrorKind.UNKNOWN, VENUE, f"unexpected failure: {detail}")
