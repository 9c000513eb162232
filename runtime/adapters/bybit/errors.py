"""Bybit's failures -> the engine's ``ErrorKind``, keeping Bybit's own code and message.

Bybit answers HTTP 200 with a ``retCode``; pybit raises ``InvalidRequestError(status_code=retCode, message=retMsg,
resp_headers)`` for a non-zero one (the client switches pybit's own retries off, so every code reaches us).
A non-200 answer (5xx from Bybit's edge, 403 when the IP limit is breached) raises ``FailedRequestError`` with
the HTTP status; transport failures come from requests. Only the venue's code and message are kept: the text of
pybit's exceptions repeats the request, so it is never used, and any known secret is scrubbed anyway.

An order whose request may have reached Bybit (read timeout, dropped connection, our deadline) is ``AMBIGUOUS``:
the client resolves it by looking the ``orderLinkId`` up, never by sending blindly again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from runtime.adapters.common.redaction import SecretRegistry
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue

VENUE = Venue.BYBIT
RATE_LIMIT_RESET_HEADER = "X-Bapi-Limit-Reset-Timestamp"

# retCodes from Bybit's v5 error table (docs/v5/error.mdx) that the engine can meet on linear perpetuals.
RET_CODE_KINDS: dict[int, ErrorKind] = {
    10000: ErrorKind.TEMPORARY,  # server timeout
    10001: ErrorKind.INVALID_ORDER,  # request parameter error (also qty step/min and "position idx not match")
    10002: ErrorKind.AUTH,  # timestamp outside recv_window: the host clock is off
    10003: ErrorKind.AUTH,  # invalid API key
    10004: ErrorKind.AUTH,  # bad signature
    10005: ErrorKind.AUTH,  # permission denied
    10006: ErrorKind.RATE_LIMITED,
    10007: ErrorKind.AUTH,  # user not logged in
    10008: ErrorKind.AUTH,  # user banned
    10009: ErrorKind.AUTH,  # IP banned
    10010: ErrorKind.AUTH,  # IP not on the key's whitelist
    10016: ErrorKind.TEMPORARY,  # internal system error
    10018: ErrorKind.RATE_LIMITED,  # IP rate limit
    10027: ErrorKind.AUTH,  # transactions banned
    10028: ErrorKind.AUTH,  # unified accounts only
    110001: ErrorKind.NOT_FOUND,  # order does not exist
    110003: ErrorKind.INVALID_ORDER,  # price out of range
    110004: ErrorKind.INSUFFICIENT_MARGIN,
    110006: ErrorKind.INSUFFICIENT_MARGIN,
    110007: ErrorKind.INSUFFICIENT_MARGIN,
    110008: ErrorKind.NOT_FOUND,  # order already finished or cancelled
    110010: ErrorKind.NOT_FOUND,  # order already cancelled
    110012: ErrorKind.INSUFFICIENT_MARGIN,
    110016: ErrorKind.INVALID_ORDER,  # qty exceeds the risk limit
    110017: ErrorKind.INVALID_ORDER,  # reduce-only rule / qty truncated to zero
    110020: ErrorKind.INVALID_ORDER,  # too many active orders
    110021: ErrorKind.INVALID_ORDER,  # open interest exceeded
    110023: ErrorKind.INVALID_ORDER,  # symbol only allows reduce-only orders
    110024: ErrorKind.INVALID_ORDER,  # cannot switch mode with a position
    110025: ErrorKind.NOT_MODIFIED,  # position mode not modified
    110028: ErrorKind.INVALID_ORDER,  # cannot switch mode with open orders
    110029: ErrorKind.INVALID_ORDER,  # hedge mode not available for the symbol
    110040: ErrorKind.INSUFFICIENT_MARGIN,  # order would trigger liquidation
    110043: ErrorKind.NOT_MODIFIED,  # leverage not modified
    110044: ErrorKind.INSUFFICIENT_MARGIN,
    110045: ErrorKind.INSUFFICIENT_MARGIN,
    110072: ErrorKind.DUPLICATE_CLIENT_ID,  # OrderLinkedID is duplicate
    110094: ErrorKind.INVALID_ORDER,  # order value below the minimum notional
}

ADVICE: dict[ErrorKind, str] = {
    ErrorKind.TEMPORARY: "Bybit had a temporary problem; the call can be retried",
    ErrorKind.RATE_LIMITED: "Bybit's rate limit was hit; wait for the reset before calling again",
    ErrorKind.INVALID_ORDER: "the request breaks a Bybit rule: check the symbol's quantity step, minimum and mode",
    ErrorKind.INSUFFICIENT_MARGIN: "the account lacks margin for this order: reduce the size or add funds",
    ErrorKind.DUPLICATE_CLIENT_ID: "Bybit already has an order with this orderLinkId: look it up",
    ErrorKind.NOT_MODIFIED: "already set as asked",
    ErrorKind.AUTH: "check the API key and secret, the key's permissions and IP whitelist, and the host clock",
    ErrorKind.NOT_FOUND: "Bybit has no open order with this id",
    ErrorKind.AMBIGUOUS: "the request may have reached Bybit: look the order up by its orderLinkId before resending",
    ErrorKind.UNKNOWN: "an unexpected Bybit answer; see the code in Bybit's error table",
}


def error(
    kind: ErrorKind,
    what: str,
    venue_message: str,
    *,
    raw_code: int | str | None = None,
    retry_after_s: float | None = None,
    secrets: SecretRegistry | None = None,
) -> ExchangeError:
    """An ExchangeError that says which call failed, Bybit's words, and what to do."""
    text = f"{what}: {venue_message}" if venue_message else what
    if secrets is not None:
        text = secrets.redact(text)
    return ExchangeError(kind, VENUE, f"{text} -- {ADVICE[kind]}", raw_code=raw_code, retry_after_s=retry_after_s)


