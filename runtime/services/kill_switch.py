"""The kill switch: stop copying for a follower at once, and optionally close everything it holds.

**Pause/resume** is a flag in the state store. The executor reads it for every job and the risk gate for every
order, so a pause from the command line (another process) stops new copies from the very next job; closes and
reductions still go through (a paused follower can always get out).

**Close-all** pauses first (otherwise the next master change would reopen what was just closed), reads the
follower's positions live, and sends one reduce-only market order per leg (split at the venue's maximum market
quantity). Every order has a deterministic client id (phase CLOSE, scoped to the close-all round) claimed in the
store before it is sent, so running the same round twice places each order at most once; every outcome is written
to the order log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.client_ids import ClientOrderKey, OrderPart, OrderPhase, client_order_id
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition, LegKey
from runtime.domain.values import ZERO, Side, decimal_str
from runtime.ports.exchange import ExchangeClient, OrderReport, OrderRequest
from runtime.ports.store import ClaimRecord, ClaimStatus, OrderLogEntry, OrderOutcome, StateStore

CLOSE_ALL_SCOPE = "kill-switch"
_DONE = frozenset({ClaimStatus.PLACED, ClaimStatus.RECONCILED})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CloseOrderResult:
    """One reduce-only order of a close-all. ``outcome`` is None when the order was already done in this round."""

    symbol: str
    position_idx: int
    side: Side
    qty: Decimal
    client_order_id: str
    outcome: OrderOutcome | None
    venue_order_id: str = ""
    filled_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (OrderOutcome.PLACED, OrderOutcome.RECONCILED, None)


@dataclass(frozen=True)
class CloseAllReport:
    follower_id: str
    round_id: str
    paused: bool
    orders: tuple[CloseOrderResult, ...]
    remaining: tuple[FollowerPosition, ...]  # what the venue still shows after the orders

    @property
    def flat(self) -> bool:
        return not self.remaining

    @property
    def ok(self) -> bool:
        return self.flat and all(order.ok for order in self.orders)


def split_close(qty: Decimal, rules: InstrumentRules) -> list[Decimal]:
    """``qty`` in parts no larger than the venue's maximum market quantity; a last part below the minimum quantity
    borrows from the one before it, so every part is placeable."""
    cap = rules.max_market_qty
    parts: list[Decimal] = []
    left = qty
    while left > cap:
        parts.append(cap)
        left -= cap
    parts.append(left)
    if len(parts) > 1 and parts[-1] < rules.min_qty:
        shortfall = rules.min_qty - parts[-1]
        parts[-2] -= shortfall
        parts[-1] += shortfall
    return parts


class KillSwitch:
    def __init__(self, store: StateStore, *, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.store = store
        self.clock_ms = clock_ms

    def pause(self, follower_id: str) -> None:
        self.store.set_follower_paused(follower_id, True)

    def resume(self, follower_id: str) -> None:
        self.store.set_follower_paused(follower_id, False)

    def is_paused(self, follower_id: str) -> bool:
        return self.store.is_follower_paused(follower_id)

    async def close_all(
        self, follower_id: str, client: ExchangeClient, *, round_id: str | None = None, pause: bool = True
    ) -> CloseAllReport:
        """Pause (unless ``pause`` is False), then close every leg the follower holds with reduce-only market
        orders. ``round_id`` scopes the client ids: the same round never places an order twice."""
        round_id = round_id or str(self.clock_ms())
        if pause:
            self.pause(follower_id)
        positions = [position for position in await client.positions() if position.size != 0]
        results = await asyncio.gather(
            *(self._close_leg(follower_id, client, position, round_id) for position in positions)
        )
        remaining = tuple(position for position in await client.positions() if position.size != 0)
        orders = tuple(order for leg in results for order in leg)
        return CloseAllReport(follower_id, round_id, self.is_paused(follower_id), orders, remaining)

    async def _close_leg(
        self, follower_id: str, client: ExchangeClient, position: FollowerPosition, round_id: str
    ) -> list[CloseOrderResult]:
        side = Side.SELL if position.size > 0 else Side.BUY
        try:
            rules = await client.instrument_rules(position.symbol)
            parts = split_close(abs(position.size), rules)
        except ExchangeError:
            parts = [abs(position.size)]  # rules unreadable: try the whole leg in one order rather than not at all
        results: list[CloseOrderResult] = []
        for child, qty in enumerate(parts):
            key = ClientOrderKey(
                follower_id=follower_id,
                lifecycle_id=f"{CLOSE_ALL_SCOPE}:{round_id}",
                master_seq=0,
                leg=LegKey(position.symbol, position.position_idx),
                part=OrderPart(OrderPhase.CLOSE, child),
            )
            request = OrderRequest(
                symbol=position.symbol,
                side=side,
                qty=qty,
                client_order_id=client_order_id(key, client.venue),
                reduce_only=True,
                position_idx=position.position_idx,
            )
            results.append(await self._send_once(follower_id, client, request, round_id))
        return results

    async def _send_once(
        self, follower_id: str, client: ExchangeClient, request: OrderRequest, round_id: str
    ) -> CloseOrderResult:
        claim = ClaimRecord(
            claim_id=request.client_order_id,
            follower_id=follower_id,
            venue=client.venue,
            lifecycle_id=f"{CLOSE_ALL_SCOPE}:{round_id}",
            symbol=request.symbol,
            position_idx=request.position_idx,
            seq=0,
            side=request.side,
            qty=request.qty,
            reduce_only=True,
            created_ms=self.clock_ms(),
        )
        if not self.store.claim(claim):
            existing = self.store.get_claim(request.client_order_id)
            if existing is not None and existing.status in _DONE:
                return _result(request, None, message="already closed in this round")
            found = await client.get_order(request.symbol, request.client_order_id)
            if found is not None:
                return self._finish(follower_id, client, request, round_id, OrderOutcome.RECONCILED, report=found)
        try:
            report = await client.place_market_order(request)
        except ExchangeError as exc:
            outcome = OrderOutcome.REFUSED if exc.kind is ErrorKind.INVALID_ORDER else OrderOutcome.FAILED
            return self._finish(follower_id, client, request, round_id, outcome, error=exc)
        return self._finish(follower_id, client, request, round_id, OrderOutcome.PLACED, report=report)

    def _finish(
        self,
        follower_id: str,
        client: ExchangeClient,
        request: OrderRequest,
        round_id: str,
        outcome: OrderOutcome,
        *,
        report: OrderReport | None = None,
        error: ExchangeError | None = None,
    ) -> CloseOrderResult:
        message = "kill switch close-all" if error is None else f"kill switch close-all failed: {error}"
        venue_order_id = report.venue_order_id if report is not None else ""
        filled = report.filled_qty if report is not None else ZERO
        price = report.avg_price if report is not None else ZERO
        result = {"venue_order_id": venue_order_id, "filled_qty": decimal_str(filled)}
        if error is not None:
            result["error_kind"] = error.kind.value
        if error is None or error.kind is not ErrorKind.AMBIGUOUS:
            # An ambiguous answer stays claimed: the executor's start-up recovery looks such claims up by client id.
            self.store.finish_claim(request.client_order_id, ClaimStatus(outcome.value), result)
        self.store.append_order_log(
            OrderLogEntry(
                client_order_id=request.client_order_id,
                follower_id=follower_id,
                venue=client.venue,
                symbol=request.symbol,
                side=request.side,
                qty=request.qty,
                outcome=outcome,
                logged_ms=self.clock_ms(),
                price=price if report is not None else None,
                position_idx=request.position_idx,
                reduce_only=True,
                lifecycle_id=f"{CLOSE_ALL_SCOPE}:{round_id}",
                venue_order_id=venue_order_id,
                filled_qty=filled,
                error_kind=error.kind.value if error is not None else "",
                message=message,
            )
        )
        return _result(request, outcome, venue_order_id=venue_order_id, filled=filled, price=price, message=message)


def _result(
    request: OrderRequest,
    outcome: OrderOutcome | None,
    *,
    venue_order_id: str = "",
    filled: Decimal = ZERO,
    price: Decimal = ZERO,
    message: str = "",
) -> CloseOrderResult:
    return CloseOrderResult(
        symbol=request.symbol,
        position_idx=int(request.position_idx),
        side=request.side,
        qty=request.qty,
        client_order_id=request.client_order_id,
        outcome=outcome,
        venue_order_id=venue_order_id,
        filled_qty=filled,
        avg_price=price,
        message=message,
    )
