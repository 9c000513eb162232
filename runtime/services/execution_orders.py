"""Carrying out a job's order plans: shape each intent to the venue's rules, check it, send it exactly once, and
shrink a growth order the venue refused for margin (smart reduction, once), recording the shortfall.

Order of execution: every reduce-only close first, then the opens. When a close that takes a whole position does
not reach the venue, the opens of the job are not sent (a flip never opens the new side on top of the old one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from runtime.domain.errors import ErrorKind
from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import OrderIntent, OrderPhase, OrderPlan
from runtime.domain.positions import FollowerPosition, LegKey
from runtime.domain.refusals import Refusal, RefusalReason
from runtime.domain.risk import PlannedOrder
from runtime.domain.shaping import ShapedOrder, shape_order, smart_reduce
from runtime.domain.values import ZERO, PositionIdx, decimal_str
from runtime.services.execution_ids import OrderSlot
from runtime.services.follower_context import FollowerContext
from runtime.services.idempotent_orders import IdempotentSender, OrderTicket
from runtime.services.jobs import OrderRecord, OrderStatus
from runtime.services.leverage_sync import LeverageState

REASON_NO_PRICE = "no_reference_price"
REASON_FLIP_CLOSE_FAILED = "flip_close_not_done"


class OrderGate(Protocol):
    """The risk controls' seam (``runtime.services.risk_gate.RiskGate`` fits): a refusal stops the order."""

    def check(self, follower_id: str, order: PlannedOrder) -> Refusal | None: ...


@dataclass(frozen=True)
class LegPlan:
    """The plan for one follower leg."""

    follower_leg: PositionIdx
    plan: OrderPlan


@dataclass(frozen=True)
class JobOrders:
    """What one job's orders share: the follower, the venue's rules, where ids come from, prices and margin."""

    ctx: FollowerContext
    rules: InstrumentRules
    master_symbol: str
    venue_symbol: str
    scope: str
    master_seq: int
    master_leg: LegKey
    sync: bool
    mark_price: Decimal
    leverage: LeverageState
    equity: Decimal
    positions: tuple[FollowerPosition, ...]

    def slot(self, follower_leg: PositionIdx, phase: OrderPhase, child_index: int = 0) -> OrderSlot:
        return OrderSlot(
            follower_id=self.ctx.follower_id,
            scope=self.scope,
            master_seq=self.master_seq,
            master_leg=self.master_leg,
            follower_leg=follower_leg,
            phase=phase,
            child_index=child_index,
            sync=self.sync,
        )


def _refused(jo: JobOrders, leg: PositionIdx, intent: OrderIntent, reason: str, message: str) -> OrderRecord:
    """An order not sent: recorded under the id its first attempt would have had (no claim is taken)."""
    return OrderRecord(
        client_order_id=jo.slot(leg, intent.phase).client_id(0, jo.ctx.venue),
        side=intent.side,
        qty=intent.qty,
        reduce_only=intent.reduce_only,
        status=OrderStatus.REFUSED,
        venue_symbol=jo.venue_symbol,
        position_idx=leg,
        requested_qty=intent.qty,
        reason_code=reason,
        message=message,
    )


