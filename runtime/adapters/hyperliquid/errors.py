"""Hyperliquid's failures -> the engine's ``ErrorKind``, keeping the venue's own words.

Hyperliquid has no numeric error codes. ``/exchange`` answers HTTP 200 with either an action-level
``{"status":"err","response":"<message>"}`` or, for orders and cancels, one status per element that may be
``{"error":"<message>"}``. The messages are matched by a distinctive fragment; ``raw_code`` carries the name the
venue's ``orderStatus`` vocabulary gives that rejection (``minTradeNtlRejected``, ...) so logs stay searchable.
Transport failures come from the SDK: ``ClientError`` for 4xx (429 = rate limited), ``ServerError`` for 5xx, and
requests' timeouts and connection errors.

An order whose answer never came (read timeout, dropped connection) is ``AMBIGUOUS``: the client looks the cloid up
and sends again only when the venue has never seen it. A 5xx answer is ``TEMPORARY``; the client still looks the
cloid up (the venue may have acted) but does not resend: nothing placed means the caller may retry later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from hyperliquid.utils.error import ClientError, ServerError

from runtime.adapters.common.redaction import SecretRegistry
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue

VENUE = Venue.HYPERLIQUID
DEFAULT_RATE_LIMIT_BACKOFF_S = 1.0


@dataclass(frozen=True)
class MessageRule:
    """A venue message fragment (lower case), the kind it means, its venue code and what the user should do."""

    fragment: str
    kind: ErrorKind
    code: str
    advice: str


# Per-order errors (statuses[i]["error"]). Order matters: the first matching fragment wins.
ORDER_RULES: tuple[MessageRule, ...] = (
    # The venue does not publish its duplicate-cloid answer (UNCONFIRMED); any "duplicate" means "already placed".
    MessageRule("duplicate", ErrorKind.DUPLICATE_CLIENT_ID, "duplicateCloid", "look the order up by its cloid"),
    MessageRule("insufficient margin", ErrorKind.INSUFFICIENT_MARGIN, "perpMarginRejected", "reduce the size"),
    MessageRule(
        "margin tier limit", ErrorKind.INSUFFICIENT_MARGIN, "perpMaxPositionRejected", "reduce the size or leverage"
    ),
    MessageRule("tick size", ErrorKind.INVALID_ORDER, "tickRejected", "round the price to 5 significant figures"),
    MessageRule("minimum value", ErrorKind.INVALID_ORDER, "minTradeNtlRejected", "orders must be worth at least $10"),
    MessageRule("reduce only", ErrorKind.INVALID_ORDER, "reduceOnlyRejected", "the position is smaller or flat"),
    MessageRule(
        "could not immediately match",
        ErrorKind.INVALID_ORDER,
        "iocCancelRejected",
        "nothing filled within the slippage bound; send a new order at the current price",
    ),
    MessageRule(
        "no liquidity", ErrorKind.INVALID_ORDER, "marketOrderNoLiquidityRejected", "the book is empty; retry later"
    ),
    MessageRule("post only", ErrorKind.INVALID_ORDER, "badAloPxRejected", "post-only orders must not cross"),
    MessageRule("invalid size", ErrorKind.INVALID_ORDER, "invalidSize", "size must be positive with szDecimals places"),
    MessageRule("open interest", ErrorKind.INVALID_ORDER, "openInterestCapRejected", "the asset is at its OI cap"),
    MessageRule("oracle", ErrorKind.INVALID_ORDER, "oracleRejected", "the price is too far from the oracle"),
    MessageRule("unknown asset", ErrorKind.INVALID_ORDER, "unknownAsset", "refresh the instrument list"),
)

# Action-level errors ({"status":"err","response": message}).
ACTION_RULES: tuple[MessageRule, ...] = (
    MessageRule(
        "does not exist",
        ErrorKind.AUTH,
        "unknownSigner",
        "the signing key is not an approved agent of any account: approve the agent wallet in the Hyperliquid app "
        "(API page) for this account, or fix the configured agent key",
    ),
    MessageRule("recover signer", ErrorKind.AUTH, "badSignature", "the request signature could not be verified"),
    MessageRule("nonce", ErrorKind.TEMPORARY, "invalidNonce", "nothing was executed; sign again with a fresh nonce"),
    MessageRule("expired", ErrorKind.TEMPORARY, "expired", "nothing was executed; sign again"),
    MessageRule("too many", ErrorKind.RATE_LIMITED, "rateLimited", "slow down"),
    MessageRule("rate limit", ErrorKind.RATE_LIMITED, "rateLimited", "slow down"),
    MessageRule("insufficient margin", ErrorKind.INSUFFICIENT_MARGIN, "insufficientMargin", "add margin or lower it"),
    MessageRule("leverage", ErrorKind.INVALID_ORDER, "invalidLeverage", "use a whole leverage within 1..maxLeverage"),
    MessageRule("duplicate", ErrorKind.DUPLICATE_CLIENT_ID, "duplicateCloid", "look the order up by its cloid"),
)

CANCEL_MISSING_FRAGMENT = "never placed"


def _match(message: str, rules: tuple[MessageRule, ...]) -> MessageRule | None:
    lowered = message.lower()
    return next((rule for rule in rules if rule.fragment in lowered), None)


def _error(kind: ErrorKind, message: str, code: str | int | None, retry_after_s: float | None = None) -> ExchangeError:
    return ExchangeError(kind, VENUE, message, raw_code=code, retry_after_s=retry_after_s)


def order_rejected(message: str) -> ExchangeError:
    """A per-order ``{"error": message}``."""
    rule = _match(message, ORDER_RULES)
    if rule is None:
        return _error(ErrorKind.UNKNOWN, f"order refused: {message}", "orderError")
    return _error(rule.kind, f"order refused: {message} ({rule.advice})", rule.code)


def action_rejected(message: str) -> ExchangeError:
    """An action-level ``{"status":"err","response": message}``."""
    rule = _match(message, ACTION_RULES)
    if rule is None:
        return _error(ErrorKind.UNKNOWN, f"action refused: {message}", "actionError")
    retry_after = DEFAULT_RATE_LIMIT_BACKOFF_S if rule.kind is ErrorKind.RATE_LIMITED else None
    return _error(rule.kind, f"action refused: {message} ({rule.advice})", rule.code, retry_after)


def cancel_rejected(message: str) -> ExchangeError:
    """A per-cancel ``{"error": message}``: "never placed, already canceled, or filled" is NOT_FOUND."""
    if CANCEL_MISSING_FRAGMENT in message.lower():
        return _error(ErrorKind.NOT_FOUND, f"cancel refused: {message}", "missingOrder")
    return order_rejected(message)


def _retry_after(headers: object) -> float | None:
    if not isinstance(headers, Mapping):
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _client_error(exc: ClientError, what: str, secrets: SecretRegistry | None) -> ExchangeError:
    status = int(exc.status_code)
    text = _scrub(str(exc.error_message or ""), secrets)[:300]
    if status == 429:
        # The SDK passes the headers positionally in a different slot for plain-text 4xx bodies; read both.
        hint = _retry_after(exc.header) or _retry_after(exc.error_data) or DEFAULT_RATE_LIMIT_BACKOFF_S
        return _error(ErrorKind.RATE_LIMITED, f"{what}: rate limited by the venue (HTTP 429): {text}", 429, hint)
    if status in (401, 403):
        return _error(ErrorKind.AUTH, f"{what}: refused (HTTP {status}): {text}", status)
    if status in (400, 422):
        return _error(
            ErrorKind.INVALID_ORDER,
            f"{what}: the venue could not read the request (HTTP {status}): {text}",
            exc.error_code or status,
        )
    return _error(ErrorKind.UNKNOWN, f"{what}: HTTP {status}: {text}", exc.error_code or status)


def from_transport(
    exc: BaseException, what: str, *, order_sent: bool = False, secrets: SecretRegistry | None = None
) -> ExchangeError:
    """Translate an SDK/transport exception. ``order_sent``: the call was an order placement, so a failure after
    the request may have left makes the outcome AMBIGUOUS instead of TEMPORARY."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, ClientError):
        return _client_error(exc, what, secrets)
    # A connect timeout means the request never left: safe to call again, even for an order.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _error(ErrorKind.TEMPORARY, f"{what}: could not connect in time ({type(exc).__name__})", None)
    if isinstance(exc, ServerError):
        # The venue answered: TEMPORARY, with the status as raw code. For an order the client still looks the
        # cloid up before saying "nothing placed" (``answered_5xx``).
        body = _scrub(str(exc.message or ""), secrets)[:200]
        return _error(ErrorKind.TEMPORARY, f"{what}: venue error HTTP {exc.status_code}: {body}", int(exc.status_code))
    uncertain = ErrorKind.AMBIGUOUS if order_sent else ErrorKind.TEMPORARY
    if isinstance(exc, (TimeoutError, requests.exceptions.Timeout)):
        return _error(uncertain, f"{what}: no answer in time ({type(exc).__name__})", "timeout")
    if isinstance(exc, requests.exceptions.RequestException):
        return _error(uncertain, f"{what}: connection failed ({type(exc).__name__})", "connection")
    return _error(ErrorKind.UNKNOWN, f"{what}: {type(exc).__name__}: {_scrub(str(exc), secrets)[:300]}", None)


def answered_5xx(error: ExchangeError) -> bool:
    """The venue answered with a server error (it may still have acted on the request)."""
    return error.kind is ErrorKind.TEMPORARY and isinstance(error.raw_code, int) and error.raw_code >= 500


def _scrub(text: str, secrets: SecretRegistry | None) -> str:
    return secrets.redact(text) if secrets is not None else text