def from_ret_code(
    code: int,
    message: str,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    secrets: SecretRegistry | None = None,
    default_backoff_s: float = 1.0,
    max_backoff_s: float = 10.0,
) -> ExchangeError:
    kind = RET_CODE_KINDS.get(code, ErrorKind.UNKNOWN)
    hint = None
    if kind is ErrorKind.RATE_LIMITED:
        hint = rate_limit_hint(headers, default_s=default_backoff_s, max_s=max_backoff_s)
    return error(kind, what, message, raw_code=code, retry_after_s=hint, secrets=secrets)


def rate_limit_hint(
    headers: Mapping[str, str] | None, *, default_s: float, max_s: float, now_ms: int | None = None
) -> float:
    """Seconds until Bybit's limit window resets, from ``X-Bapi-Limit-Reset-Timestamp`` (ms), within [0, max_s]."""
    raw = headers.get(RATE_LIMIT_RESET_HEADER) if headers is not None else None
    if raw is None:
        return default_s
    try:
        reset_ms = int(raw)
    except (TypeError, ValueError):
        return default_s
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    return min(max(0.0, (reset_ms - now) / 1000), max_s)


def from_exception(
    exc: BaseException,
    *,
    what: str,
    order_sent: bool = False,
    secrets: SecretRegistry | None = None,
    default_backoff_s: float = 1.0,
    max_backoff_s: float = 10.0,
) -> ExchangeError:
    """Translate whatever pybit, requests or our deadline raised. ``order_sent``: the call placed an order."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, InvalidRequestError):
        return from_ret_code(
            int(exc.status_code),
            str(exc.message),
            what=what,
            headers=exc.resp_headers,
            secrets=secrets,
            default_backoff_s=default_backoff_s,
            max_backoff_s=max_backoff_s,
        )
    if isinstance(exc, FailedRequestError):
        return _http_status_error(exc, what, secrets, default_backoff_s, max_backoff_s)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        # No connection was made, so nothing was sent: not ambiguous even for an order.
        return error(ErrorKind.TEMPORARY, what, "could not connect to Bybit in time", secrets=secrets)
    if isinstance(exc, (TimeoutError, requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
        message = f"no answer from Bybit ({type(exc).__name__})"
        return error(ErrorKind.AMBIGUOUS if order_sent else ErrorKind.TEMPORARY, what, message, secrets=secrets)
    return error(ErrorKind.UNKNOWN, what, f"unexpected failure {type(exc).__name__}", secrets=secrets)


def _http_status_error(
    exc: FailedRequestError, what: str, secrets: SecretRegistry | None, default_s: float, max_s: float
) -> ExchangeError:
    status = int(exc.status_code)
    message = f"HTTP {status}: {exc.message}"
    if status == 403 or status == 429:
        # Bybit answers 403 "access too frequent" when the IP limit is breached (a ban of a few minutes).
        hint = rate_limit_hint(exc.resp_headers, default_s=default_s, max_s=max_s)
        return error(ErrorKind.RATE_LIMITED, what, message, raw_code=status, retry_after_s=hint, secrets=secrets)
    if status == 401:
        return error(ErrorKind.AUTH, what, message, raw_code=status, secrets=secrets)
    if status >= 500 or status == 409:  # 409: pybit could not decode the JSON of the answer
        return error(ErrorKind.TEMPORARY, what, message, raw_code=status, secrets=secrets)
    return error(ErrorKind.UNKNOWN, what, message, raw_code=status, secrets=secrets)
