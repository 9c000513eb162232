"""The simulator core's refusals and the fault plan's injected errors, as the engine's ``ExchangeError`` kinds.

The kinds are the ones the real adapters give for the same situation, so the executor treats a paper venue exactly
like a real one: a duplicate id is looked up, a margin refusal is shrunk once by smart reduction, a lost answer
(an injected timeout) is resolved by client id.
"""

from __future__ import annotations

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue
from runtime.sim.faults import InjectedError
from runtime.sim.model import OrderRejected, RejectionKind

_KINDS: dict[RejectionKind, ErrorKind] = {
    RejectionKind.UNKNOWN_ACCOUNT: ErrorKind.AUTH,
    RejectionKind.INSUFFICIENT_MARGIN: ErrorKind.INSUFFICIENT_MARGIN,
    RejectionKind.DUPLICATE_CLIENT_ID: ErrorKind.DUPLICATE_CLIENT_ID,
    RejectionKind.ORDER_NOT_FOUND: ErrorKind.NOT_FOUND,
    RejectionKind.NO_POSITION: ErrorKind.NOT_FOUND,
}

_INJECTED: dict[InjectedError, tuple[ErrorKind, str]] = {
    InjectedError.SERVER_ERROR: (ErrorKind.TEMPORARY, "injected server error (HTTP 500); safe to retry a read"),
    InjectedError.RATE_LIMIT: (ErrorKind.RATE_LIMITED, "injected rate limit (HTTP 429); slow down and retry"),
    InjectedError.TIMEOUT: (
        ErrorKind.AMBIGUOUS,
        "injected timeout: the request was processed but its answer was lost; look the order up by client id",
    ),
}


def rejection_error(venue: Venue, exc: OrderRejected) -> ExchangeError:
    """A core refusal as the adapters would report it (anything about the order itself is ``invalid_order``)."""
    kind = _KINDS.get(exc.kind, ErrorKind.INVALID_ORDER)
    return ExchangeError(kind, venue, f"paper {venue.value}: {exc.message}", raw_code=exc.kind.value)


def injected_error(venue: Venue, injected: InjectedError) -> ExchangeError:
    kind, message = _INJECTED[injected]
    return ExchangeError(kind, venue, f"paper {venue.value}: {message}", raw_code=injected.value)


def invalid(venue: Venue, message: str) -> ExchangeError:
    return ExchangeError(ErrorKind.INVALID_ORDER, venue, f"paper {venue.value}: {message}")
