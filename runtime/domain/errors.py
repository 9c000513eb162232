"""The engine's one error taxonomy for venue failures. Adapters translate each venue's codes into these."""

from __future__ import annotations

from enum import StrEnum

from runtime.domain.values import Venue


class ErrorKind(StrEnum):
    TEMPORARY = "temporary"  # 5xx, timeouts, connection resets: safe to retry reads
    RATE_LIMITED = "rate_limited"
    INVALID_ORDER = "invalid_order"  # precision, min/max, notional, reduce-only
    INSUFFICIENT_MARGIN = "insufficient_margin"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"  # "already placed": reconcile by look-up
    NOT_MODIFIED = "not_modified"  # leverage or mode already as asked: treated as success
    AUTH = "auth"  # bad key, bad signature, clock skew, missing permission
    NOT_FOUND = "not_found"  # order does not exist
    AMBIGUOUS = "ambiguous"  # request sent, answer lost: the outcome must be looked up
    UNKNOWN = "unknown"


class ExchangeError(Exception):
    """A venue refused or failed a call. Never carries a secret: only the venue's code and message."""

    def __init__(
        self,
        kind: ErrorKind,
        venue: Venue,
        message: str,
        *,
        raw_code: str | int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{venue.value}: {kind.value}: {message}" + (f" (code {raw_code})" if raw_code else ""))
        self.kind = kind
        self.venue = venue
        self.venue_message = message
        self.raw_code = raw_code
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.TEMPORARY, ErrorKind.RATE_LIMITED)
