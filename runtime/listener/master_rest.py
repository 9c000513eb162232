"""The REST reads the master stream needs: the start-up seed, the gap replay and the correlator's timed-out fills.

pybit's HTTP client, run off the event loop through ``BlockingCallRunner`` with an explicit deadline, behind the
key's token bucket and ``retry_idempotent`` (these are all reads). Payloads become the same structs the stream
produces (``PositionMsg``, ``ExecutionMsg``) through the domain's one parser, so the correlator cannot tell a REST
read from a stream message. Errors become ``ExchangeError`` with Bybit's code and message and never a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import TokenBucket
from runtime.adapters.common.retry import RetryPolicy, retry_idempotent
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.master_messages import (
    ExecutionMsg,
    MasterMessageError,
    PositionMsg,
    parse_execution,
    parse_position,
    parse_wallet,
)
from runtime.domain.values import Venue
from runtime.listener.master_stream_config import StreamCredentials

log = logging.getLogger(__name__)
T = TypeVar("T")

# Bybit retCodes that are worth a retry, or that mean the key itself is the problem.
_RATE_LIMITED_CODES = frozenset({10006, 10018})
_TEMPORARY_CODES = frozenset({10000, 10016})
_AUTH_CODES = frozenset({10002, 10003, 10004, 10005, 10007, 10009, 10010, 33004})
POSITION_PAGE_LIMIT = 200  # Bybit's maximum for /v5/position/list


@dataclass(frozen=True)
class MasterRestConfig:
    """``base_url`` None = pybit's Bybit endpoint (``testnet`` picks which); set it for a simulator or proxy."""

    base_url: str | None = None
    testnet: bool = False
    call_timeout_s: float = 10.0
    # The runner's deadline is the HTTP timeout plus this pad, so the thread's own timeout normally reports first.
    deadline_pad_s: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_per_s: float = 5.0
    burst: float = 10.0
    execution_page_limit: int = 100  # Bybit's maximum for /v5/execution/list
    max_execution_pages: int = 20


@dataclass(frozen=True)
class ExecutionBatch:
    """Executions read for a gap, oldest first. ``complete`` is False when older pages were left unread."""

    executions: tuple[ExecutionMsg, ...]
    complete: bool = True


class MasterRestReader(Protocol):
    """What the feed needs from REST; ``MasterRest`` is the Bybit implementation, tests pass fakes."""

    async def wallet_equity(self) -> Decimal: ...

    async def open_positions(self, settle_coin: str) -> list[PositionMsg]: ...

    async def symbol_positions(self, symbol: str) -> list[PositionMsg]: ...

    async def executions_since(self, start_ms: int) -> ExecutionBatch: ...


