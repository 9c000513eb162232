"""Exactly-once order placement (design brief section 5): claim -> exchange call -> record.

For each order part the attempts' ids are tried in turn (``execution_ids``):

- the claim is won: send the order under that id;
- the claim is finished PLACED or RECONCILED: this master seq and part is done; nothing is sent (a residue is put
  right by the next master change or a SYNC/HEAL round, never by a second order for the same seq and part);
- finished REFUSED or FAILED (known not to be at the venue): go on to the next attempt's id (at most 3);
- still CLAIMED (a previous run stopped between the call and the record): look the id up at the venue; found ->
  finish RECONCILED; never seen -> send it under that same id.

After sending, a duplicate-id answer, a lost answer (ambiguous), a temporary failure or any error the adapter did
not classify is resolved by looking the id up: found -> RECONCILED, never seen -> FAILED (the next job may retry);
when even the look-up fails the claim stays CLAIMED for the next job or start-up recovery to resolve.

Every store call is one short synchronous statement made between awaits: no connection or transaction is ever held
across an exchange call.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import ZERO, Side, decimal_str
from runtime.ports.exchange import OrderReport, OrderRequest
from runtime.ports.store import ClaimRecord, ClaimStatus, StateStore
from runtime.services.execution_ids import MAX_ATTEMPTS, OrderSlot
from runtime.services.execution_log import wall_clock_ms
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import OrderRecord, OrderStatus

log = logging.getLogger(__name__)

# Errors after which the order may or may not be at the venue: the answer is looked up by client id.
_LOOK_UP_AFTER = frozenset({ErrorKind.DUPLICATE_CLIENT_ID, ErrorKind.AMBIGUOUS, ErrorKind.TEMPORARY, ErrorKind.UNKNOWN})
# The venue said no: nothing was placed, the reason is the venue's.
_REFUSED_BY_VENUE = frozenset({ErrorKind.INVALID_ORDER, ErrorKind.INSUFFICIENT_MARGIN})

REASON_VENUE_REFUSED = "venue_refused"
REASON_ALREADY_DONE = "already_done"
REASON_ATTEMPTS_EXHAUSTED = "attempts_exhausted"
REASON_UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class OrderTicket:
    """One order to place: where its id comes from, and what it is."""

    slot: OrderSlot
    venue_symbol: str
    side: Side
    qty: Decimal
    reduce_only: bool
    requested_qty: Decimal

    def request(self, client_order_id: str) -> OrderRequest:
        return OrderRequest(
            symbol=self.venue_symbol,
            side=self.side,
            qty=self.qty,
            client_order_id=client_order_id,
            reduce_only=self.reduce_only,
            position_idx=self.slot.follower_leg,
        )

    def record(
        self,
        client_order_id: str,
        status: OrderStatus,
        attempt: int,
        *,
        report: OrderReport | None = None,
        venue_order_id: str = "",
        reason_code: str = "",
        message: str = "",
        error_kind: str = "",
        sent_at: float = 0.0,
        acked_at: float = 0.0,
    ) -> OrderRecord:
        return OrderRecord(
            client_order_id=client_order_id,
            side=self.side,
            qty=self.qty,
            reduce_only=self.reduce_only,
            status=status,
            venue_symbol=self.venue_symbol,
            position_idx=self.slot.follower_leg,
            requested_qty=self.requested_qty,
            venue_order_id=report.venue_order_id if report is not None else venue_order_id,
            filled_qty=report.filled_qty if report is not None else ZERO,
            avg_price=report.avg_price if report is not None else ZERO,
            reason_code=reason_code,
            message=message,
            error_kind=error_kind,
            attempt=attempt,
            sent_at=sent_at,
            acked_at=acked_at,
        )


def _report_result(report: OrderReport, master_symbol: str) -> dict[str, str]:
    return {
        "venue_order_id": report.venue_order_id,
        "state": report.state.value,
        "filled_qty": decimal_str(report.filled_qty),
        "avg_price": decimal_str(report.avg_price),
        "master_symbol": master_symbol,
    }


def _describe(exc: BaseException) -> tuple[str, str]:
    """(error kind, message) of a failed call, whatever raised it."""
    if isinstance(exc, ExchangeError):
        return exc.kind.value, str(exc)
    return ErrorKind.UNKNOWN.value, f"{type(exc).__name__}: {exc}"


class IdempotentSender:
    """Places one order part exactly once across retries, duplicate jobs and restarts."""

    def __init__(
        self,
        store: StateStore,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._store = store
        self._monotonic = monotonic
        self._wall_ms = wall_ms

    def _claim_record(self, ctx: FollowerContext, ticket: OrderTicket, client_id: str) -> ClaimRecord:
        # The claim keeps the VENUE symbol and the follower leg: what a look-up at the venue needs after a restart.
        return ClaimRecord(
            claim_id=client_id,
            follower_id=ctx.follower_id,
            venue=ctx.venue,
            lifecycle_id=ticket.slot.scope,
            symbol=ticket.venue_symbol,
            position_idx=ticket.slot.follower_leg,
            seq=ticket.slot.master_seq,
            side=ticket.side,
            qty=ticket.qty,
            reduce_only=ticket.reduce_only,
            created_ms=self._wall_ms(),
        )

    async def send(self, ctx: FollowerContext, ticket: OrderTicket, master_symbol: str) -> OrderRecord:
        last_reason = ""
        for attempt in range(MAX_ATTEMPTS):
            client_id = ticket.slot.client_id(attempt, ctx.venue)
            if self._store.claim(self._claim_record(ctx, ticket, client_id)):
                return await self._place(ctx, ticket, client_id, attempt, master_symbol)
            existing = self._store.get_claim(client_id)
            if existing is None:  # a store that lost the row: never guess, try the next id
                continue
            if existing.status in (ClaimStatus.PLACED, ClaimStatus.RECONCILED):
                return ticket.record(
                    client_id,
                    OrderStatus.SKIPPED,
                    attempt,
                    venue_order_id=existing.result.get("venue_order_id", ""),
                    reason_code=REASON_ALREADY_DONE,
                    message=(
                        f"already {existing.status.value} for master seq {ticket.slot.master_seq} under client id "
                        f"{client_id}; a remaining difference is corrected by the next master change or a sync"
                    ),
                )
            if existing.status is ClaimStatus.CLAIMED:
                return await self._resume(ctx, ticket, client_id, attempt, master_symbol)
            last_reason = existing.result.get("message", existing.status.value)
        return ticket.record(
            ticket.slot.client_id(MAX_ATTEMPTS - 1, ctx.venue),
            OrderStatus.FAILED,
            MAX_ATTEMPTS - 1,
            reason_code=REASON_ATTEMPTS_EXHAUSTED,
            message=(
                f"gave up after {MAX_ATTEMPTS} attempts for master seq {ticket.slot.master_seq} (last: {last_reason}); "
                "the next master change or a sync round will try again under new ids"
            ),
        )

    async def _resume(
        self, ctx: FollowerContext, ticket: OrderTicket, client_id: str, attempt: int, master_symbol: str
    ) -> OrderRecord:
        """An unfinished claim: the order may be at the venue. Look it up before sending anything."""
        found = await self._look_up(ctx, ticket, client_id)
        if isinstance(found, OrderReport):
            return self._finish(
                ticket, client_id, attempt, OrderStatus.RECONCILED, master_symbol=master_symbol, report=found
            )
        if found is None:
            return await self._place(ctx, ticket, client_id, attempt, master_symbol)
        return self._unresolved(ticket, client_id, attempt, found)

    async def _place(
        self, ctx: FollowerContext, ticket: OrderTicket, client_id: str, attempt: int, master_symbol: str
    ) -> OrderRecord:
        sent_at = self._monotonic()
        try:
            report = await ctx.client.place_market_order(ticket.request(client_id))
        except Exception as exc:  # every failure is classified and recorded below
            return await self._after_error(ctx, ticket, client_id, attempt, master_symbol, exc, sent_at)
        return self._finish(
            ticket, client_id, attempt, OrderStatus.PLACED, master_symbol=master_symbol, report=report, sent_at=sent_at
        )

    async def _after_error(
        self,
        ctx: FollowerContext,
        ticket: OrderTicket,
        client_id: str,
        attempt: int,
        master_symbol: str,
        exc: Exception,
        sent_at: float,
    ) -> OrderRecord:
        kind, message = _describe(exc)
        finish = functools.partial(
            self._finish, ticket, client_id, attempt, master_symbol=master_symbol, sent_at=sent_at, error_kind=kind
        )
        if isinstance(exc, ExchangeError) and exc.kind in _REFUSED_BY_VENUE:
            margin = exc.kind is ErrorKind.INSUFFICIENT_MARGIN
            reason = ErrorKind.INSUFFICIENT_MARGIN.value if margin else REASON_VENUE_REFUSED
            return finish(OrderStatus.REFUSED, reason_code=reason, message=message)
        if isinstance(exc, ExchangeError) and exc.kind not in _LOOK_UP_AFTER:
            # Rate limit, auth and the like: the venue did not take the order.
            return finish(OrderStatus.FAILED, message=message)
        found = await self._look_up(ctx, ticket, client_id)
        if isinstance(found, OrderReport):
            return finish(
                OrderStatus.RECONCILED, report=found, message=f"found at the venue by client id after: {message}"
            )
        if found is None:
            detail = f"{message}; the venue has not seen client id {client_id}, so nothing was placed"
            return finish(OrderStatus.FAILED, message=detail)
        return self._unresolved(ticket, client_id, attempt, found, first_error=message, sent_at=sent_at)

    async def _look_up(
        self, ctx: FollowerContext, ticket: OrderTicket, client_id: str
    ) -> OrderReport | BaseException | None:
        try:
            return await ctx.client.get_order(ticket.venue_symbol, client_id)
        except Exception as exc:  # a failed look-up leaves the claim unresolved, it does not raise
            return exc

    def _unresolved(
        self,
        ticket: OrderTicket,
        client_id: str,
        attempt: int,
        lookup_error: BaseException,
        *,
        first_error: str = "",
        sent_at: float = 0.0,
    ) -> OrderRecord:
        kind, message = _describe(lookup_error)
        before = f"{first_error}; then " if first_error else ""
        log.warning("client id %s unresolved: %s%s", client_id, before, message)
        return ticket.record(
            client_id,
            OrderStatus.FAILED,
            attempt,
            error_kind=kind,
            reason_code=REASON_UNRESOLVED,
            sent_at=sent_at,
            message=(
                f"{before}the look-up by client id {client_id} failed ({message}); whether the order is at the venue "
                "is unknown, so its claim stays open and the next job or start-up recovery looks it up again"
            ),
        )

    def _finish(
        self,
        ticket: OrderTicket,
        client_id: str,
        attempt: int,
        status: OrderStatus,
        *,
        master_symbol: str,
        report: OrderReport | None = None,
        sent_at: float = 0.0,
        error_kind: str = "",
        reason_code: str = "",
        message: str = "",
    ) -> OrderRecord:
        acked_at = self._monotonic() if sent_at else 0.0
        result = _report_result(report, master_symbol) if report is not None else {"master_symbol": master_symbol}
        if error_kind:
            result["error_kind"] = error_kind
        if message:
            result["message"] = message
        self._store.finish_claim(client_id, ClaimStatus(status.value), result)
        return ticket.record(
            client_id,
            status,
            attempt,
            report=report,
            sent_at=sent_at,
            acked_at=acked_at,
            error_kind=error_kind,
            reason_code=reason_code,
            message=message,
        )