class OrderRunner:
    """Sends a job's plans. ``headroom`` scales what smart reduction thinks the follower can carry (fees, slippage
    and a mark that moved since the reference price was taken)."""

    def __init__(self, sender: IdempotentSender, gate: OrderGate | None, *, headroom: Decimal) -> None:
        self._sender = sender
        self._gate = gate
        self._headroom = headroom

    async def run(self, jo: JobOrders, plans: Sequence[LegPlan]) -> list[OrderRecord]:
        steps = [(lp.follower_leg, lp.plan, intent) for lp in plans for intent in lp.plan.intents]
        steps.sort(key=lambda step: 0 if step[2].phase is OrderPhase.CLOSE else 1)
        records: list[OrderRecord] = []
        close_missing = False
        for leg, plan, intent in steps:
            if intent.phase is OrderPhase.OPEN and close_missing:
                records.append(self._flip_blocked(jo, leg, intent))
                continue
            done = await self._intent(jo, leg, plan, intent)
            records.extend(done)
            if intent.closes_position and not any(record.reached_venue for record in done):
                close_missing = True
        return records

    @staticmethod
    def _flip_blocked(jo: JobOrders, leg: PositionIdx, intent: OrderIntent) -> OrderRecord:
        message = (
            f"the new side ({intent.side.value} {decimal_str(intent.qty)} {jo.venue_symbol}) was not opened because "
            "closing the old position did not go through (see the order before); the next master change or a sync "
            "tries again"
        )
        return replace(_refused(jo, leg, intent, REASON_FLIP_CLOSE_FAILED, message), status=OrderStatus.SKIPPED)

    async def _intent(self, jo: JobOrders, leg: PositionIdx, plan: OrderPlan, intent: OrderIntent) -> list[OrderRecord]:
        growth = not intent.reduce_only
        if growth and jo.leverage.blocked:
            blocked = jo.leverage.refusal(jo.venue_symbol, intent.side, intent.qty)
            return [_refused(jo, leg, intent, blocked.reason.value, blocked.message)]
        if self._gate is not None:
            refusal = self._gate.check(jo.ctx.follower_id, self._planned(jo, plan, intent))
            if refusal is not None:
                return [_refused(jo, leg, intent, refusal.reason.value, refusal.message)]
        if jo.mark_price <= 0:
            message = (
                f"no reference price is known for {jo.venue_symbol} (the master snapshot has no entry price and the "
                "follower holds nothing), so the venue's minimums cannot be checked; the next master change retries"
            )
            return [_refused(jo, leg, intent, REASON_NO_PRICE, message)]
        shaped = shape_order(intent, jo.rules, jo.mark_price)
        reduced = False
        if isinstance(shaped, Refusal) and shaped.reason is RefusalReason.ABOVE_MAX_QTY and growth:
            shaped = await self._smart_reduce(jo, leg, intent, intent.qty)
            reduced = True
        if isinstance(shaped, Refusal):
            return [_refused(jo, leg, intent, shaped.reason.value, shaped.message)]
        return await self._send(jo, leg, intent, shaped, first_child=0, reduced=reduced)

    @staticmethod
    def _planned(jo: JobOrders, plan: OrderPlan, intent: OrderIntent) -> PlannedOrder:
        # A flip's open goes out after its close: the leg is flat by then.
        same_side = plan.current == 0 or (plan.current > 0) == (intent.side.sign > 0)
        current = plan.current if intent.reduce_only or same_side else ZERO
        return PlannedOrder(
            master_symbol=jo.master_symbol,
            symbol=jo.venue_symbol,
            side=intent.side,
            qty=intent.qty,
            current_size=current,
            mark_price=jo.mark_price,
            reduce_only=intent.reduce_only,
            venue_leverage=jo.leverage.leverage or None,
        )

    async def _send(
        self,
        jo: JobOrders,
        leg: PositionIdx,
        intent: OrderIntent,
        shaped: ShapedOrder,
        *,
        first_child: int,
        reduced: bool,
    ) -> list[OrderRecord]:
        records: list[OrderRecord] = []
        children = shaped.child_qtys
        for index, qty in enumerate(children):
            last = index == len(children) - 1
            # The shortfall of a reduced order is carried by its last child, so the records add up.
            requested = qty + (shaped.shortfall if last else ZERO)
            slot = jo.slot(leg, intent.phase, first_child + index)
            ticket = OrderTicket(slot, jo.venue_symbol, intent.side, qty, intent.reduce_only, requested)
            record = await self._sender.send(jo.ctx, ticket, jo.master_symbol)
            records.append(record)
            margin_refused = record.status is OrderStatus.REFUSED and (
                record.error_kind == ErrorKind.INSUFFICIENT_MARGIN.value
            )
            if margin_refused and not intent.reduce_only and not reduced:
                remaining = sum(children[index:], ZERO)
                smaller = await self._smart_reduce(jo, leg, intent, remaining)
                if isinstance(smaller, Refusal):
                    records.append(_refused(jo, leg, intent, smaller.reason.value, smaller.message))
                else:
                    records.extend(
                        await self._send(jo, leg, intent, smaller, first_child=first_child + index, reduced=True)
                    )
                break
        return records

    async def _smart_reduce(
        self, jo: JobOrders, leg: PositionIdx, intent: OrderIntent, qty: Decimal
    ) -> ShapedOrder | Refusal:
        """The largest part of ``qty`` the follower's free margin carries (one retry; the rest is the shortfall)."""
        wanted = OrderIntent(intent.side, qty, intent.reduce_only, intent.phase, intent.closes_position)
        available = await self._available_margin(jo)
        leverage = await self._leverage(jo, leg)
        return smart_reduce(wanted, jo.rules, jo.mark_price, available, leverage, headroom=self._headroom)

    @staticmethod
    async def _available_margin(jo: JobOrders) -> Decimal:
        # Cross margin: every symbol's positions use the same equity, so re-read them all (a rare path).
        try:
            positions = await jo.ctx.client.positions()
        except Exception:  # the symbol's positions read for this job are the fallback estimate
            positions = list(jo.positions)
        return jo.equity - sum((position.initial_margin for position in positions), ZERO)

    @staticmethod
    async def _leverage(jo: JobOrders, leg: PositionIdx) -> Decimal:
        if jo.leverage.leverage > 0:
            return jo.leverage.leverage
        for position in jo.positions:
            if position.position_idx == leg and position.leverage > 0:
                return position.leverage
        try:
            venue_leverage = await jo.ctx.client.leverage(jo.venue_symbol)
        except Exception:  # unknown: assume 1x, the most conservative size
            venue_leverage = ZERO
        return venue_leverage if venue_leverage > 0 else Decimal(1)