class MasterRest:
    """The master account's REST reads, over pybit."""

    def __init__(
        self,
        http: Any,
        runner: BlockingCallRunner,
        config: MasterRestConfig,
        *,
        bucket: TokenBucket | None = None,
        hidden: tuple[str, ...] = (),
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._http = http
        self._runner = runner
        self.config = config
        self._bucket = bucket or TokenBucket(config.rate_per_s, config.burst)
        self._hidden = tuple(value for value in hidden if value)
        self._wall_ms = wall_ms

    @classmethod
    def from_credentials(
        cls, credentials: StreamCredentials, runner: BlockingCallRunner, config: MasterRestConfig
    ) -> MasterRest:
        # pybit would sleep and retry 10002/10006 inside the worker thread, past our deadline; retries are ours
        # (retry_idempotent, on the event loop). An empty retry_codes set means "the defaults" to pybit, so it gets
        # {0}, a code that is never an error.
        http = HTTP(
            testnet=config.testnet,
            api_key=credentials.api_key,
            api_secret=credentials.api_secret,
            timeout=config.call_timeout_s,
            max_retries=1,
            retry_codes={0},
        )
        if config.base_url:
            http.endpoint = config.base_url.rstrip("/")
        return cls(http, runner, config, hidden=(credentials.api_key, credentials.api_secret))

    def __repr__(self) -> str:  # the pybit client's dataclass repr would print the secret
        return f"MasterRest(base_url={self.config.base_url!r}, testnet={self.config.testnet})"

    # --- reads ---------------------------------------------------------------------------------------------------

    async def wallet_equity(self) -> Decimal:
        result = await self._get("get_wallet_balance", accountType="UNIFIED")
        accounts = [item for item in _list(result, "wallet-balance") if item.get("accountType") in (None, "UNIFIED")]
        if not accounts:
            raise ExchangeError(
                ErrorKind.UNKNOWN,
                Venue.BYBIT,
                "wallet-balance returned no UNIFIED account: the master must use a Bybit unified trading account",
            )
        return parse_wallet(accounts[0]).total_equity

    async def open_positions(self, settle_coin: str) -> list[PositionMsg]:
        """Every linear leg settled in ``settle_coin`` that Bybit lists (it may leave out legs that went flat)."""
        return await self._positions(settleCoin=settle_coin)

    async def symbol_positions(self, symbol: str) -> list[PositionMsg]:
        """Both legs (or the one-way leg) of ``symbol``, flat ones included with their ``seq``."""
        return await self._positions(symbol=symbol)

    async def executions_since(self, start_ms: int) -> ExecutionBatch:
        """Linear executions with ``execTime >= start_ms``, oldest first (Bybit pages them newest first)."""
        newest_first: list[ExecutionMsg] = []
        cursor = ""
        for _ in range(self.config.max_execution_pages):
            params: dict[str, Any] = {
                "category": "linear",
                "startTime": start_ms,
                "limit": self.config.execution_page_limit,
            }
            if cursor:
                params["cursor"] = cursor
            result = await self._get("get_executions", **params)
            newest_first += _parsed(_list(result, "execution list"), parse_execution, "execution list", strict=False)
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor:
                return ExecutionBatch(tuple(reversed(newest_first)), complete=True)
        log.warning(
            "execution list since %d has more than %d pages; older executions are left to the position replay",
            start_ms,
            self.config.max_execution_pages,
        )
        return ExecutionBatch(tuple(reversed(newest_first)), complete=False)

    async def _positions(self, **selector: str) -> list[PositionMsg]:
        positions: list[PositionMsg] = []
        cursor = ""
        while True:
            params: dict[str, Any] = {"category": "linear", "limit": POSITION_PAGE_LIMIT, **selector}
            if cursor:
                params["cursor"] = cursor
            result = await self._get("get_positions", **params)
            positions += _parsed(_list(result, "position list"), _parse_rest_position, "position list", strict=True)
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor:
                return positions

    # --- plumbing ------------------------------------------------------------------------------------------------

    async def _get(self, method: str, **params: Any) -> Mapping[str, Any]:
        async def attempt() -> Mapping[str, Any]:
            await self._bucket.acquire()
            call = getattr(self._http, method)
            try:
                deadline = self.config.call_timeout_s + self.config.deadline_pad_s
                response = await self._runner.call(deadline, call, **params)
            except TimeoutError:
                raise ExchangeError(
                    ErrorKind.TEMPORARY, Venue.BYBIT, f"{method} got no answer within {self.config.call_timeout_s:g} s"
                ) from None
            except (InvalidRequestError, FailedRequestError, requests.RequestException) as exc:
                raise self._translate(method, exc) from None
            result = response.get("result") if isinstance(response, Mapping) else None
            if not isinstance(result, Mapping):
                raise ExchangeError(ErrorKind.UNKNOWN, Venue.BYBIT, f"{method}: the answer has no 'result' object")
            return result

        return await retry_idempotent(attempt, self.config.retry)

    def _translate(self, method: str, exc: Exception) -> ExchangeError:
        if isinstance(exc, InvalidRequestError):
            code = exc.status_code
            kind = ErrorKind.UNKNOWN
            retry_after = None
            if code in _RATE_LIMITED_CODES:
                kind = ErrorKind.RATE_LIMITED
                retry_after = _reset_in_s(exc.resp_headers, self._wall_ms())
            elif code in _TEMPORARY_CODES:
                kind = ErrorKind.TEMPORARY
            elif code in _AUTH_CODES:
                kind = ErrorKind.AUTH
            message = self._scrub(f"{method}: {exc.message}")
            return ExchangeError(kind, Venue.BYBIT, message, raw_code=code, retry_after_s=retry_after)
        if isinstance(exc, FailedRequestError):
            status = exc.status_code
            kind = ErrorKind.AUTH if status in (401, 403) else ErrorKind.TEMPORARY
            if status == 429:
                kind = ErrorKind.RATE_LIMITED
            return ExchangeError(kind, Venue.BYBIT, self._scrub(f"{method}: {exc.message}"), raw_code=status)
        return ExchangeError(ErrorKind.TEMPORARY, Venue.BYBIT, self._scrub(f"{method}: {type(exc).__name__}: {exc}"))

    def _scrub(self, text: str) -> str:
        for secret in self._hidden:
            text = text.replace(secret, "***")
        return text


def _reset_in_s(headers: object, now_ms: int) -> float | None:
    """Seconds until Bybit's rate-limit window resets (``X-Bapi-Limit-Reset-Timestamp``), capped at 10 s."""
    if not isinstance(headers, Mapping):
        return None
    raw = headers.get("X-Bapi-Limit-Reset-Timestamp")
    try:
        reset_ms = int(str(raw))
    except ValueError:
        return None
    return min(max(reset_ms - now_ms, 0) / 1000, 10.0)


def _parse_rest_position(raw: Mapping[str, object]) -> PositionMsg:
    return parse_position(raw, topic="REST position")


def _list(result: Mapping[str, Any], what: str) -> list[Mapping[str, object]]:
    items = result.get("list")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ExchangeError(ErrorKind.UNKNOWN, Venue.BYBIT, f"{what}: 'result.list' should be a list of objects")
    return items


def _parsed(
    items: list[Mapping[str, object]], parse: Callable[[Mapping[str, object]], T], what: str, *, strict: bool
) -> list[T]:
    """Parse each item. Strict (positions: the sizes are the truth) fails the read, so it is retried and logged;
    otherwise (executions: they only label changes) an unreadable item is logged and skipped."""
    parsed: list[T] = []
    for item in items:
        try:
            parsed.append(parse(item))
        except MasterMessageError as exc:
            if strict:
                raise ExchangeError(ErrorKind.UNKNOWN, Venue.BYBIT, f"{what}: unreadable item: {exc}") from None
            log.error("%s: skipping an item Bybit sent that could not be read: %s", what, exc)
    return parsed
